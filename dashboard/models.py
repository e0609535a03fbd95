from django.db import models
from django.utils import timezone


class Incident(models.Model):
    """Something staff were alerted about: open until the check passes again."""

    key = models.CharField(max_length=64, help_text="Which check: not_ready, failure_rate, ...")
    summary = models.CharField(max_length=300)
    details = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # At most one open incident per check: the alert goes out once, not every minute.
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(closed_at__isnull=True), name="one_open_incident"
            )
        ]

    def __str__(self):
        return f"{self.key}: {self.summary}"
