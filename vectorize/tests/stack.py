"""Production-like nodes as real processes: gunicorn web nodes and qcluster worker nodes.

Each node runs in its own working directory with DJANGO_ENV=production. Nodes share only
PostgreSQL, Redis and the S3 server, as separate machines would.
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from vectorize.tests.helpers import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
NODE_SECRET_KEY = secrets.token_urlsafe(64)


def production_env(*, database_url: str, redis_url: str, s3_env: dict, static_root) -> dict:
    """The documented production variables, pointed at the test services."""
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
            # The tests speak plain HTTP to the nodes; in production nginx terminates TLS.
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_ROOT": str(static_root),
            "Q_WORKERS": "1",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
            **s3_env,
        }
    )
    return env


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


class ApiUser:
    """Talks to the web nodes with an API key, as a script would."""

    def __init__(self, secret: str):
        self.headers = {"Authorization": f"Api-Key {secret}"}

    def submit(self, url: str, png: bytes, name: str) -> requests.Response:
        return requests.post(
            f"{url}/api/v1/vectorizations/",
            headers=self.headers,
            files={"image": (name, png, "image/png")},
            timeout=30,
        )

    def get(self, url: str, path: str, **params) -> requests.Response:
        return requests.get(f"{url}{path}", headers=self.headers, params=params, timeout=30)


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary folder), so the test can stop
    and start it without touching the machine's server."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="vectorcraft-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, "postgres")

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def __enter__(self):
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        return self

    def __exit__(self, *exc_info):
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def createdb(self, name: str) -> str:
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"
