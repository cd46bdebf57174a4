"""A real server on a database of its own, and a real Chromium, for the browser tests.

These tests never touch pytest-django's test database: flushing it would destroy the session's schools,
and the audit table refuses TRUNCATE. Instead one session fixture

* creates a fresh database ``hocba_e2e_<pid>`` on the server of ``DATABASE_URL`` (tests/servers.py),
* runs ``migrate_schemas --shared``, ``migrate_schools`` and ``seed_demo`` in subprocesses with
  ``hocba.settings.local``,
* starts ``manage.py runserver`` on a free port and waits for ``/healthz``,
* and at the end stops the server and drops the database.

The browser tests are marked both ``browser`` and ``server``.

``HOCBA_E2E_BASE_DOMAIN`` (default ``hocba.localhost``) chooses the base domain the server is run with; schools
are then served at ``<slug>.<base domain>``. Chromium resolves every ``*.localhost`` name to loopback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import app_database, app_env, runserver, serve, setup_database
from tests.support import free_port

# Playwright's sync API keeps an event loop running in the main thread from the first browser test to the end of
# the session, and Django then refuses every database call of the tests that run after them in this process
# (SynchronousOnlyOperation), though none of them is async. Playwright's own guidance for pytest-django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

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


@pytest.fixture(scope="session")
def site():
    base_domain = os.environ.get("HOCBA_E2E_BASE_DOMAIN", "hocba.localhost")
    port = free_port()
    SHOTS.mkdir(parents=True, exist_ok=True)
    log = SHOTS / "runserver.log"  # overwritten by every run; read it when a page misbehaves
    with app_database(f"hocba_e2e_{os.getpid()}") as url:
        env = app_env(url, base_domain, HOCBA_PORT=str(port))
        missing = [k for k in ("REDIS_URL", "HOCBA_MFA_KEY", "HOCBA_SECRET_KEY") if not env.get(k)]
        assert not missing, f"not configured and not started by the test settings: {missing}"
        setup_database(env, label="browser")  # the same steps as ``make run``, each with its database login
        with serve(runserver(), {**env, "HOCBA_DB_ROLE": "app"}, base_domain=base_domain, log=log, port=port):
            yield Site(base_domain, port, url, log)


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
