"""A real server on a database of its own, and a real Chromium, for the browser tests.

These tests never touch pytest-django's test database: flushing it would destroy the session's schools,
and the audit table refuses TRUNCATE. Instead one session fixture

* creates a fresh database ``hocba_e2e_<pid>`` on the server of ``DATABASE_URL`` (when unset, the test
  settings have started the embedded PostgreSQL and put its address in ``os.environ`` by now),
* runs ``migrate_schemas --shared``, ``migrate_schools`` and ``seed_demo`` in subprocesses with
  ``hocba.settings.local``,
* starts ``manage.py runserver`` on a free port and waits for ``/healthz``,
* and at the end stops the server and drops the database.

``HOCBA_E2E_BASE_DOMAIN`` (default ``hocba.localhost``) chooses the base domain the server is run with; schools
are then served at ``<slug>.<base domain>``. Chromium resolves every ``*.localhost`` name to loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from hocba.run import SETUP_STEPS

from tests.support import admin_connection, database_url_named, free_port

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "manage.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = Path("/tmp/browser-shots")


@dataclass(frozen=True)
class Site:
    base_domain: str
    port: int
    database_url: str
    log: Path

    def url(self, slug: str | None = None, path: str = "/") -> str:
        host = f"{slug}.{self.base_domain}" if slug else self.base_domain
        return f"http://{host}:{self.port}{path}"

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read the server's database directly (never through Django's test connection)."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()


def _service_env() -> dict[str, str]:
    """DATABASE_URL and friends as the test settings left them (they start embedded services if unset)."""
    if not os.environ.get("DATABASE_URL"):
        from django.conf import settings

        settings.DATABASES  # noqa: B018 - importing the test settings runs ensure_services()
    if not os.environ.get("DATABASE_URL"):
        from hocba.devservices import ensure_services

        ensure_services()
    return dict(os.environ)


def _run(args: list[str], env: dict[str, str], timeout: float) -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(MANAGE), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-5000:]}")
    print(f"[browser] manage.py {args[0]}: {time.monotonic() - started:.1f} s", file=sys.stderr)


def _wait_healthy(site: Site, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{site.port}/healthz", headers={"Host": f"{site.base_domain}:{site.port}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"runserver exited with {proc.returncode}:\n{site.log.read_text(errors='replace')[-5000:]}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with opener.open(request, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"runserver did not answer /healthz in {timeout} s:\n{site.log.read_text(errors='replace')[-5000:]}")


@pytest.fixture(scope="session")
def site():
    base_env = _service_env()
    source_url = base_env["DATABASE_URL"]
    name = f"hocba_e2e_{os.getpid()}"
    url = database_url_named(source_url, name)
    base_domain = os.environ.get("HOCBA_E2E_BASE_DOMAIN", "hocba.localhost")
    port = free_port()
    env = {k: v for k, v in base_env.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(DJANGO_SETTINGS_MODULE="hocba.settings.local", DATABASE_URL=url, HOCBA_PORT=str(port),
               HOCBA_BASE_DOMAIN=base_domain, PYTHONUNBUFFERED="1")
    env.pop("HOCBA_ALLOWED_HOSTS", None)
    missing = [k for k in ("REDIS_URL", "HOCBA_MFA_KEY", "HOCBA_SECRET_KEY") if not env.get(k)]
    assert not missing, f"not configured and not started by the test settings: {missing}"

    with admin_connection(source_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SHOTS / "runserver.log"  # overwritten by every run; read it when a page misbehaves
    site = Site(base_domain, port, url, log)
    proc = None
    try:
        # The same steps as ``make run``, each with its database login.
        for _name, args, role in SETUP_STEPS:
            _run(args, {**env, "HOCBA_DB_ROLE": role}, timeout=120)
        env["HOCBA_DB_ROLE"] = "app"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait_healthy(site, proc)
        yield site
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        with admin_connection(source_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_context(browser):
    """``new_context(**options)`` opens a fresh browser profile (no cookies unless ``storage_state``)."""
    opened = []

    def make(**options):
        context = browser.new_context(**{"locale": "vi-VN", "viewport": {"width": 1280, "height": 900}, **options})
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
