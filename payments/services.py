"""The credit ledger and purchases. Every balance change is one ledger entry with a unique key,
booked in the same transaction as the balance, so no event can be counted twice."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from payments.errors import PaymentsErrorCode
from payments.models import CreditAccount, CreditEntry
from vectorcraft.errors import ApplicationError

logger = logging.getLogger(__name__)
Kind = CreditEntry.Kind


def _book(*, user, delta, kind, key, reference, created_by, note, allow_overdraft) -> CreditEntry:
    CreditAccount.objects.get_or_create(user=user)
    accounts = CreditAccount.objects.filter(user=user)
    if delta < 0 and not allow_overdraft:
        # A guarded update: of two concurrent debits with credit for one, exactly one matches.
        accounts = accounts.filter(balance__gte=-delta)
    if not accounts.update(balance=F("balance") + delta):
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
        balance_after=CreditAccount.objects.get(user=user).balance,
        created_by=created_by,
        note=note[:500],
    )
    entry.full_clean(validate_unique=False)  # uniqueness is the database's job, under races
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
    """Charge a job when it is accepted; refused (402) when the balance is short."""
    if cost <= 0:
        return None
    entry, _ = credits_book(
        user=job.owner,
        delta=-cost,
        kind=Kind.JOB,
        key=f"job:{job.pk}",
        reference=f"{job.original_filename} ({job.pk})",
        allow_overdraft=False,
    )
    return entry


def credits_refund_for_job(*, job) -> CreditEntry | None:
    """Give back what a failed job cost, exactly once, however often the failure is reported."""
    charge = CreditEntry.objects.filter(idempotency_key=f"job:{job.pk}").first()
    if charge is None:
        return None
    entry, created = credits_book(
        user=charge.user,
        delta=-charge.delta,
        kind=Kind.JOB_REFUND,
        key=f"job-refund:{job.pk}",
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
