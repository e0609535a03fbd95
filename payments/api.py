from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from idempotency.decorators import idempotent
from payments import paypal, selectors, services
from vectorcraft.api import ApiView, ErrorEnvelopeSerializer


class CreditPackSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    credits = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()


class CreditPackListApi(ApiView):
    @extend_schema(summary="Credit packs on sale", responses={200: CreditPackSerializer(many=True)})
    def get(self, request):
        packs = selectors.credit_packs_available()
        return Response(CreditPackSerializer(packs, many=True).data)


class CheckoutApi(ApiView):
    class CheckoutSerializer(serializers.Serializer):
        class OrderSerializer(serializers.Serializer):
            id = serializers.UUIDField()
            status = serializers.CharField()
            credits = serializers.IntegerField()
            amount = serializers.DecimalField(max_digits=10, decimal_places=2)
            currency = serializers.CharField()

        class PayPalSerializer(serializers.Serializer):
            action = serializers.CharField(help_text="POST the fields here (PayPal's checkout).")
            fields = serializers.DictField(child=serializers.CharField())

        order = OrderSerializer()
        paypal = PayPalSerializer()

    @extend_schema(
        summary="Start buying a credit pack",
        request=None,
        responses={
            201: CheckoutSerializer,
            404: OpenApiResponse(ErrorEnvelopeSerializer, description="No such pack on sale."),
        },
    )
    @idempotent
    def post(self, request, code):
        order = services.order_create(user=request.user, pack_code=code)
        form = paypal.checkout_form(order, request.build_absolute_uri)
        fields = {field.name: str(field.value()) for field in form}
        body = {"order": order, "paypal": {"action": form.get_login_url(), "fields": fields}}
        return Response(self.CheckoutSerializer(body).data, status=status.HTTP_201_CREATED)
