import socket
import time

import pytest
from django.test import Client
from paypal.standard.ipn.models import PayPalIPN

from dashboard.services import alerts_check
from payments.models import CreditEntry, Order
from payments.selectors import balance_for_user
from payments.tests.factories import ipn_body, order_for
from vectorize.tests.helpers import run_together

pytestmark = pytest.mark.django_db
IPN_URL = "/credits/paypal/ipn/"


@pytest.fixture
def paypal_answers(monkeypatch):
    """Fakes PayPal's side of the postback only: everything else is the real code path."""

    def answer(text: bytes):
        monkeypatch.setattr(PayPalIPN, "_postback", lambda ipn: text)

    answer(b"VERIFIED")
    return answer


@pytest.fixture
def admins(settings):
    settings.ADMINS = [("Staff", "staff@vectorcraft.local")]


def _send(client, body):
    return client.post(IPN_URL, body, content_type="application/x-www-form-urlencoded")


def _purchases(user):
    return CreditEntry.objects.filter(user=user, kind="purchase")


def test_it_credits_a_verified_completed_payment_and_mails_a_receipt(
    client, user, paypal_answers, mailoutbox, django_capture_on_commit_callbacks
):
    order = order_for(user)
    before = balance_for_user(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, ipn_body(order))

    assert response.status_code == 200
    assert balance_for_user(user=user) == before + 50
    order.refresh_from_db()
    assert (order.status, order.txn_id) == ("paid", "51403485VH153354B")
    [receipt] = mailoutbox
    assert receipt.to == [user.email]
    assert "50 credits" in receipt.body
    assert receipt.alternatives[0][1] == "text/html"


def test_it_credits_the_same_ipn_sent_three_times_once(client, user, paypal_answers):
    order = order_for(user)
    before = balance_for_user(user=user)

    for _ in range(3):
        assert _send(client, ipn_body(order)).status_code == 200

    assert _purchases(user).count() == 1
    assert balance_for_user(user=user) == before + 50
    assert PayPalIPN.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_credits_concurrent_duplicates_once(user, paypal_answers):
    order = order_for(user)
    before = balance_for_user(user=user)

    codes = run_together(lambda: _send(Client(), ipn_body(order)).status_code, 3)

    assert codes == [200, 200, 200]
    assert _purchases(user).count() == 1
    assert balance_for_user(user=user) == before + 50


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (
            {"receiver_email": "someone@else.example", "business": "someone@else.example"},
            "not to us",
        ),
        ({"mc_gross": "0.50"}, "amount 0.50 instead of 5.00"),
        ({"mc_currency": "EUR"}, "currency 'EUR' instead of 'USD'"),
    ],
    ids=["receiver", "amount", "currency"],
)
def test_it_credits_nothing_on_a_mismatch_and_alerts_staff(
    client, user, paypal_answers, admins, mailoutbox, overrides, problem
):
    order = order_for(user)
    before = balance_for_user(user=user)

    _send(client, ipn_body(order, **overrides))

    assert balance_for_user(user=user) == before
    assert Order.objects.get(pk=order.pk).status == "pending"
    [alert] = mailoutbox
    assert alert.to == ["staff@vectorcraft.local"]
    assert problem in alert.body


def test_it_credits_nothing_for_a_pending_payment(client, user, paypal_answers):
    order = order_for(user)
    before = balance_for_user(user=user)

    _send(client, ipn_body(order, payment_status="Pending", pending_reason="echeck"))

    assert balance_for_user(user=user) == before


def test_it_credits_nothing_when_paypal_says_invalid(
    client, user, paypal_answers, admins, mailoutbox
):
    paypal_answers(b"INVALID")
    order = order_for(user)
    before = balance_for_user(user=user)

    _send(client, ipn_body(order))

    assert balance_for_user(user=user) == before
    assert PayPalIPN.objects.get().flag is True
    assert mailoutbox == []  # staff hear of it from the alerts, once per incident
    alerts_check()
    assert [m for m in mailoutbox if "1 invalid PayPal IPN in 15 minutes" in m.subject]


def test_it_takes_the_credits_back_on_a_refund(client, user, paypal_answers):
    order = order_for(user)
    _send(client, ipn_body(order))
    paid = balance_for_user(user=user)

    refund = ipn_body(
        order,
        payment_status="Refunded",
        txn_id="7YH53119ML8957234",
        parent_txn_id="51403485VH153354B",
        mc_gross="-5.00",
        reason_code="refund",
    )
    _send(client, refund)
    _send(client, refund)

    reversal = CreditEntry.objects.get(user=user, kind="payment_reversal")
    assert reversal.delta == -50
    assert balance_for_user(user=user) == paid - 50
    assert Order.objects.get(pk=order.pk).status == "reversed"


def test_it_answers_a_json_body_with_4xx(client):
    response = client.post(IPN_URL, {"txn_id": "x"}, content_type="application/json")

    assert response.status_code == 415
    assert PayPalIPN.objects.count() == 0


def test_it_answers_quickly_when_the_postback_hangs(client, user, settings, monkeypatch):
    # A server that accepts the connection and never answers: PayPal hanging.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    monkeypatch.setattr(PayPalIPN, "get_endpoint", lambda ipn: f"http://127.0.0.1:{port}/")
    settings.PAYPAL_POSTBACK_TIMEOUT = 0.5
    order = order_for(user)
    before = balance_for_user(user=user)

    started = time.monotonic()
    try:
        response = _send(client, ipn_body(order))
    finally:
        silent.close()

    assert time.monotonic() - started < 3
    assert response.status_code == 503  # PayPal will send it again
    assert PayPalIPN.objects.count() == 0
    assert balance_for_user(user=user) == before
