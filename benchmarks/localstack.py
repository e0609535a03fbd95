"""Production-like VectorCraft nodes as local processes: gunicorn web nodes and qcluster worker
nodes, each in its own working directory, with DJANGO_ENV=production. Nodes share only what their
environment points them at (PostgreSQL, Redis, S3), as separate machines would.

Used by the multi-node tests and by the load and pipeline benchmarks.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
NODE_SECRET_KEY = secrets.token_urlsafe(64)


def production_env(
    *, database_url: str, redis_url: str, static_root, media_env: dict | None = None
) -> dict:
    """The documented production variables (docs/DEPLOY.md), pointed at the given services.

    `media_env` holds MEDIA_STORAGE=s3 and its S3 variables, or a MEDIA_ROOT on one machine.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MEDIA_ROOT", "Q_POLL", "CACHE_DIR", "DEBUG")
    }
    env.update(
        {
            "DJANGO_ENV": "production",
            "SECRET_KEY": NODE_SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "Q_BROKER": "redis",
            "PAYPAL_RECEIVER_EMAIL": "payments@vectorcraft.example",
            # Local nodes speak plain HTTP; in production nginx terminates TLS in front of them.
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_ROOT": str(static_root),
            "GUNICORN_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
            **(media_env or {}),
        }
    )
    return env


def database_url(database: dict) -> str:
    """A DATABASE_URL for other processes, from a PostgreSQL entry of settings.DATABASES."""
    user = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{user}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"


def collect_static(env: dict) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


class Stack:
    """Starts and stops the node processes; each gets a folder of its own for its cwd and log."""

    def __init__(self, base: Path, env: dict):
        self.base = base
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}
        self.urls: dict[str, str] = {}

    def _start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        workdir = self.base / name
        workdir.mkdir(parents=True, exist_ok=True)
        with (workdir / "node.log").open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def start_web(self, name: str, **overrides) -> str:
        port = free_port()
        command = [
            str(GUNICORN),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--pythonpath",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
        ]
        process = self._start(name, command, {**self.env, **overrides})
        url = f"http://127.0.0.1:{port}"

        def live():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.log(name)}")
            with contextlib.suppress(requests.ConnectionError):
                return requests.get(f"{url}/health/live", timeout=2).status_code == 200
            return False

        wait_for(live, timeout=60, message=f"web node {name} never came up")
        self.urls[name] = url
        return url

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        """Until a web node reports its database, cache, broker and a running cluster ready."""

        def ready():
            with contextlib.suppress(requests.ConnectionError):
                return requests.get(f"{url}/health/ready", timeout=5).status_code == 200
            return False

        wait_for(ready, timeout=timeout, message=f"{url} never became ready")

    def start_cluster(self, name: str, **overrides) -> subprocess.Popen:
        command = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
        return self._start(name, command, {**self.env, **overrides})

    def log(self, name: str) -> str:
        return (self.base / name / "node.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """kill -9 the node and every process it started."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()  # the main process stops its own children, as under systemd
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.2, message: str = ""):
    """Poll `predicate` until it returns something truthy; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(message or f"condition not met within {timeout} s")
