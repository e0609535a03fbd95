"""The production stack as separate processes: gunicorn web nodes and qcluster worker nodes, each
in its own working directory, sharing only PostgreSQL, Redis and an S3 server. Then faults: a
worker node killed with SIGKILL mid-job, Redis restarted mid-run, PostgreSQL stopped and started.
"""

import shutil
import subprocess
import sys
import threading
import time

import pytest
import redis
import requests
from django.conf import settings

from accounts import services as account_services
from benchmarks.localstack import ROOT, Stack, free_port, production_env
from conftest import _database_url_for_tests, bucket_keys
from payments.models import CreditEntry
from payments.selectors import balance_for_user
from vectorize.models import Vectorization
from vectorize.tests.helpers import noise_png, wait_for, wait_for_port
from vectorize.tests.stack import ApiUser, PrivatePostgres

Status = Vectorization.Status
SMALL_IMAGES = [
    "emoji_1F309.png",
    "emoji_1F357.png",
    "emoji_1F3A8.png",
    "logo_4chan.png",
    "emoji_1F48F.png",
    "emoji_1F528.png",
    "emoji_274C.png",
    "emoji_2656.png",
]
# Short limits for the fault tests, for the nodes and the reaper: a trace of the noise image takes
# a few seconds here.
FAULT_LIMITS = {"JOB_TIMEOUT": 20, "REAPER_GRACE_SECONDS": 2, "REAPER_QUEUED_SECONDS": 5}


@pytest.fixture
def stack(tmp_path, s3_bucket, static_root, transactional_db):
    _, _, s3_env = s3_bucket
    env = production_env(
        database_url=_database_url_for_tests(),
        redis_url=settings.REDIS_URL,
        static_root=static_root,
        media_env=s3_env,
    )
    # Two nodes of each kind share the test machine's two cores: one worker process per cluster.
    nodes = Stack(tmp_path / "nodes", {**env, "Q_WORKERS": "1", "WEB_CONCURRENCY": "2"})
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def api(user) -> ApiUser:
    _, secret = account_services.api_key_create(user=user, name="stack tests")
    return ApiUser(secret)


def _submit_all(api, urls, pngs) -> list[str]:
    ids = []
    for index, (name, png) in enumerate(pngs):
        response = api.submit(urls[index % len(urls)], png, name)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _reap(env: dict) -> None:
    """The reaper's schedule (every minute in the cluster), run now through its command with a
    node's settings, so it sends jobs to the nodes' broker."""
    command = [sys.executable, str(ROOT / "manage.py"), "reap_vectorizations"]
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)


def _all_finished(ids, *, reap_with: dict | None = None) -> bool:
    if reap_with is not None:
        _reap(reap_with)
    return (
        not Vectorization.objects.filter(pk__in=ids)
        .exclude(status__in=[Status.SUCCEEDED, Status.FAILED])
        .exists()
    )


def _assert_each_settled_once(ids, user, *, starting_balance=100):
    """Finished, charged exactly once, refunded exactly once if and only if it failed."""
    jobs = list(Vectorization.objects.filter(pk__in=ids))
    assert len(jobs) == len(ids)
    for job in jobs:
        assert job.status in (Status.SUCCEEDED, Status.FAILED)
        assert 1 <= job.attempts <= settings.JOB_MAX_ATTEMPTS
        charges = CreditEntry.objects.filter(idempotency_key=f"job:{job.pk}").count()
        refunds = CreditEntry.objects.filter(idempotency_key=f"job-refund:{job.pk}").count()
        assert (charges, refunds) == (1, int(job.status == Status.FAILED)), job.pk
    succeeded = sum(job.status == Status.SUCCEEDED for job in jobs)
    assert balance_for_user(user=user) == starting_balance - succeeded
    return jobs


