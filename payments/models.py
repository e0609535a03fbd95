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
        JOB_REFUND = "job_refund", "Refund of a vectorization"
        PAYMENT_REVERSAL = "payment_reversal", "Payment refunded or reversed"
        REVERSAL_CANCELLED = "reversal_cancelled", "Payment reversal cancelled"
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
        PAYMENT_PENDING = "payment_pending", "Payment held by PayPal"
        PAID = "paid", "Paid"
        DECLINED = "declined", "Payment declined or failed"
        CANCELLED = "cancelled", "Cancelled"
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
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
    # The first payment's PayPal transaction; every payment is a Payment row of its own.
    txn_id = models.CharField(max_length=64, blank=True, db_index=True)
    # PayPal's word on a payment it holds or declined (its pending_reason or payment_status).
    status_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"order {self.pk} ({self.get_status_display()})"


class Payment(models.Model):
    """One completed PayPal payment toward an order, with what was refunded of it since.

    An order is normally paid once, but PayPal can deliver a second payment for it (a buyer who
    pays twice): each is credited and undone on its own. Refunds, chargebacks and cancelled
    chargebacks name the payment by its txn_id (their parent_txn_id); each is recorded in
    `reversals` under its own txn_id, so a replay or a late arrival changes nothing twice.
    """

    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
        REFUNDED = "refunded", "Refunded or reversed"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    txn_id = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    credits = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    # {reversal txn_id: {"status": PayPal's payment_status, "amount": signed str}}: refunds and
    # reversals negative, cancelled reversals positive.
    reversals = models.JSONField(default=dict, blank=True)
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal(0))
    credits_taken_back = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"payment {self.txn_id} ({self.get_status_display()})"
