import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property


class CreditAccount(models.Model):
    """A user's balance, changed only together with a ledger entry, in one transaction."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user}: {self.balance} credits"


# The idempotency keys of a job's charge and of its refund: "<kind>:<job id>".
JOB_CHARGE = "job"
JOB_REFUND = "job-refund"


def job_entry_key(kind: str, job_id) -> str:
    return f"{kind}:{job_id}"


class CreditEntry(models.Model):
    """One change of a balance. Append-only: corrections are new entries."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Welcome credits"
        MONTHLY = "monthly", "Monthly free credits"
        PURCHASE = "purchase", "Purchase"
        JOB = "job", "Vectorization"
        JOB_REFUND = "job_refund", "Refund of a failed vectorization"
        PAYMENT_REVERSAL = "payment_reversal", "Payment refunded or reversed"
        STAFF = "staff", "Adjustment by staff"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_entries"
    )
    delta = models.IntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reference = models.CharField(max_length=200, blank=True, help_text="What it was for.")
    # The same event can never be booked twice: a retried task, a replayed IPN or a double click
    # all carry the same key, and the database refuses the second row.
    idempotency_key = models.CharField(max_length=200, unique=True)
    balance_after = models.IntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_entries_made",
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"

    def __str__(self):
        return f"{self.delta:+d} {self.get_kind_display()} for {self.user}"

    @cached_property
    def job_id(self) -> uuid.UUID | None:
        """The vectorization a job's charge or refund was for (its key names it), else None."""
        prefix, _, rest = self.idempotency_key.partition(":")
        if prefix not in (JOB_CHARGE, JOB_REFUND):
            return None
        try:
            return uuid.UUID(rest)
        except ValueError:
            return None

    @property
    def description(self) -> str:
        """The reference as shown to its user: for a job, without the job's id."""
        if self.job_id is None:
            return self.reference
        return self.reference.replace(f" ({self.job_id})", "")


class CreditPack(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    credits = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price"]

    def __str__(self):
        return f"{self.name} ({self.credits} credits, {self.price} {self.currency})"


class Order(models.Model):
    """A purchase of a pack. Its id is sent to PayPal as the invoice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        REVERSED = "reversed", "Refunded or reversed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    pack = models.ForeignKey(CreditPack, on_delete=models.PROTECT, related_name="orders")
    # Copied from the pack when ordered: a later price change does not alter an open order.
    credits = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    txn_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"order {self.pk} ({self.get_status_display()})"
