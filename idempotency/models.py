from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotentRequest(models.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's content.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    # The first answer's other headers that a replay must carry too (what was charged, say).
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # The table it had when it lived in vectorize/: moved without copying a row.
        db_table = "vectorize_idempotentrequest"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="unique_idempotency_key_per_owner"
            )
        ]

    def __str__(self):
        return f"{self.key} ({self.state})"