@pytest.mark.postgres
@pytest.mark.redis
def test_two_web_and_two_worker_nodes_finish_every_job_exactly_once(
    stack, api, user, bench_dir, s3_bucket
):
    s3, bucket, _ = s3_bucket
    urls = [stack.start_web("web-1"), stack.start_web("web-2")]
    stack.start_cluster("worker-1")
    stack.start_cluster("worker-2")

    ids = _submit_all(api, urls, [(name, (bench_dir / name).read_bytes()) for name in SMALL_IMAGES])
    wait_for(lambda: _all_finished(ids), timeout=120, message="jobs did not finish")

    jobs = _assert_each_settled_once(ids, user)
    assert {job.status for job in jobs} == {Status.SUCCEEDED}
    assert {job.attempts for job in jobs} == {1}
    expected_keys = sorted(
        name for job in jobs for name in (job.input_file.name, job.output_file.name)
    )
    assert bucket_keys(s3, bucket) == expected_keys
    for job in jobs:
        stored = s3.get_object(Bucket=bucket, Key=job.output_file.name)["Body"].read()
        path = f"/api/v1/vectorizations/{job.pk}/download/"
        for url in urls:
            download = api.get(url, path, format="svg")
            assert download.status_code == 200
            assert download.content == stored
        detail = api.get(urls[1], f"/api/v1/vectorizations/{job.pk}/").json()
        assert detail["status"] == "succeeded"
    # Nothing of the media landed in a node's working directory.
    assert not [path for path in stack.base.rglob("*") if path.suffix in (".png", ".svg")]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_node_killed_mid_job_leaves_every_job_settled_once(stack, api, user, s3_bucket):
    limits = {name: str(value) for name, value in FAULT_LIMITS.items()}
    url = stack.start_web("web-1", **limits)
    stack.start_cluster("worker-1", **limits)
    stack.start_cluster("worker-2", **limits)

    ids = _submit_all(api, [url], [(f"noise-{n}.png", noise_png(400)) for n in range(6)])
    wait_for(
        lambda: Vectorization.objects.filter(pk__in=ids, status=Status.RUNNING).count() == 2,
        timeout=60,
        message="both worker nodes never got busy",
    )
    stack.kill("worker-1")  # kill -9: the cluster, its workers and whatever they held

    reaper_env = {**stack.env, **limits}
    wait_for(lambda: _all_finished(ids, reap_with=reaper_env), timeout=180, message="stuck")

    jobs = _assert_each_settled_once(ids, user)
    assert any(job.attempts == 2 for job in jobs), "no job was taken over from the killed node"
    s3, bucket, _ = s3_bucket
    outputs = [key for key in bucket_keys(s3, bucket) if key.startswith("outputs/")]
    assert len(outputs) == sum(job.status == Status.SUCCEEDED for job in jobs)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_redis_restart_mid_run_loses_no_accepted_job(stack, api, user, bench_dir, tmp_path):
    server = shutil.which("redis-server")
    assert server, "redis-server is needed for this test"
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", str(tmp_path)]  # fmt: skip
    own_redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, process=own_redis)
        overrides = {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "REAPER_QUEUED_SECONDS": str(FAULT_LIMITS["REAPER_QUEUED_SECONDS"]),
        }
        url = stack.start_web("web-1", **overrides)
        stack.start_cluster("worker-1", **overrides)
        images = [(name, (bench_dir / name).read_bytes()) for name in SMALL_IMAGES]
        slow = [(f"noise-{n}.png", noise_png(400)) for n in range(3)]

        accepted = _submit_all(api, [url], slow + images[:2])
        wait_for(
            lambda: Vectorization.objects.filter(pk__in=accepted, status=Status.RUNNING).exists(),
            timeout=60,
            message="the worker node never started a job",
        )
        # Redis goes away without saving: the queued messages are gone with it.
        redis.Redis(port=port).shutdown(nosave=True)
        own_redis.wait(10)
        during = api.submit(url, images[2][1], images[2][0])
        assert during.status_code == 503, during.text
        assert during.json()["error"]["code"] == "service_unavailable"
        own_redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for_port(port, process=own_redis)
        accepted += _submit_all(api, [url], images[3:6])

        reaper_env = {**stack.env, **overrides}
        wait_for(lambda: _all_finished(accepted, reap_with=reaper_env), timeout=180)

        jobs = _assert_each_settled_once(accepted, user)
        assert {job.status for job in jobs} == {Status.SUCCEEDED}
        assert Vectorization.objects.count() == len(accepted)  # the refused one left nothing
    finally:
        own_redis.terminate()
        own_redis.wait(10)


