from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager


class UserManager(BaseUserManager):
    """Users are found by e-mail address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        from allauth.account.models import EmailAddress

        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        user = self._create_user(email, password, **extra_fields)
        # Whoever runs createsuperuser controls the server: their address needs no mailed proof
        # before the (verification-mandatory) login lets them in.
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        return user


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email


class ApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        # Every request with a key needs its user too: one query, not two.
        return super().get_usable_keys().select_related("user")


class ApiKey(AbstractAPIKey):
    """A user's API key. Only a public prefix and a SHA-512 hash of the key are stored
    (djangorestframework-api-key); the key itself is shown once, when it is made."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
