import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection

from benchmarks.localstack import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_it_says_the_process_is_alive(client):
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.cluster
def test_it_is_ready_with_database_cache_broker_and_a_cluster(client, qcluster):
    from vectorize.tests.helpers import wait_for

    response = wait_for(
        lambda: (r := client.get("/health/ready")).status_code == 200 and r,
        timeout=30,
        message="the cluster never showed up as ready",
    )

    assert response.json() == {
        "status": "ok",
        "checks": {
            name: {"status": "ok"}
            for name in ("database", "cache", "broker", "cluster", "media_storage")
        },
    }


@pytest.mark.django_db
def test_it_is_not_ready_without_a_cluster(client):
    body = client.get("/health/ready").json()

    assert body["status"] == "unavailable"
    assert body["checks"]["cluster"]["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "ok"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_its_checks_leave_no_database_session_open(client, monkeypatch):
    """The checks run in threads of their own; a connection one opened and left would stay open
    until that thread's objects happened to be collected, one more per probe."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", "default")  # the broker on the database
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh figures in a transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]

    before = sessions()
    for _ in range(5):
        assert client.get("/health/ready").json()["checks"]["broker"] == {"status": "ok"}

    assert sessions() == before


@pytest.mark.redis
@pytest.mark.django_db
def test_it_reports_a_stopped_redis_as_not_ready(client, settings, tmp_path):
    server = shutil.which("redis-server")
    assert server, "redis-server is needed for this test"
    port = free_port()
    redis = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            }
        }
        assert client.get("/health/ready").json()["checks"]["cache"] == {"status": "ok"}
    finally:
        redis.terminate()
        redis.wait(10)

    response = client.get("/health/ready")
    caches["default"].close()

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["cache"]["status"] == "unavailable"
    assert str(port) not in json.dumps(body)  # no connection details in the output


def test_it_reports_a_stopped_database_as_not_ready():
    # A separate process whose database is a PostgreSQL port nothing listens on.
    code = (
        "import json; from django.test import Client; r = Client().get('/health/ready'); "
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://vectorcraft:secret@127.0.0.1:{free_port()}/vectorcraft",
        "REDIS_URL": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["checks"]["database"]["status"] == "unavailable"
    assert "secret" not in result.stdout
