"""Load on one VectorCraft deployment (`make loadtest` starts it and runs these users headless).

Visitor is the mixed load: status polls, job lists, downloads, page views and submits of small
images. LiveProbe and StatusProbe each hit one endpoint as fast as they can, to compare the cost of
a job-status read with that of /health/live on the same server.

Reads LOADTEST_ACCOUNTS (a JSON list of {"key", "job_ids"}, one per simulated user) and
LOADTEST_IMAGES (a folder of small PNGs to submit).
"""

import itertools
import json
import os
import random
from pathlib import Path

from locust import HttpUser, between, constant, task

ACCOUNTS = json.loads(Path(os.environ["LOADTEST_ACCOUNTS"]).read_text())
IMAGES = [
    (path.name, path.read_bytes())
    for path in sorted(Path(os.environ["LOADTEST_IMAGES"]).glob("*.png"))
]
PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/api/docs/"]
THROTTLED = "throttled (429)"
_next_account = itertools.count()


def _judge(response, expected=(200,)):
    """A 429 is the rate limit doing its job: counted apart from errors."""
    if response.status_code == 429:
        response.failure(THROTTLED)
    elif response.status_code in expected:
        response.success()
    else:
        response.failure(f"HTTP {response.status_code}")


class _ApiUser(HttpUser):
    abstract = True

    def on_start(self):
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        self.client.headers["Authorization"] = f"Api-Key {account['key']}"
        self.finished_jobs = list(account["job_ids"])
        self.my_jobs = list(account["job_ids"])

    def get(self, path, name, **params):
        with self.client.get(path, name=name, params=params, catch_response=True) as response:
            _judge(response)
            return response

    def job_status(self):
        job_id = random.choice(self.my_jobs[-5:])
        self.get(f"/api/v1/vectorizations/{job_id}/", "GET /api/v1/vectorizations/{id}/")


class Visitor(_ApiUser):
    wait_time = between(0.5, 1.5)

    @task(10)
    def poll_status(self):
        self.job_status()

    @task(2)
    def list_jobs(self):
        self.get("/api/v1/vectorizations/", "GET /api/v1/vectorizations/", page_size=20)

    @task(2)
    def download(self):
        job_id = random.choice(self.finished_jobs)
        self.get(
            f"/api/v1/vectorizations/{job_id}/download/",
            "GET /api/v1/vectorizations/{id}/download/?format=svg",
            format="svg",
        )

    @task(3)
    def page(self):
        path = random.choice(PAGES)
        self.get(path, f"GET {path} (page)")

    @task(1)
    def submit(self):
        name, png = random.choice(IMAGES)
        with self.client.post(
            "/api/v1/vectorizations/",
            name="POST /api/v1/vectorizations/",
            files={"image": (name, png, "image/png")},
            catch_response=True,
        ) as response:
            _judge(response, expected=(202,))
            if response.status_code == 202:
                self.my_jobs.append(response.json()["id"])

    @task(1)
    def live(self):
        self.get("/health/live", "GET /health/live")


class LiveProbe(HttpUser):
    wait_time = constant(0)

    @task
    def live(self):
        with self.client.get("/health/live", name="GET /health/live", catch_response=True) as r:
            _judge(r)


class StatusProbe(_ApiUser):
    wait_time = constant(0)

    @task
    def poll_status(self):
        self.job_status()
