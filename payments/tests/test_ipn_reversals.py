"""Refunds, chargebacks, second payments and declined payments, each delivered over HTTP by the
PayPal simulator and verified at its postback, as PayPal would: per payment, in proportion, once."""

from urllib.parse import parse_qsl

import pytest
import requests
from django.core import mail
from paypal.standard.ipn.models import PayPalIPN

from dashboard.services import alerts_check
from payments import simulator
from payments.models import CreditEntry, Order, Payment
from payments.selectors import balance_for_user
from payments.tests.factories import ipn_body, order_for

pytestmark = pytest.mark.django_db(transaction=True)
FIRST_TXN = "51403485VH153354B"


@pytest.fixture
def paypal(live_server, settings):
    """Sends IPNs to the live server over HTTP; the simulator verifies them at the postback."""
    settings.PAYPAL_SIMULATOR = True
    settings.ADMINS = [("Staff", "staff@vectorcraft.local")]
    url = f"{live_server.url}/credits/paypal/ipn/"

    def send(order, **fields):
        response = simulator.send_ipn(dict(parse_qsl(ipn_body(order, **fields))), url)
        assert response.status_code == 200, response.text
        return response

    return send


def _refund(paypal, order, txn_id, amount, status="Refunded", parent=FIRST_TXN):
    return paypal(
        order, payment_status=status, txn_id=txn_id, parent_txn_id=parent, mc_gross=amount
    )


def _alerts():
    return [message.subject for message in mail.outbox if "[payments]" in message.subject]


def test_a_refund_then_a_chargeback_of_one_payment_take_back_what_it_bought_once(paypal, user):
    order = order_for(user, credits=50, price="5.00")
    paypal(order)
    paid = balance_for_user(user=user)

    _refund(paypal, order, "REFUND0000000001", "-5.00")
    _refund(paypal, order, "CHARGEBACK000001", "-5.00", status="Reversed")

    assert balance_for_user(user=user) == paid - 50
    payment = Payment.objects.get(txn_id=FIRST_TXN)
    assert (payment.status, payment.credits_taken_back) == ("refunded", 50)
    assert Order.objects.get(pk=order.pk).status == "reversed"


def test_partial_refunds_take_back_credits_in_proportion(paypal, user):
    order = order_for(user, credits=100, price="5.00")
    paypal(order)
    paid = balance_for_user(user=user)

    _refund(paypal, order, "REFUND0000000001", "-1.00")
    _refund(paypal, order, "REFUND0000000002", "-1.00")

    assert balance_for_user(user=user) == paid - 40
    deltas = sorted(
        CreditEntry.objects.filter(kind="payment_reversal").values_list("delta", flat=True)
    )
    assert deltas == [-20, -20]
    assert Order.objects.get(pk=order.pk).status == "partly_refunded"


def test_a_cancelled_chargeback_gives_the_credits_back(paypal, user):
    order = order_for(user, credits=50, price="5.00")
    paypal(order)
    paid = balance_for_user(user=user)

    _refund(paypal, order, "CHARGEBACK000001", "-5.00", status="Reversed")
    assert balance_for_user(user=user) == paid - 50
    _refund(paypal, order, "CANCELREV0000001", "5.00", status="Canceled_Reversal")

    assert balance_for_user(user=user) == paid
    assert CreditEntry.objects.get(kind="reversal_cancelled").delta == 50
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_reversals_arriving_out_of_order_and_replayed_end_the_same(paypal, user):
    order = order_for(user, credits=50, price="5.00")
    paypal(order)
    paid = balance_for_user(user=user)

    # The cancellation overtakes the chargeback it cancels, and PayPal sends each twice.
    for _ in range(2):
        _refund(paypal, order, "CANCELREV0000001", "5.00", status="Canceled_Reversal")
    for _ in range(2):
        _refund(paypal, order, "CHARGEBACK000001", "-5.00", status="Reversed")

    assert balance_for_user(user=user) == paid
    payment = Payment.objects.get(txn_id=FIRST_TXN)
    assert (payment.credits_taken_back, len(payment.reversals)) == (0, 2)


def test_a_second_payment_for_one_order_is_recorded_on_its_own_and_staff_are_told(paypal, user):
    order = order_for(user, credits=50, price="5.00")
    before = balance_for_user(user=user)

    paypal(order)
    paypal(order, txn_id="SECONDPAYMENT0001")

    assert balance_for_user(user=user) == before + 100  # two payments received, two credited
    order.refresh_from_db()
    assert order.txn_id == FIRST_TXN  # not overwritten by the second
    assert list(order.payments.values_list("txn_id", flat=True)) == [
        FIRST_TXN,
        "SECONDPAYMENT0001",
    ]
    assert any("Second payment for one order" in subject for subject in _alerts())
    # A refund of the first still finds it, and takes back only what it bought.
    _refund(paypal, order, "REFUND0000000001", "-5.00")
    assert balance_for_user(user=user) == before + 50
    assert Payment.objects.get(txn_id="SECONDPAYMENT0001").status == "completed"


