import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

from vectorcraft.config import validate_config

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "SECRET_KEY": "k" * 30 + "0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": ["vectorcraft.example"],
    "DEBUG": False,
    "DATABASE_URL": "postgres://vc:secret@db/vectorcraft",
    "REDIS_URL": "redis://cache:6379/0",
    "Q_BROKER": "orm",
    "PAYPAL_RECEIVER_EMAIL": "sales@vectorcraft.example",
}


def _manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in GOOD and k != "DJANGO_ENV"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_accepts_complete_production_values():
    assert validate_config(GOOD) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set."),
        ({"SECRET_KEY": "django-insecure-abc"}, "SECRET_KEY is the development key"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is too weak"),
        ({"ALLOWED_HOSTS": ["*"]}, "ALLOWED_HOSTS must name the hosts"),
        ({"DEBUG": True}, "DEBUG must be off"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must point at PostgreSQL"),
        ({"REDIS_URL": ""}, "REDIS_URL is not set"),
        ({"Q_BROKER": "sqs"}, "Q_BROKER must be"),
        ({"PAYPAL_SIMULATOR": True}, "PAYPAL_SIMULATOR must be off in production"),
        ({"PAYPAL_RECEIVER_EMAIL": ""}, "PAYPAL_RECEIVER_EMAIL is not set"),
    ],
)
def test_it_names_each_unsafe_production_value(change, problem):
    problems = validate_config({**GOOD, **change})

    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_it_refuses_to_start_in_production_without_secrets():
    result = _manage("check", DJANGO_ENV="production")

    assert result.returncode != 0
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "PAYPAL_RECEIVER_EMAIL",
    ):
        assert f"- {name} is not set" in result.stderr


def test_it_starts_in_production_with_complete_values():
    env = {**GOOD, "ALLOWED_HOSTS": "vectorcraft.example", "DEBUG": "false"}

    result = _manage("check", DJANGO_ENV="production", **env)

    assert result.returncode == 0, result.stderr


def test_it_refuses_the_paypal_simulator_in_production():
    env = {**GOOD, "ALLOWED_HOSTS": "vectorcraft.example", "DEBUG": "false"}

    result = _manage("check", DJANGO_ENV="production", PAYPAL_SIMULATOR="1", **env)

    assert result.returncode != 0
    assert "PAYPAL_SIMULATOR must be off in production: it fakes payments." in result.stderr


def test_it_refuses_the_redis_broker_without_redis():
    result = _manage("check", Q_BROKER="redis", REDIS_URL="")

    assert result.returncode != 0
    assert "Q_BROKER must be 'orm', or 'redis' together with REDIS_URL." in result.stderr


@pytest.mark.redis
def test_it_caches_in_redis_when_configured(settings):
    from django_redis import get_redis_connection

    cache.set("settings-test", "stored", 30)

    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache"
    assert get_redis_connection("default").exists(cache.make_and_validate_key("settings-test"))
    cache.delete("settings-test")


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_uses_postgresql_when_configured():
    from django.db import connection

    assert connection.vendor == "postgresql"
