"""The credit ledger and purchases. Every balance change is one ledger entry with a unique key,
booked in the same transaction as the balance, so no event can be counted twice."""

import logging
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from paypal.standard.models import ST_PP_COMPLETED, ST_PP_REFUNDED, ST_PP_REVERSED

from payments.errors import PaymentsErrorCode
from payments.models import (
    JOB_CHARGE,
    JOB_REFUND,
    CreditAccount,
    CreditEntry,
    CreditPack,
    Order,
    job_entry_key,
)
from vectorcraft.db import update_returning
from vectorcraft.errors import ApplicationError

logger = logging.getLogger(__name__)
Kind = CreditEntry.Kind


def _book(*, user, delta, kind, key, reference, created_by, note, allow_overdraft) -> CreditEntry:
    accounts = CreditAccount.objects.filter(user=user)
    if delta < 0 and not allow_overdraft:
        # A guarded update: of two concurrent debits with credit for one, exactly one matches.
        accounts = accounts.filter(balance__gte=-delta)
    # The new balance comes back from the update itself, for the entry.
    updated = update_returning(accounts, balance=F("balance") + delta)
    if not updated:
        # Short of credit, or the user's first booking: their account is made on first use.
        CreditAccount.objects.get_or_create(user=user)
        updated = update_returning(accounts, balance=F("balance") + delta)
    if not updated:
        balance = CreditAccount.objects.get(user=user).balance
        raise ApplicationError(
            f"Not enough credits: this needs {-delta} and you have {balance}. "
            "Buy credits to go on.",
            code=PaymentsErrorCode.INSUFFICIENT_CREDITS,
            extra={"needed": -delta, "balance": balance},
        )
    entry = CreditEntry(
        user=user,
        delta=delta,
        kind=kind,
        idempotency_key=key,
        reference=reference[:200],
        balance_after=updated[0].balance,
        created_by=created_by,
        note=note[:500],
    )
    # Uniqueness is the database's job, under races; the users are the rows passed in.
    entry.full_clean(validate_unique=False, exclude=["user", "created_by"])
    entry.save(force_insert=True)
    return entry


def credits_book(
    *,
    user,
    delta: int,
    kind: str,
    key: str,
    reference: str = "",
    created_by=None,
    note: str = "",
    allow_overdraft: bool = True,
) -> tuple[CreditEntry, bool]:
    """Book `delta` credits once per `key`. Returns (entry, created); a key already booked
    returns the first entry and changes nothing."""
    existing = CreditEntry.objects.filter(idempotency_key=key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            entry = _book(
                user=user,
                delta=delta,
                kind=kind,
                key=key,
                reference=reference,
                created_by=created_by,
                note=note,
                allow_overdraft=allow_overdraft,
            )
    except IntegrityError:
        # A concurrent booking of the same key won; its balance change stands, ours rolled back.
        existing = CreditEntry.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    return entry, True


def credits_grant_signup(*, user) -> None:
    if settings.SIGNUP_CREDITS > 0:
        credits_book(
            user=user,
            delta=settings.SIGNUP_CREDITS,
            kind=Kind.SIGNUP,
            key=f"signup:{user.pk}",
            reference="Welcome to VectorCraft",
        )


def credits_top_up_monthly(*, user, month: str) -> CreditEntry | None:
    """Top the balance up to MONTHLY_FREE_CREDITS, once per user and month ("2026-11")."""
    account, _ = CreditAccount.objects.get_or_create(user=user)
    missing = settings.MONTHLY_FREE_CREDITS - account.balance
    if missing <= 0:
        return None
    entry, _ = credits_book(
        user=user,
        delta=missing,
        kind=Kind.MONTHLY,
        key=f"monthly:{user.pk}:{month}",
        reference=f"Free credits for {month}",
    )
    return entry


def credits_debit_for_job(*, job, cost: int) -> CreditEntry | None:
    """Charge a new job, in the transaction that inserts it; refused (402) when the balance is
    short, which rolls the job back too.

    A new job's key cannot have been booked yet, so there is no earlier entry to look for: the
    unique key still refuses a second charge, failing the transaction that tried it."""
    if cost <= 0:
        return None
    with transaction.atomic(savepoint=False):  # joins the job's transaction
        return _book(
            user=job.owner,
            delta=-cost,
            kind=Kind.JOB,
            key=job_entry_key(JOB_CHARGE, job.pk),
            reference=f"{job.original_filename} ({job.pk})",
            created_by=None,
            note="",
            allow_overdraft=False,
        )


def credits_refund_for_job(*, job) -> CreditEntry | None:
    """Give back what a failed job cost, exactly once, however often the failure is reported."""
    charge = CreditEntry.objects.filter(idempotency_key=job_entry_key(JOB_CHARGE, job.pk)).first()
    if charge is None:
        return None
    entry, created = credits_book(
        user=charge.user,
        delta=-charge.delta,
        kind=Kind.JOB_REFUND,
        key=job_entry_key(JOB_REFUND, job.pk),
        reference=f"{job.original_filename} ({job.pk}) failed",
    )
    if created:
        logger.info("refunded %s credits for failed job %s", -charge.delta, job.pk)
    return entry


def credits_adjust(*, user, delta: int, staff, reason: str, key: str) -> CreditEntry:
    """A staff grant (positive) or removal (negative), with who did it and why."""
    if delta == 0:
        raise ApplicationError(
            "The change must not be zero.", code=PaymentsErrorCode.INVALID_AMOUNT
        )
    if not reason.strip():
        raise ApplicationError("Give a reason.", code=PaymentsErrorCode.INVALID_AMOUNT)
    entry, _ = credits_book(
        user=user,
        delta=delta,
        kind=Kind.STAFF,
        key=key,
        reference=reason.strip(),
        created_by=staff,
        note=reason.strip(),
    )
    return entry


def order_create(*, user, pack_code: str) -> Order:
    """A pending order for a pack, priced as the pack is now."""
    pack = CreditPack.objects.filter(code=pack_code, active=True).first()
    if pack is None:
        raise ApplicationError(
            "That credit pack is not available.", code=PaymentsErrorCode.PACK_NOT_AVAILABLE
        )
    order = Order(
        user=user, pack=pack, credits=pack.credits, amount=pack.price, currency=pack.currency
    )
    order.full_clean()
    order.save(force_insert=True)
    return order


def order_cancel(*, order: Order) -> Order:
    Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
        status=Order.Status.CANCELLED
    )
    order.refresh_from_db()
    return order


