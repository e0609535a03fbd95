from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import selectors
from vectorcraft.api import ApiView


class AccountApi(ApiView):
    """The signed-in account: e-mail, credit balance and this month's usage."""

    class AccountSerializer(serializers.Serializer):
        class UsageSerializer(serializers.Serializer):
            since = serializers.DateTimeField()
            jobs = serializers.IntegerField()
            succeeded = serializers.IntegerField()
            failed = serializers.IntegerField()
            output_bytes = serializers.IntegerField()

        email = serializers.EmailField()
        credits = serializers.IntegerField()
        usage = UsageSerializer()

    @extend_schema(summary="Your account", responses={200: AccountSerializer})
    def get(self, request):
        summary = selectors.account_summary_for_user(user=request.user)
        return Response(self.AccountSerializer(summary).data)
