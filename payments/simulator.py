"""A stand-in for PayPal in development (PAYPAL_SIMULATOR=1; refused in production).

The buy button leads here instead of PayPal: the page offers Pay and Cancel. Pay sends a
realistic IPN to our own IPN endpoint over HTTP, exactly as PayPal would, and later answers that
IPN's postback with VERIFIED, because it remembers what it sent.
"""

import hashlib
import logging
import secrets
import string
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

logger = logging.getLogger(__name__)
CHECKOUT_FIELDS = (
    "business",
    "amount",
    "currency_code",
    "item_name",
    "invoice",
    "notify_url",
    "return",
    "cancel_return",
)


def _cache_key(query: str) -> str:
    return "paypal-simulator:" + hashlib.sha256(query.encode()).hexdigest()


def verify(query: str) -> bytes:
    """The postback answer: VERIFIED for an IPN this simulator sent, INVALID for anything else."""
    return b"VERIFIED" if cache.get(_cache_key(query)) else b"INVALID"


def _enabled():
    if not settings.PAYPAL_SIMULATOR:
        raise Http404("The PayPal simulator is off.")


@login_required
@require_POST
def checkout(request):
    _enabled()
    fields = {name: request.POST.get(name, "") for name in CHECKOUT_FIELDS}
    return render(request, "payments/simulator.html", {"fields": fields})


def _random(length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@login_required
@require_POST
def pay(request):
    _enabled()
    fields = {name: request.POST.get(name, "") for name in CHECKOUT_FIELDS}
    now = timezone.now().astimezone(timezone.get_fixed_timezone(-480))
    ipn = {
        "txn_type": "web_accept",
        "payment_status": "Completed",
        "payment_type": "instant",
        "business": fields["business"],
        "receiver_email": fields["business"],
        "receiver_id": _random(13),
        "item_name": fields["item_name"],
        "quantity": "1",
        "invoice": fields["invoice"],
        "mc_gross": fields["amount"],
        "mc_fee": "0.00",
        "mc_currency": fields["currency_code"],
        "txn_id": _random(17),
        "payer_email": request.user.email,
        "payer_id": _random(13),
        "payer_status": "verified",
        "payment_date": now.strftime("%H:%M:%S %b %d, %Y PST"),
        "notify_version": "3.9",
        "charset": "utf-8",
        "test_ipn": "1",
        "verify_sign": secrets.token_hex(20),
    }
    # Delivered to our own IPN URL, never to a URL taken from the form, so the simulator
    # cannot be pointed elsewhere.
    send_ipn(ipn, request.build_absolute_uri(reverse("payments:paypal-ipn")))
    return HttpResponseRedirect(reverse("payments:return", args=[fields["invoice"]]))


def send_ipn(fields: dict, url: str) -> requests.Response:
    """Deliver an IPN like PayPal delivers it: an HTTP POST of the URL-encoded fields, which
    this simulator then verifies at the postback. Also how the tests play refunds, chargebacks
    and declined payments."""
    body = urlencode(fields)
    cache.set(_cache_key(body), True, 60 * 60)
    # Connection: close, as PayPal's deliveries are one request each: a kept-alive connection
    # would hold a web thread (and its database connection) waiting for a next request.
    response = requests.post(
        url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
        timeout=15,
    )
    logger.info("PayPal simulator delivered an IPN: HTTP %s", response.status_code)
    return response


@login_required
@require_POST
def cancel(request):
    _enabled()
    return HttpResponseRedirect(reverse("payments:cancel", args=[request.POST.get("invoice", "")]))