def test_a_pending_payment_shows_on_the_order_page_and_credits_nothing(paypal, user, client):
    order = order_for(user, credits=50, price="5.00")
    before = balance_for_user(user=user)

    paypal(order, payment_status="Pending", pending_reason="echeck")

    assert balance_for_user(user=user) == before
    client.force_login(user)
    page = client.get(f"/credits/orders/{order.pk}/done/").content.decode()
    assert "PayPal is holding your payment (echeck)" in page
    assert _alerts() == []  # on hold is normal: nobody needs waking
    # Once PayPal releases it, the completed payment credits it.
    paypal(order)
    assert balance_for_user(user=user) == before + 50


@pytest.mark.parametrize(("status", "words"), [("Denied", "declined"), ("Failed", "could not")])
def test_a_declined_payment_shows_on_the_order_page_and_alerts_staff(
    paypal, user, client, status, words
):
    order = order_for(user, credits=50, price="5.00")
    before = balance_for_user(user=user)

    paypal(order, payment_status=status)

    assert balance_for_user(user=user) == before
    client.force_login(user)
    page = client.get(f"/credits/orders/{order.pk}/done/").content.decode()
    assert f"PayPal {words}" in page and "no money was taken" in page
    assert [subject for subject in _alerts() if f"Payment {status.lower()}" in subject]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/credits/paypal/ipn/", b"payment_status=Completed&item_name=Caf\xe9&txn_id=1"),
        ("/credits/paypal/ipn/?secret=x", b"payment_status=Completed&txn_id=1"),
        ("/credits/paypal/ipn/?secret", b"payment_status=Completed&txn_id=1"),
    ],
    ids=["raw non-ASCII", "secret", "bare secret"],
)
def test_a_malformed_ipn_gets_a_4xx_and_stores_nothing(live_server, path, body):
    response = requests.post(
        live_server.url + path,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
        timeout=10,
    )

    assert 400 <= response.status_code < 500, response.text
    assert PayPalIPN.objects.count() == 0


def test_invalid_ipns_mail_staff_once_per_incident(live_server, user, settings):
    settings.ADMINS = [("Staff", "staff@vectorcraft.local")]
    settings.PAYPAL_SIMULATOR = True  # the simulator knows none of these: INVALID at postback
    order = order_for(user)
    for index in range(5):
        forged = ipn_body(order, txn_id=f"FORGED{index:011d}")
        response = requests.post(
            f"{live_server.url}/credits/paypal/ipn/",
            data=forged,
            # One request a connection, as PayPal sends them: a kept-alive one would keep the
            # live server's thread, and its database connection, open past the test.
            headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200  # PayPal is answered; nothing is credited

    assert PayPalIPN.objects.filter(flag=True).count() == 5
    assert mail.outbox == []  # not a mail per request
    alerts_check()
    alerts_check()
    [alert] = [message for message in mail.outbox if "invalid PayPal IPN" in message.subject]
    assert "5 invalid PayPal IPNs in 15 minutes" in alert.subject


def test_a_refund_of_a_payment_we_never_had_changes_nothing_and_alerts_staff(paypal, user):
    order = order_for(user, credits=50, price="5.00")
    before = balance_for_user(user=user)

    _refund(paypal, order, "REFUND0000000009", "-5.00", parent="NOSUCHPAYMENT0001")

    assert balance_for_user(user=user) == before
    assert not CreditEntry.objects.filter(kind="payment_reversal").exists()
    assert any("Refunded for an unknown payment" in subject for subject in _alerts())


def test_a_cancelled_checkout_shows_on_the_order_page_and_a_late_pending_does_not_undo_it(
    paypal, user, client
):
    order = order_for(user, credits=50, price="5.00")
    client.force_login(user)

    client.get(f"/credits/orders/{order.pk}/cancelled/")

    order.refresh_from_db()
    assert order.status == "cancelled"
    page = client.get(f"/credits/orders/{order.pk}/done/").content.decode()
    assert "You cancelled this order; nothing was charged." in page
    # A completed payment still arrives (the buyer paid in another tab): it is credited.
    before = balance_for_user(user=user)
    paypal(order)
    assert balance_for_user(user=user) == before + 50
    paypal(order, payment_status="Pending", pending_reason="echeck", txn_id="LATEPENDING000001")
    order.refresh_from_db()
    assert order.status == "paid"
