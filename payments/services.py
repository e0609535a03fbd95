"""The credit ledger and purchases. Every balance change is one ledger entry with a unique key,
booked in the same transaction as the balance, so no event can be counted twice."""

import logging
import uuid
from decimal import ROUND_HALF_UP, Decimal

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
    Payment,
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


def credit_account_lock(*, user) -> CreditAccount:
    """The user's credit account, locked until the caller's transaction ends (made on first
    use): what an account may start is then decided one request at a time."""
    account = CreditAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        CreditAccount.objects.get_or_create(user=user)
        account = CreditAccount.objects.select_for_update().get(user=user)
    return account


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


def credits_refund_for_job(*, job, reason: str = "failed") -> CreditEntry | None:
    """Give back what a job cost (it failed, or was deleted before it ran), exactly once,
    however often that is reported."""
    charge = CreditEntry.objects.filter(idempotency_key=job_entry_key(JOB_CHARGE, job.pk)).first()
    if charge is None:
        return None
    entry, created = credits_book(
        user=charge.user,
        delta=-charge.delta,
        kind=Kind.JOB_REFUND,
        key=job_entry_key(JOB_REFUND, job.pk),
        reference=f"{job.original_filename} ({job.pk}) {reason}",
    )
    if created:
        logger.info("refunded %s credits for job %s (%s)", -charge.delta, job.pk, reason)
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


# PayPal's payment_status values (django-paypal names some of them; these are PayPal's words).
ST_CANCELED_REVERSAL = "Canceled_Reversal"
ST_PENDING = "Pending"
ST_DENIED = "Denied"
ST_FAILED = "Failed"
_REVERSING = (ST_PP_REFUNDED, ST_PP_REVERSED, ST_CANCELED_REVERSAL)


def ipn_process(*, ipn) -> None:
    """Act on a verified PayPal IPN (django-paypal's valid_ipn_received)."""
    status = ipn.payment_status
    if status == ST_PP_COMPLETED:
        _ipn_completed(ipn)
    elif status in _REVERSING:
        _ipn_reversal(ipn)
    elif status in (ST_PENDING, ST_DENIED, ST_FAILED):
        _ipn_not_paid(ipn)
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
        # The order's lock orders this payment after any other of the same order.
        order = Order.objects.select_for_update().get(pk=order.pk)
        payment, created = Payment.objects.get_or_create(
            txn_id=ipn.txn_id,
            defaults={
                "order": order,
                "amount": ipn.mc_gross,
                "currency": ipn.mc_currency,
                "credits": order.credits,
            },
        )
        if not created:
            return  # this payment is recorded (and credited) already
        entry, booked = credits_book(
            user=order.user,
            delta=order.credits,
            kind=Kind.PURCHASE,
            # django-paypal's own duplicate check is not race-safe (its issue #243); this key
            # makes a second credit for the same PayPal transaction impossible.
            key=f"paypal:{ipn.txn_id}",
            reference=f"{order.pack.name}, order {order.pk}",
        )
        earlier = order.payments.exclude(pk=payment.pk).count()
        order.status = Order.Status.PAID
        order.status_reason = ""
        order.txn_id = order.txn_id or ipn.txn_id  # the first payment's; each has its own row
        order.paid_at = order.paid_at or timezone.now()
        order.save(update_fields=["status", "status_reason", "txn_id", "paid_at"])
        if booked:
            transaction.on_commit(lambda: order_send_receipt(order=order, entry=entry))
    if earlier:
        # The buyer paid twice: both payments are credited (money in, credits out), and staff
        # decide whether to refund one (its refund then takes its credits back).
        _alert_staff(
            "Second payment for one order",
            [f"order {order.pk} now has {earlier + 1} payments; consider refunding one"],
            ipn,
        )


