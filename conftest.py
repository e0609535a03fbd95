"""Shared fixtures: the bench corpus, users, isolated media storage and a real Q cluster."""

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from benchmarks.localstack import collect_static, free_port, production_env
from vectorcraft.config import s3_media_storage
from vectorize.tests.helpers import wait_for_port

ROOT = Path(__file__).resolve().parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR", ROOT.parent / "shared" / "bench" / "public"))


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres / redis run only where those services are configured.

    They are deselected (not skipped) elsewhere: CI runs the suite a second time with both set.
    """
    uses_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    uses_redis = bool(settings.REDIS_URL)
    keep, drop = [], []
    for item in items:
        if (item.get_closest_marker("postgres") and not uses_postgres) or (
            item.get_closest_marker("redis") and not uses_redis
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    if not (BENCH_DIR / "manifest.json").is_file():
        pytest.fail(f"The benchmark corpus is missing at {BENCH_DIR} (set BENCH_DIR).")
    return BENCH_DIR


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test stores files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.1 s per password by design; tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _with_credits(user, credits=100):
    from payments.services import credits_book

    credits_book(user=user, delta=credits, kind="staff", key=f"test:{user.pk}", reference="tests")
    return user


@pytest.fixture
def user(django_user_model):
    user = django_user_model.objects.create_user(
        email="ada@example.com", password="correct horse 1"
    )
    return _with_credits(user)


@pytest.fixture
def api(user):
    """A DRF test client that authenticates as `user` with a new API key."""
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    _, secret = api_key_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def other_user(django_user_model):
    user = django_user_model.objects.create_user(
        email="bob@example.com", password="correct horse 2"
    )
    return _with_credits(user)


def _database_url_for_tests() -> str:
    """A DATABASE_URL that points another process at the test database this session made."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{db['NAME']}"))


@pytest.fixture
def qcluster(request, transactional_db, media_root, tmp_path):
    """Start a real `manage.py qcluster` process on the test database; stop it afterwards.

    `@pytest.mark.qcluster_env(NAME="value")` adds to its environment."""
    marker = request.node.get_closest_marker("qcluster_env")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for_tests(),
        "MEDIA_ROOT": str(media_root),
        "Q_WORKERS": "1",
        "Q_POLL": "0.1",
        "PYTHONUNBUFFERED": "1",
        **(marker.kwargs if marker else {}),
    }
    log_path = tmp_path / "qcluster.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = log_path
        try:
            yield process
        finally:
            process.terminate()  # the cluster stops its own workers on SIGTERM
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def admin_user(django_user_model):
    """pytest-django's admin_user would use "admin" as the e-mail address; ours must be valid."""
    return django_user_model.objects.create_superuser(
        email="admin@example.com", password="admin password 1"
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached values live in the cache: each test starts from zero."""
    cache.clear()
    yield
    # A test may have pointed the cache at a server it stopped.
    with contextlib.suppress(Exception):
        cache.clear()


class _Inbox:
    """Messages an aiosmtpd server received, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=default_policy).parsebytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on localhost; Django sends mail to it over SMTP."""
    port = free_port()
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "vectorcraft-tests",
    "AWS_SECRET_ACCESS_KEY": "vectorcraft-tests-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's standalone S3 server on localhost: a real S3 API over HTTP, for the whole session."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, process=process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A new bucket on the S3 server; returns (boto3 client, bucket name, environment)."""
    import boto3

    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    bucket = f"vectorcraft-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    environment = {
        **S3_CREDENTIALS,
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_server,
        "S3_ADDRESSING_STYLE": "path",
    }
    return client, bucket, environment


def bucket_keys(client, bucket: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3_media(settings, s3_bucket):
    """Point this process's media storage at the bucket (what MEDIA_STORAGE=s3 configures)."""
    client, bucket, environment = s3_bucket
    settings.MEDIA_STORAGE = "s3"
    settings.S3_BUCKET = bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_media_storage(
            bucket=bucket, endpoint_url=environment["S3_ENDPOINT_URL"], addressing_style="path"
        ),
    }
    return client, bucket


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """`collectstatic` once: production serves hashed, compressed files through whitenoise."""
    root = tmp_path_factory.mktemp("static")
    env = production_env(
        database_url="postgres://unused@127.0.0.1/unused",
        redis_url="redis://127.0.0.1:6379/0",
        static_root=root,
    )
    collect_static(env)
    return root
