"""PayPal Payments Standard around django-paypal: the checkout form and the IPN postback."""

import logging

import requests
from django.conf import settings
from django.urls import reverse
from paypal.standard.forms import PayPalPaymentsForm

from payments.models import Order

logger = logging.getLogger(__name__)


class PostbackUnavailable(Exception):
    """PayPal's IPN postback did not answer in time; the IPN is refused so PayPal sends it again."""


def postback(ipn) -> bytes:
    """Replaces django-paypal's PayPalIPN._postback (installed in PaymentsConfig.ready).

    django-paypal posts back with no timeout, so a hanging PayPal would hang our IPN view with
    it. This one gives up after PAYPAL_POSTBACK_TIMEOUT seconds; in simulator mode the local
    simulator answers instead of PayPal.
    """
    if settings.PAYPAL_SIMULATOR:
        from payments import simulator

        return simulator.verify(ipn.query)
    try:
        response = requests.post(
            ipn.get_endpoint(),
            data=b"cmd=_notify-validate&" + ipn.query.encode("ascii"),
            timeout=settings.PAYPAL_POSTBACK_TIMEOUT,
        )
        response.raise_for_status()
    except requests.RequestException as error:
        logger.warning("PayPal IPN postback failed: %s", type(error).__name__)
        raise PostbackUnavailable from error
    return response.content


class CheckoutForm(PayPalPaymentsForm):
    """django-paypal's form, sent to the local simulator when PAYPAL_SIMULATOR is on."""

    def get_login_url(self):
        if settings.PAYPAL_SIMULATOR:
            return reverse("payments:simulator-checkout")
        return super().get_login_url()


def checkout_fields(order: Order, build_absolute_uri) -> dict:
    """The PayPal Payments Standard fields for an order (the order id is the invoice)."""
    return {
        "business": settings.PAYPAL_RECEIVER_EMAIL,
        "amount": str(order.amount),
        "currency_code": order.currency,
        "item_name": f"VectorCraft {order.pack.name}: {order.credits} credits",
        "invoice": str(order.pk),
        "notify_url": build_absolute_uri(reverse("payments:paypal-ipn")),
        "return": build_absolute_uri(reverse("payments:return", args=[order.pk])),
        "cancel_return": build_absolute_uri(reverse("payments:cancel", args=[order.pk])),
        "no_shipping": "1",
        "charset": "utf-8",
    }


def checkout_form(order: Order, build_absolute_uri) -> CheckoutForm:
    return CheckoutForm(initial=checkout_fields(order, build_absolute_uri))
