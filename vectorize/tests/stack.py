"""Test-only parts of the local stack: an API client and a PostgreSQL server of the test's own."""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from benchmarks.localstack import free_port


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