def _credits_for(payment: Payment, refunded: Decimal) -> int:
    """The credits a payment's refunds take back: in proportion to the amount refunded,
    rounded to the nearest credit, and never more than the payment bought."""
    share = min(max(refunded, Decimal(0)), payment.amount) / payment.amount
    return int((payment.credits * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _ipn_reversal(ipn) -> None:
    """A refund or chargeback (Refunded, Reversed) of one payment, or a chargeback cancelled in
    the seller's favour (Canceled_Reversal). Each is recorded once, under its own txn_id; what
    the payment's credits should be is worked out from all of them, so any order of arrival
    ends the same."""
    status = ipn.payment_status
    amount = abs(ipn.mc_gross or Decimal(0))
    signed = amount if status == ST_CANCELED_REVERSAL else -amount
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("order__user")
            .filter(txn_id=ipn.parent_txn_id)
            .exclude(txn_id="")
            .first()
        )
        if payment is None:
            transaction.on_commit(
                lambda: _alert_staff(
                    f"{status} for an unknown payment", [f"parent {ipn.parent_txn_id!r}"], ipn
                )
            )
            return
        if ipn.txn_id in payment.reversals:
            return  # recorded already: a replay
        payment.reversals[ipn.txn_id] = {"status": status, "amount": str(signed)}
        refunded = -sum(Decimal(event["amount"]) for event in payment.reversals.values())
        payment.refunded_amount = min(max(refunded, Decimal(0)), payment.amount)
        target = _credits_for(payment, refunded)
        change = payment.credits_taken_back - target
        order = payment.order
        if change:
            # A refund can leave the balance below zero (the credits may be spent already); new
            # jobs are then refused until it is positive again.
            credits_book(
                user=order.user,
                delta=change,
                kind=Kind.REVERSAL_CANCELLED if change > 0 else Kind.PAYMENT_REVERSAL,
                key=f"paypal-reversal:{ipn.txn_id}",
                reference=f"{status.replace('_', ' ')} of {amount} {payment.currency} "
                f"for order {order.pk}",
            )
        payment.credits_taken_back = target
        if payment.refunded_amount == 0:
            payment.status = Payment.Status.COMPLETED
        elif payment.refunded_amount < payment.amount:
            payment.status = Payment.Status.PARTLY_REFUNDED
        else:
            payment.status = Payment.Status.REFUNDED
        payment.save(update_fields=["reversals", "refunded_amount", "credits_taken_back", "status"])
        _order_status_from_payments(order)
    _alert_staff(
        f"Payment {status.replace('_', ' ').lower()}",
        [f"order {order.pk}: {signed:+} {payment.currency}, credits {change:+d}"],
        ipn,
    )


def _order_status_from_payments(order: Order) -> None:
    statuses = set(order.payments.values_list("status", flat=True))
    if statuses == {Payment.Status.REFUNDED}:
        order.status = Order.Status.REVERSED
    elif statuses - {Payment.Status.COMPLETED}:
        order.status = Order.Status.PARTLY_REFUNDED
    else:
        order.status = Order.Status.PAID
    order.save(update_fields=["status"])


def _ipn_not_paid(ipn) -> None:
    """Pending (PayPal holds the money, e.g. an eCheck), Denied or Failed: nothing is credited;
    the buyer's order page says so, and staff hear of the declined ones."""
    order = _order_for_invoice(ipn.invoice)
    if order is None:
        _alert_staff(f"{ipn.payment_status} payment for an unknown order", [], ipn)
        return
    pending = ipn.payment_status == ST_PENDING
    status = Order.Status.PAYMENT_PENDING if pending else Order.Status.DECLINED
    reason = (ipn.pending_reason if pending else ipn.payment_status) or ""
    # Only an order not paid yet changes: a late Pending never hides a completed payment.
    Order.objects.filter(
        pk=order.pk,
        status__in=[Order.Status.PENDING, Order.Status.PAYMENT_PENDING, Order.Status.CANCELLED],
    ).update(status=status, status_reason=reason[:64])
    if pending:
        logger.info("PayPal holds the payment for order %s (%s)", order.pk, reason)
    else:
        _alert_staff(f"Payment {ipn.payment_status.lower()}", [f"order {order.pk}"], ipn)


def ipn_flagged(*, ipn) -> None:
    """django-paypal's invalid_ipn_received: nothing is credited and the IPN is logged. Staff
    are mailed once per incident, by the alerts schedule, not once per request (a flood of
    forged IPNs would otherwise be a flood of mail)."""
    logger.warning(
        "invalid PayPal IPN %s: txn_id=%r invoice=%r status=%r flag=%r",
        ipn.pk,
        ipn.txn_id,
        ipn.invoice,
        ipn.payment_status,
        ipn.flag_info,
    )


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
