import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone


def _random_name(folder: str, extension: str) -> str:
    # Random names: nothing a user chose ends up in a path, and names cannot be guessed.
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


def input_upload_to(instance, filename):
    return _random_name("uploads", "png")


def output_upload_to(instance, filename):
    # One fixed name per job (its id is random already): a retried run overwrites its own
    # output instead of leaving a second file behind.
    return f"outputs/{instance.created_at:%Y/%m}/{instance.pk.hex}.svg"


class Batch(models.Model):
    """Several uploads sent in one API request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self):
        return f"batch {self.pk}"


class Vectorization(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        PRODUCTION = "production", "Production"
        PREVIEW = "preview", "Preview (scaled down, free)"

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    # A random public id: job URLs cannot be enumerated.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="vectorizations",
        # The (owner, -created_at) index below serves every lookup by owner: a second index
        # on owner alone would only cost each of a job's three writes another entry.
        db_index=False,
    )
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="vectorizations"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PRODUCTION)
    original_filename = models.CharField(max_length=255)
    source_format = models.CharField(max_length=16, help_text="The uploaded file's format.")
    input_file = models.FileField(upload_to=input_upload_to, max_length=255)
    input_bytes = models.PositiveBigIntegerField(help_text="Size of the uploaded file.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    has_alpha = models.BooleanField(default=False)

    preset = models.CharField(max_length=32, default="auto", help_text="The preset asked for.")
    options = models.JSONField(
        default=dict, blank=True, help_text="Parameter overrides asked for, on top of the preset."
    )
    used_preset = models.CharField(
        max_length=32, blank=True, help_text="The preset actually used (what auto chose)."
    )
    parameters = models.JSONField(
        default=dict, blank=True, help_text="The complete vtracer settings the job ran with."
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    engine_ms = models.PositiveIntegerField(null=True, blank=True)

    output_file = models.FileField(upload_to=output_upload_to, max_length=255, blank=True)
    output_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the job was last handed to the queue."
    )
    files_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention removed the files (the row stays)."
    )

    # Not stored: the owner's balance just after this job's charge, set by the service that
    # charged it, so that the answer to the upload can say it without reading it again.
    balance_after: int | None = None

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self):
        return f"{self.original_filename} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def has_result(self) -> bool:
        """Succeeded, and its SVG not yet deleted by retention: there is something to download."""
        return self.status == self.Status.SUCCEEDED and not self.files_deleted_at

    @property
    def output_filename(self) -> str:
        return f"{PurePath(self.original_filename).stem or 'vectorized'}.svg"

    @property
    def queue_ms(self) -> int | None:
        if not self.started_at:
            return None
        return round((self.started_at - self.created_at).total_seconds() * 1000)