@pytest.mark.redis
def test_the_web_answers_503_while_postgresql_is_down_then_recovers_without_a_restart(
    tmp_path, static_root
):
    with PrivatePostgres() as postgres:
        env = production_env(
            database_url=postgres.createdb("vectorcraft"),
            redis_url=settings.REDIS_URL,
            static_root=static_root,
        )
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        create_key = (
            "from accounts.models import User; from accounts.services import api_key_create; "
            "user = User.objects.create_user(email='ops@example.com', password='x' * 20); "
            "print(api_key_create(user=user, name='ops')[1])"
        )
        secret = subprocess.run(
            [*manage, "shell", "-c", create_key], env=env, check=True, capture_output=True,
            text=True, cwd=ROOT,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        api = ApiUser(secret)
        nodes = Stack(tmp_path / "nodes", {**env, "WEB_CONCURRENCY": "2"})
        try:
            url = nodes.start_web("web-1")
            web_pid = nodes.processes["web-1"].pid
            assert api.get(url, "/api/v1/vectorizations/").status_code == 200

            postgres.stop()
            down = api.get(url, "/api/v1/vectorizations/")
            page = api.get(url, "/")
            live = api.get(url, "/health/live")
            ready = api.get(url, "/health/ready")

            assert down.status_code == 503
            assert down.headers["Retry-After"] == "30"
            assert down.json()["error"]["code"] == "service_unavailable"
            assert page.status_code == 503
            assert "Back in a moment" in page.text
            assert live.status_code == 200
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"]["status"] == "unavailable"

            postgres.start()
            time.sleep(0.5)
            back = wait_for(
                lambda: (r := api.get(url, "/api/v1/vectorizations/")).status_code == 200 and r,
                timeout=30,
                message="the web node did not recover",
            )
            assert back.json()["count"] == 0
            assert api.get(url, "/").status_code == 200
            assert nodes.processes["web-1"].pid == web_pid
            assert nodes.processes["web-1"].poll() is None
        finally:
            nodes.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_waiting_previews_leave_a_web_node_free_to_answer(
    tmp_path, static_root, transactional_db, bench_dir, django_user_model
):
    # One gunicorn process of 4 threads and no cluster: a job never finishes, so every ?wait=
    # that is held lasts its whole length.
    env = production_env(
        database_url=_database_url_for_tests(),
        redis_url=settings.REDIS_URL,
        static_root=static_root,
        media_env={"MEDIA_ROOT": str(tmp_path / "media")},
    )
    nodes = Stack(tmp_path / "nodes", {**env, "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4"})
    try:
        url = nodes.start_web("web")
        users = []
        for index in range(8):
            owner = django_user_model.objects.create_user(email=f"free{index}@example.com")
            users.append(ApiUser(account_services.api_key_create(user=owner, name="w")[1]))
        png = (bench_dir / "emoji_1F309.png").read_bytes()
        answers = []

        def wait_for_preview(user):
            started = time.monotonic()
            response = requests.post(
                f"{url}/api/v1/vectorizations/?wait=8",
                headers=user.headers,
                files={"image": ("free.png", png, "image/png")},
                data={"mode": "preview"},
                timeout=60,
            )
            answers.append((response.status_code, response.headers.get("X-Wait-Skipped")))
            return time.monotonic() - started

        threads = [threading.Thread(target=wait_for_preview, args=(user,)) for user in users]
        for thread in threads:
            thread.start()
        time.sleep(3)  # every request is in: two held, the rest answered
        started = time.monotonic()
        live = requests.get(f"{url}/health/live", timeout=30)
        live_seconds = time.monotonic() - started
        for thread in threads:
            thread.join()
    finally:
        nodes.stop()

    assert live.status_code == 200
    assert live_seconds < 2, f"/health/live took {live_seconds:.1f} s"
    assert [status for status, _ in answers] == [202] * 8
    assert sum(1 for _, skipped in answers if skipped == "true") == 6  # 2 waits per process
