"""The whole purchase in development: buy button -> simulated PayPal -> IPN over HTTP -> credits."""

import re

import pytest
import requests
from allauth.account.models import EmailAddress
from paypal.standard.ipn.models import PayPalIPN

from payments.models import Order
from payments.selectors import balance_for_user
from payments.tests.factories import pack

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _hidden_fields(html: str) -> dict:
    return dict(HIDDEN.findall(html))


@pytest.mark.django_db(transaction=True)
def test_it_plays_paypal_end_to_end(live_server, user, settings):
    settings.PAYPAL_SIMULATOR = True
    pack(code="starter", credits=50, price="5.00")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    before = balance_for_user(user=user)
    browser = requests.Session()
    base = live_server.url
    browser.get(f"{base}/accounts/login/", timeout=10)
    token = browser.cookies["csrftoken"]
    browser.post(
        f"{base}/accounts/login/",
        data={"login": user.email, "password": "correct horse 1", "csrfmiddlewaretoken": token},
        timeout=10,
    )

    token = browser.cookies["csrftoken"]  # logging in rotates it
    checkout = browser.post(
        f"{base}/credits/buy/starter/", data={"csrfmiddlewaretoken": token}, timeout=10
    )
    assert 'action="/credits/paypal-simulator/"' in checkout.text
    simulated = browser.post(
        f"{base}/credits/paypal-simulator/", data=_hidden_fields(checkout.text), timeout=10
    )
    assert "this page stands in for PayPal" in simulated.text
    paid = browser.post(
        f"{base}/credits/paypal-simulator/pay/",
        data=_hidden_fields(simulated.text) | {"csrfmiddlewaretoken": token},
        timeout=30,
    )

    order = Order.objects.get()
    assert paid.status_code == 200
    assert paid.url == f"{base}/credits/orders/{order.pk}/done/"
    assert "were added" in paid.text
    assert order.status == "paid"
    assert balance_for_user(user=user) == before + 50
    ipn = PayPalIPN.objects.get()
    assert (ipn.flag, ipn.payment_status, ipn.invoice) == (False, "Completed", str(order.pk))


@pytest.mark.django_db
def test_it_is_off_unless_enabled(client, user):
    client.force_login(user)

    assert client.post("/credits/paypal-simulator/pay/", {"invoice": "x"}).status_code == 404
