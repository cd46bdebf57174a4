"""Hardening: the client address behind proxies (only trusted ones are believed), the Content-Security-Policy on
every answer, the production settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory, override_settings
from hocba.kernel.clientip import client_ip, parse_networks, resolve

from tenants.models import PlatformAuditEntry
from tests.support import client_for

REPO = Path(__file__).resolve().parents[2]
TRUSTED = parse_networks(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"])

# --- the client address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "networks", "expected"),
    [
        # No proxies configured: the header is never read.
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),
        # The peer is not a trusted proxy: whatever it claims is ignored.
        ("203.0.113.5", "198.51.100.1", TRUSTED, "203.0.113.5"),
        ("203.0.113.5", "10.1.1.1", TRUSTED, "203.0.113.5"),
        # A trusted peer without the header: the peer.
        ("10.0.0.2", "", TRUSTED, "10.0.0.2"),
        # One proxy: the last hop is the client.
        ("10.0.0.2", "198.51.100.1", TRUSTED, "198.51.100.1"),
        # The client forged a first hop: the proxy appended the real address, right to left finds it.
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", TRUSTED, "198.51.100.1"),
        # Two proxies (the load balancer 192.0.2.1, then the ingress): both skipped.
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 192.0.2.1", TRUSTED, "198.51.100.1"),
        # Every hop trusted: the leftmost one.
        ("10.0.0.2", "10.9.9.9, 192.0.2.1", TRUSTED, "10.9.9.9"),
        # A hop that is no address stops the walk at the last address a trusted proxy vouched for.
        ("10.0.0.2", "198.51.100.1, bogus, 192.0.2.1", TRUSTED, "192.0.2.1"),
        ("10.0.0.2", "   ", TRUSTED, "10.0.0.2"),
        # Ports and IPv6 forms.
        ("10.0.0.2", "198.51.100.1:5123", TRUSTED, "198.51.100.1"),
        ("10.0.0.2", "[2001:db9::7]:443", TRUSTED, "2001:db9::7"),
        ("2001:db8::1", "2001:db9::7, 2001:db8::5", TRUSTED, "2001:db9::7"),
        ("::ffff:10.0.0.2", "198.51.100.1", TRUSTED, "198.51.100.1"),
        # No usable peer address: left as it is.
        ("", "198.51.100.1", TRUSTED, ""),
    ],
)
def test_resolve_walks_trusted_hops_right_to_left(remote, forwarded, networks, expected):
    assert resolve(remote, forwarded, networks) == expected


def test_malformed_trusted_proxy_entry_is_refused():
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/8", "ingress"])


def test_allauth_rate_limits_use_the_same_address():
    from allauth.account.adapter import get_adapter

    spoofed = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    with override_settings(TRUSTED_PROXIES=[]):
        assert get_adapter(spoofed).get_client_ip(spoofed) == client_ip(spoofed) == "203.0.113.5"
    proxied = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1")
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert get_adapter(proxied).get_client_ip(proxied) == "198.51.100.1"


def _grant(w, **extra) -> PlatformAuditEntry:
    client = client_for(w.account("unit_a_admin"), "hocba.localhost")
    response = client.post(
        f"/manage/school/{w.school_a}/accounts/new/",
        {
            "new-full_name": "Người Mới",
            "new-username": f"nguoi.moi.{len(extra)}",
            "new-password": "mot-mat-khau-dai",
            "new-role": "clerk",
        },
        **extra,
    )
    assert response.status_code in (200, 302)
    return PlatformAuditEntry.objects.filter(actor_id=w.accounts["unit_a_admin"], action="membership.grant").latest(
        "id"
    )


def test_audit_ignores_a_forged_header_from_an_untrusted_peer(w, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    row = _grant(w, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert row.ip == "203.0.113.5"


def test_audit_believes_the_trusted_ingress(w, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    row = _grant(w, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1", HTTP_X_REQUEST_ID="r1")
    assert row.ip == "198.51.100.1"


# --- Content-Security-Policy -----------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _nonce(policy: dict[str, list[str]]) -> str:
    (nonce,) = [s for s in policy["script-src"] if s.startswith("'nonce-")]
    return nonce


def _assert_strict(response) -> dict[str, list[str]]:
    policy = _policy(response)
    assert policy["script-src"][0] == "'self'" and len(policy["script-src"]) == 2, policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"][0] == "'self'"
    assert policy["default-src"] == ["'self'"]
    return policy


def test_every_kind_of_answer_carries_the_policy(w):
    anonymous = Client(HTTP_HOST="hocba.localhost")
    answers = {
        "login": anonymous.get("/accounts/login/"),
        "api": anonymous.get("/api/v1/units/"),
        "not found": anonymous.get("/no-such-page/"),
        "unknown school": Client(HTTP_HOST="no-such-school.hocba.localhost").get("/"),
        "health": anonymous.get("/healthz"),
        "school page": client_for(w.account("principal_a"), "thcs-an-thanh.hocba.localhost").get("/"),
    }
    assert answers["login"].status_code == 200 and answers["not found"].status_code == 404
    assert answers["api"].status_code in (401, 403)
    nonces = set()
    for name, response in answers.items():
        assert "Content-Security-Policy" in response, name
        nonces.add(_nonce(_assert_strict(response)))
    assert len(nonces) == len(answers), "a fresh nonce per request"
    form_action = _policy(answers["login"])["form-action"]
    assert "hocba.localhost:*" in form_action and "*.hocba.localhost:*" in form_action


def test_the_nonce_reaches_the_templates(rf):
    from hocba.kernel.csp import ContentSecurityPolicyMiddleware, nonce

    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen.update(nonce(request))
        return HttpResponse("ok")

    response = ContentSecurityPolicyMiddleware(view)(rf.get("/"))
    assert seen["csp_nonce"] and f"'nonce-{seen['csp_nonce']}'" in response["Content-Security-Policy"]


def test_api_docs_run_no_inline_script(w):
    client = Client(HTTP_HOST="hocba.localhost")
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    _assert_strict(docs)
    html = docs.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "Swagger's start-up script comes from a URL"
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    redoc = client.get("/api/v1/redoc/")
    assert redoc.status_code == 200
    assert "blob:" in _policy(redoc)["worker-src"] and b"fonts.googleapis" not in redoc.content
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", redoc.content.decode())


TEMPLATE_DIRS = [REPO / "platform/hocba/templates", REPO / "tenants/templates", REPO / "schools/templates"]
TEMPLATE_DIRS += [REPO / "reporting/templates"]


def test_templates_hold_no_inline_script_or_handler():
    """What the policy would refuse in a browser, caught before: a <script> without src (JSON data blocks are
    data, not code) or an on…= attribute."""
    found = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            text = path.read_text()
            for match in re.finditer(r"<script\b([^>]*)>", text):
                attributes = match.group(1)
                if "src=" not in attributes and "application/json" not in attributes:
                    found.append(f"{path.relative_to(REPO)}: {match.group(0)}")
            for match in re.finditer(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", text):
                found.append(f"{path.relative_to(REPO)}: {match.group(0)[:80]}")
            if "javascript:" in text:
                found.append(f"{path.relative_to(REPO)}: javascript: URL")
    assert not found, found


# --- production settings -------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "hocba.settings.production",
    "HOCBA_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgresql://hocba@db.example.vn:5432/hocba",
    "REDIS_URL": "redis://redis.example.vn:6379/0",
    "S3_ENDPOINT_URL": "https://s3.example.vn",
    "HOCBA_MFA_KEY": "k" * 32,
    "HOCBA_BASE_DOMAIN": "hanoi.hocba.example.vn",
}
_PRINT = (
    "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
    "['SECURE_SSL_REDIRECT', 'SECURE_REDIRECT_EXEMPT', 'SECURE_PROXY_SSL_HEADER', 'ALLOWED_HOSTS', "
    "'TRUSTED_PROXIES', 'DEBUG']}))"
)


def _production(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HOCBA_", "PYTEST_"))}
    env.update(PRODUCTION_ENV, PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]), **extra)
    code = "import django; django.setup(); " + _PRINT
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_serves_only_its_domain():
    found = _production()
    assert found["SECURE_SSL_REDIRECT"] is True and found["DEBUG"] is False
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["ALLOWED_HOSTS"] == ["hanoi.hocba.example.vn", ".hanoi.hocba.example.vn"]
    assert any(re.search(pattern, "healthz") for pattern in found["SECURE_REDIRECT_EXEMPT"])
    assert found["TRUSTED_PROXIES"] == []
    # A loopback host given explicitly is dropped too; trusted proxies come from the environment.
    found = _production(
        HOCBA_ALLOWED_HOSTS="hanoi.hocba.example.vn,127.0.0.1,localhost,[::1]",
        HOCBA_TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.1",
    )
    assert found["ALLOWED_HOSTS"] == ["hanoi.hocba.example.vn"]
    assert found["TRUSTED_PROXIES"] == ["10.0.0.0/8", "192.0.2.1/32"]


def test_probes_over_plain_http_are_not_redirected(w):
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$", r"^readyz$"]):
        client = Client(HTTP_HOST="hocba.localhost")
        assert client.get("/healthz").status_code == 200
        login = client.get("/accounts/login/")
        assert login.status_code == 301 and login["Location"].startswith("https://hocba.localhost/")
        assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https", secure=True).status_code == 200


def test_deployments_say_which_proxies_they_trust():
    import yaml

    values = yaml.safe_load((REPO / "helm/hocba/values.yaml").read_text())
    assert parse_networks(values["env"]["HOCBA_TRUSTED_PROXIES"].split(","))  # the ingress's pod network
    example = dict(
        line.split("=", 1) for line in (REPO / "infra/env.example").read_text().splitlines() if "=" in line[:40]
    )
    assert example["HOCBA_TRUSTED_PROXIES"] == ""  # the port is published directly: every peer is a client
