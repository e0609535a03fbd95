import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from paypal.standard.ipn.views import ipn as django_paypal_ipn

from payments import paypal, selectors, services
from payments.models import Order
from vectorcraft.errors import ApplicationError
from vectorize.selectors import vectorization_ids_kept_for_user

logger = logging.getLogger(__name__)


@login_required
@require_GET
def overview(request):
    entries = selectors.credit_entries_for_user(user=request.user)
    page = Paginator(entries, 20).get_page(request.GET.get("page"))
    # A job's charge or refund links to the job, unless the user has deleted it since.
    jobs = vectorization_ids_kept_for_user(
        user=request.user, vectorization_ids=[entry.job_id for entry in page if entry.job_id]
    )
    return render(
        request,
        "payments/overview.html",
        {
            "balance": selectors.balance_for_user(user=request.user),
            "packs": selectors.credit_packs_available(),
            "page": page,
            "linked_jobs": jobs,
        },
    )


@login_required
@require_POST
def buy(request, code):
    try:
        order = services.order_create(user=request.user, pack_code=code)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("payments:overview")
    form = paypal.checkout_form(order, request.build_absolute_uri)
    return render(request, "payments/checkout.html", {"order": order, "form": form})


@login_required
@require_GET
def paypal_return(request, order_id):
    order = get_object_or_404(Order, pk=order_id, user=request.user)
    return render(request, "payments/return.html", {"order": order})


@login_required
def paypal_cancel(request, order_id):
    order = get_object_or_404(Order, pk=order_id, user=request.user)
    services.order_cancel(order=order)
    messages.info(request, "Payment cancelled; nothing was charged.")
    return redirect("payments:overview")


@csrf_exempt
@require_POST
def paypal_ipn(request):
    """PayPal's IPN, handled by django-paypal's view; refused before it for what it cannot
    handle (it would fail with a 500), and answered 503 when the postback to PayPal fails, so
    PayPal sends the IPN again later."""
    if request.content_type != "application/x-www-form-urlencoded":
        return HttpResponse(
            "IPN must be application/x-www-form-urlencoded.", status=415, content_type="text/plain"
        )
    if request.GET:
        # PayPal posts to the notify_url we gave it, which has no query string. A `secret`
        # parameter would take django-paypal into its untested shared-secret path (a 500).
        return HttpResponse("IPN takes no query string.", status=400, content_type="text/plain")
    if not request.body.isascii():
        # PayPal URL-encodes every byte; raw non-ASCII cannot be an IPN (django-paypal would
        # fail decoding it).
        return HttpResponse("IPN body must be URL-encoded.", status=400, content_type="text/plain")
    try:
        return django_paypal_ipn(request)
    except paypal.PostbackUnavailable:
        return HttpResponse("Could not verify with PayPal; retry later.", status=503)
