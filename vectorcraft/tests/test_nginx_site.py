"""The nginx site of docs/DEPLOY.md, as written there, in front of a production web node and a Q
cluster: TLS and the redirect to it, the body size limit, the proxy headers the app trusts (the
scheme, and the client address for per-address limits), and no media served from disk.

Only what cannot be the same on a test machine is changed: the ports, the certificate (made here)
and the upstream's port.
"""

import os
import re
import shutil
import subprocess

import pytest
import requests
from django.conf import settings

from accounts import services as account_services
from benchmarks.localstack import ROOT, Stack, free_port, production_env
from conftest import _database_url_for_tests
from vectorize.models import Vectorization
from vectorize.tests.helpers import wait_for_port
from vectorize.tests.stack import ApiUser

HOST = "vectorcraft.example.com"
FAILED_LOGINS_PER_ADDRESS = 3


def _site_from_deploy_doc(*, upstream_port: int, http_port: int, https_port: int, tls) -> str:
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, "docs/DEPLOY.md should hold one nginx site"
    certificate, key = tls
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(certificate),
        f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(key),
    }
    site = blocks[0]
    for documented, here in replacements.items():
        assert site.count(documented) == 1, f"the documented site no longer has {documented!r}"
        site = site.replace(documented, here)
    return site


def _certificate(folder) -> tuple:
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(certificate), "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connects from a given loopback address (all of 127.0.0.0/8 is this machine), to be a
    second client as nginx sees it."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def nginx(tmp_path):
    """Yields start(upstream): runs nginx with the documented site in front of that web node's
    URL and returns (its http URL, its https URL, the certificate to trust)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    assert os.access(binary, os.X_OK), "nginx is needed for this test (make test installs it)"
    folder = tmp_path / "nginx"
    folder.mkdir()
    processes = []

    def start(upstream: str):
        upstream_port = int(upstream.rsplit(":", 1)[1])
        tls = _certificate(folder)
        http_port, https_port = free_port(), free_port()
        site = _site_from_deploy_doc(
            upstream_port=upstream_port, http_port=http_port, https_port=https_port, tls=tls
        )
        temp_paths = "\n".join(
            f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy")
        )
        # Run as root (CI), nginx would hand requests to workers of user nobody, who cannot
        # enter the test's private temporary folder.
        user = "user root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}\ndaemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'};\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {folder / 'access.log'};\n{temp_paths}\n{site}\n}}\n"
        )
        command = [binary, "-p", str(folder), "-e", str(folder / "error.log"),
                   "-c", str(folder / "nginx.conf")]  # fmt: skip
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        wait_for_port(http_port, process=process)
        wait_for_port(https_port, process=process)
        return f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}", tls[0]

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


@pytest.fixture
def production_node(tmp_path, static_root, transactional_db):
    """A web node and a Q cluster in production mode with the documented defaults that matter
    here: TLS redirects on, one trusted proxy. Media on local disk, to show nginx serves none."""
    media = tmp_path / "media"
    env = production_env(
        database_url=_database_url_for_tests(),
        redis_url=settings.REDIS_URL,
        static_root=static_root,
        media_env={"MEDIA_ROOT": str(media)},
    )
    env.pop("SECURE_SSL_REDIRECT")  # the production default: on
    env.update(
        {
            # The node's own address too, for the probes that come past nginx (docs/DEPLOY.md).
            "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
            "TRUSTED_PROXY_COUNT": "1",
            "LOGIN_FAILED_RATE_LIMIT": f"{FAILED_LOGINS_PER_ADDRESS}/m/ip",
        }
    )
    nodes = Stack(tmp_path / "nodes", env)
    try:
        yield nodes, media
    finally:
        nodes.stop()


def _failed_login(session: requests.Session, https: str, email: str, **headers) -> str:
    page = session.get(f"{https}/accounts/login/", headers={"Host": HOST})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{https}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": email, "password": "not the password"},
        headers={"Host": HOST, "Referer": f"https://{HOST}/accounts/login/", **headers},
    )
    assert response.status_code == 200, response.status_code
    return response.text


class _Session(requests.Session):
    def request(self, *args, timeout=30, **kwargs):
        return super().request(*args, timeout=timeout, **kwargs)


def _client(ca, *, address: str | None = None) -> requests.Session:
    session = _Session()
    session.trust_env = False  # or REQUESTS_CA_BUNDLE, where set, would replace `verify`
    session.verify = str(ca)
    if address:
        session.mount("https://", _FromAddress(address))
    return session


@pytest.mark.postgres
@pytest.mark.redis
def test_it_serves_the_app_over_tls_behind_the_documented_nginx_site(
    nginx, production_node, user, bench_dir
):
    nodes, media = production_node
    upstream = nodes.start_web("web")
    nodes.start_cluster("worker")
    http, https, ca = nginx(upstream)
    client = _client(ca)
    host = {"Host": HOST}

    # Plain HTTP is sent to HTTPS by nginx; past nginx, the node itself redirects every page
    # but its health checks (a load balancer probes those directly).
    login = f"https://{HOST}/accounts/login/"
    to_tls = client.get(f"{http}/accounts/login/", headers=host, allow_redirects=False)
    assert (to_tls.status_code, to_tls.headers["Location"]) == (301, login)
    direct = client.get(f"{upstream}/accounts/login/", headers=host, allow_redirects=False)
    assert (direct.status_code, direct.headers["Location"]) == (301, login)
    assert client.get(f"{upstream}/health/live", headers=host).status_code == 200

    # Through nginx the node sees HTTPS (X-Forwarded-Proto): pages answer, with HSTS.
    home = client.get(f"{https}/", headers=host, allow_redirects=False)
    assert home.status_code == 200
    assert "max-age=31536000" in home.headers["Strict-Transport-Security"]
    # The request id is nginx's, not one a client made up.
    assert re.fullmatch(r"[0-9a-f]{32}", home.headers["X-Request-ID"])
    forged_id = client.get(f"{https}/health/live", headers={**host, "X-Request-ID": "mine"})
    assert forged_id.headers["X-Request-ID"] != "mine"

    # Static files come from whitenoise through the proxy, cached for a year.
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', home.text).group(1)
    static = client.get(f"{https}{stylesheet}", headers=host)
    assert static.status_code == 200
    assert "max-age=315360000" in static.headers["Cache-Control"]

    # A job through nginx: submitted (held open by ?wait=), then downloaded.
    _, secret = account_services.api_key_create(user=user, name="behind nginx")
    api = {**host, **ApiUser(secret).headers}
    png = (bench_dir / "logo_4chan.png").read_bytes()
    submitted = client.post(
        f"{https}/api/v1/vectorizations/?wait=25",
        headers=api,
        files={"image": ("logo.png", png, "image/png")},
    )
    assert submitted.status_code == 200, submitted.text  # finished within the wait
    job = Vectorization.objects.get(pk=submitted.json()["id"])
    assert job.status == Vectorization.Status.SUCCEEDED
    svg = client.get(
        f"{https}/api/v1/vectorizations/{job.pk}/download/", params={"format": "svg"}, headers=api
    )
    assert svg.status_code == 200
    assert svg.content == (media / job.output_file.name).read_bytes()

    # The stored files are on this disk, yet nginx serves nothing from it.
    assert (media / job.input_file.name).is_file()
    for name in (job.input_file.name, job.output_file.name):
        assert client.get(f"{https}/media/{name}", headers=host).status_code == 404

    # Over the body limit, nginx refuses before the app reads a byte; under it but over the
    # app's upload limit, the app answers with its error envelope.
    too_big = b"\0" * (26 * 1024 * 1024)
    refused = client.post(
        f"{https}/api/v1/vectorizations/", headers=api, files={"image": ("big.png", too_big)}
    )
    assert refused.status_code == 413
    assert "nginx" in refused.text
    large = b"\0" * (settings.MAX_UPLOAD_BYTES + 1024)
    answered = client.post(
        f"{https}/api/v1/vectorizations/", headers=api, files={"image": ("big.png", large)}
    )
    assert answered.status_code == 413, answered.text
    assert answered.json()["error"]["code"] == "file_too_large"
    assert Vectorization.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.redis
def test_it_limits_failed_logins_by_the_address_nginx_saw_not_the_one_a_client_wrote(
    nginx, production_node
):
    nodes, _ = production_node
    upstream = nodes.start_web("web")
    _, https, ca = nginx(upstream)
    attacker = _client(ca)

    # Each attempt claims another address in X-Forwarded-For; nginx appends the real one.
    for attempt in range(FAILED_LOGINS_PER_ADDRESS):
        page = _failed_login(
            attacker,
            https,
            f"user{attempt}@example.com",
            **{"X-Forwarded-For": f"198.51.100.{attempt}"},
        )
        assert "Too many failed login attempts" not in page
    forged = _failed_login(
        attacker, https, "other@example.com", **{"X-Forwarded-For": "198.51.100.99"}
    )
    assert "Too many failed login attempts" in forged

    # Someone else (another address as nginx sees it) is not locked out.
    neighbour = _failed_login(_client(ca, address="127.0.0.2"), https, "neighbour@example.com")
    assert "Too many failed login attempts" not in neighbour