def _alert_staff(subject: str, details: list[str], ipn) -> None:
    """Log and mail admins about a payment notification that was not credited.

    Only identifying fields are written, never the whole IPN body."""
    summary = (
        f"IPN {ipn.pk}: txn_id={ipn.txn_id!r} invoice={ipn.invoice!r} "
        f"status={ipn.payment_status!r} flag={ipn.flag_info!r}"
    )
    logger.error("%s: %s (%s)", subject, "; ".join(details), summary)
    mail_admins(f"[payments] {subject}", "\n".join([summary, "", *details]), fail_silently=True)


def _order_for_invoice(invoice: str) -> Order | None:
    try:
        return Order.objects.select_related("user").filter(pk=uuid.UUID(str(invoice))).first()
    except ValueError:
        return None


def ipn_process(*, ipn) -> None:
    """Act on a verified PayPal IPN (django-paypal's valid_ipn_received)."""
    status = ipn.payment_status
    if status == ST_PP_COMPLETED:
        _ipn_completed(ipn)
    elif status in (ST_PP_REFUNDED, ST_PP_REVERSED):
        _ipn_reversed(ipn)
    else:
        logger.info("PayPal IPN %s with status %s: nothing to do", ipn.pk, status)


def _ipn_completed(ipn) -> None:
    order = _order_for_invoice(ipn.invoice)
    problems = []
    if order is None:
        problems.append(f"no order with invoice {ipn.invoice!r}")
    if ipn.receiver_email.strip().lower() != settings.PAYPAL_RECEIVER_EMAIL.lower():
        problems.append(f"paid to {ipn.receiver_email!r}, not to us")
    if order is not None:
        if ipn.mc_gross != order.amount:
            problems.append(f"amount {ipn.mc_gross} instead of {order.amount}")
        if ipn.mc_currency != order.currency:
            problems.append(f"currency {ipn.mc_currency!r} instead of {order.currency!r}")
    if problems:
        _alert_staff("Payment not credited", problems, ipn)
        return
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        entry, created = credits_book(
            user=order.user,
            delta=order.credits,
            kind=Kind.PURCHASE,
            # django-paypal's own duplicate check is not race-safe (its issue #243); this key
            # makes a second credit for the same PayPal transaction impossible.
            key=f"paypal:{ipn.txn_id}",
            reference=f"{order.pack.name}, order {order.pk}",
        )
        if not created:
            return
        order.status = Order.Status.PAID
        order.txn_id = ipn.txn_id
        order.paid_at = timezone.now()
        order.save(update_fields=["status", "txn_id", "paid_at"])
        transaction.on_commit(lambda: order_send_receipt(order=order, entry=entry))


def _ipn_reversed(ipn) -> None:
    order = Order.objects.filter(txn_id=ipn.parent_txn_id).exclude(txn_id="").first()
    if order is None:
        _alert_staff("Refund for an unknown payment", [f"parent {ipn.parent_txn_id!r}"], ipn)
        return
    with transaction.atomic():
        # A refund can leave the balance below zero (the credits may be spent already); new
        # jobs are then refused until it is positive again.
        _, created = credits_book(
            user=order.user,
            delta=-order.credits,
            kind=Kind.PAYMENT_REVERSAL,
            key=f"paypal-reversal:{ipn.txn_id}",
            reference=f"{ipn.payment_status} payment for order {order.pk}",
        )
        if created:
            Order.objects.filter(pk=order.pk).update(status=Order.Status.REVERSED)
    _alert_staff("Payment refunded or reversed", [f"order {order.pk}"], ipn)


def ipn_flagged(*, ipn) -> None:
    """django-paypal's invalid_ipn_received: nothing is credited, staff are told."""
    _alert_staff("Invalid PayPal IPN", [ipn.flag_info or "flagged"], ipn)


def order_send_receipt(*, order: Order, entry: CreditEntry) -> None:
    context = {"order": order, "entry": entry, "balance": entry.balance_after}
    message = EmailMultiAlternatives(
        subject=f"Your VectorCraft receipt: {order.credits} credits",
        body=render_to_string("payments/email/receipt.txt", context),
        to=[order.user.email],
    )
    message.attach_alternative(
        render_to_string("payments/email/receipt.html", context), "text/html"
    )
    message.send(fail_silently=True)
