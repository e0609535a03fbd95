"""schemathesis against the served OpenAPI schema of a live server: no 5xx, and every response
matches the schema (status codes, content types, headers and bodies)."""

import subprocess
import sys
from pathlib import Path

from accounts import services as account_services

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_it_answers_every_generated_request_within_the_schema(
    live_server, qcluster, user, settings, tmp_path
):
    # A real cluster finishes the jobs, so ?wait= requests return as soon as their job is done.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"read": "100000/min", "submit": "100000/min"},
    }
    _, key = account_services.api_key_create(user=user, name="schemathesis")

    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{live_server.url}/api/v1/schema/",
            "--header",
            f"X-API-Key: {key}",
            "--checks",
            CHECKS,
            "--max-examples",
            "10",
            # The coverage phase's thousand-odd boundary cases take minutes; fuzzing and the
            # stateful phase (which follows created jobs into every other endpoint) stay.
            "--phases",
            "examples,fuzzing,stateful",
            "--generation-deterministic",
            "--no-color",
            "--request-timeout",
            "45",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
