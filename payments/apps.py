from django.apps import AppConfig


class PayPalIpnConfig(AppConfig):
    """django-paypal's IPN app, which has no AppConfig of its own. Its migrations make 32-bit ids;
    under the project's DEFAULT_AUTO_FIELD (BigAutoField) Django would ask for a migration of
    the library's table at every `migrate`."""

    name = "paypal.standard.ipn"
    label = "ipn"
    verbose_name = "PayPal IPN"
    default_auto_field = "django.db.models.AutoField"
    default = False  # `payments` in INSTALLED_APPS still means PaymentsConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self):
        from paypal.standard.ipn.models import PayPalIPN
        from paypal.standard.ipn.signals import invalid_ipn_received, valid_ipn_received

        from payments import paypal

        # django-paypal's postback has no timeout; ours has (see payments.paypal.postback).
        PayPalIPN._postback = paypal.postback
        # django-paypal reports IPNs only through these signals: each hands over to a service.
        valid_ipn_received.connect(_on_valid_ipn, dispatch_uid="payments-valid-ipn")
        invalid_ipn_received.connect(_on_invalid_ipn, dispatch_uid="payments-invalid-ipn")


def _on_valid_ipn(sender, **kwargs):
    from payments.services import ipn_process

    ipn_process(ipn=sender)


def _on_invalid_ipn(sender, **kwargs):
    from payments.services import ipn_flagged

    ipn_flagged(ipn=sender)
