import pytest

from payments.models import CreditPack, Order
from payments.tests.factories import pack

pytestmark = pytest.mark.django_db


def test_it_lists_the_packs_on_sale_cheapest_first(api):
    CreditPack.objects.all().delete()
    pack(code="big", credits=500, price="30.00")
    pack(code="small", credits=50, price="5.00")
    hidden = pack(code="hidden", credits=5, price="1.00")
    hidden.active = False
    hidden.save(update_fields=["active"])

    body = api.get("/api/v1/credit-packs/").json()

    assert [item["code"] for item in body] == ["small", "big"]
    assert body[0] == {
        "code": "small",
        "name": "Test pack",
        "credits": 50,
        "price": "5.00",
        "currency": "USD",
    }


def test_it_starts_a_checkout_with_the_paypal_fields(api, user):
    pack(code="standard", credits=200, price="15.00")

    response = api.post("/api/v1/credit-packs/standard/checkout/")

    assert response.status_code == 201
    body = response.json()
    order = Order.objects.get()
    assert (order.user, order.status, order.credits) == (user, "pending", 200)
    assert body["order"]["id"] == str(order.pk)
    fields = body["paypal"]["fields"]
    assert fields["invoice"] == str(order.pk)
    assert (fields["amount"], fields["currency_code"], fields["cmd"]) == ("15.00", "USD", "_xclick")
    assert fields["notify_url"] == "http://testserver/credits/paypal/ipn/"
    assert body["paypal"]["action"].startswith("https://www.sandbox.paypal.com/")


def test_it_answers_404_for_a_pack_not_on_sale(api):
    response = api.post("/api/v1/credit-packs/gold/checkout/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "pack_not_available"
    assert Order.objects.count() == 0
