from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    """Idempotency-Key for the API's POSTs: the first answer stored and replayed."""

    name = "idempotency"
    default_auto_field = "django.db.models.BigAutoField"
