"""Shared test helpers and constants (the fixtures are in conftest.py)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connections
from django.test import Client
from hocba.kernel.roles import Role

DAY = dt.date(2025, 7, 1)
PASSWORD = "mat-khau-kiem-thu-2026"
SCHOOL_A_HOST = "thcs-an-thanh.hocba.localhost"
SCHOOL_B_HOST = "thcs-binh-minh.hocba.localhost"


@dataclass(frozen=True)
class World:
    province: int
    unit_a: int
    unit_b: int
    school_a: int
    school_b: int
    accounts: dict[str, int]

    def account(self, name: str):
        from tenants.models import Account

        return Account.objects.get(pk=self.accounts[name])


ACCOUNTS = [
    ("province_admin", Role.PROVINCE_ADMIN, "province"),
    ("inspector", Role.PROVINCE_INSPECTOR, "province"),
    ("unit_a_admin", Role.UNIT_ADMIN, "unit_a"),
    ("unit_a_staff", Role.UNIT_STAFF, "unit_a"),
    ("unit_b_admin", Role.UNIT_ADMIN, "unit_b"),
    ("principal_a", Role.PRINCIPAL, "school_a"),
    ("vice_a", Role.VICE_PRINCIPAL, "school_a"),
    ("it_a", Role.SCHOOL_IT_ADMIN, "school_a"),
    ("homeroom_a", Role.HOMEROOM_TEACHER, "school_a"),
    ("teacher_a", Role.SUBJECT_TEACHER, "school_a"),
    ("dept_a", Role.DEPARTMENT_HEAD, "school_a"),
    ("clerk_a", Role.CLERK, "school_a"),
    ("parent_a", Role.PARENT, "school_a"),
    ("principal_b", Role.PRINCIPAL, "school_b"),
    ("teacher_b", Role.SUBJECT_TEACHER, "school_b"),
]


def give_totp(account) -> str:
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    from tenants.demo import demo_totp_secret

    secret = demo_totp_secret(account.username)
    Authenticator.objects.get_or_create(
        user=account, type=Authenticator.Type.TOTP, defaults={"data": {"secret": get_adapter().encrypt(secret)}}
    )
    return secret


def api_token_for(account, scope: str, *, write: bool = True, days: int = 30) -> str:
    """An API token's key, issued through the service (``scope``: ``school:<id>`` or ``unit:<id>``)."""
    from tenants.services.tokens import api_token_issue

    return api_token_issue(actor=account, name="kiểm thử", scope=scope, may_write=write, days=days)[1]


def page_text(response) -> str:
    """A page's HTML without the CSRF tokens: a random token may spell a short name a test says is absent."""
    import re

    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1"', response.content.decode())


def client_for(account, host: str = "hocba.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(account, backend="django.contrib.auth.backends.ModelBackend")
    return client


# --- servers started by tests (browser, race): a throwaway database and a free port -------------


def database_url_named(url: str, name: str) -> str:
    from urllib.parse import urlparse, urlunparse

    return urlunparse(urlparse(url)._replace(path="/" + name))


def admin_connection(url: str):
    """An autocommit connection to the server's maintenance database (create/drop test databases)."""
    import psycopg

    return psycopg.connect(database_url_named(url, "postgres"), autocommit=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_database_url() -> str:
    """The test server: DATABASE_URL as configured, or as set by hocba.dev.services when settings load."""
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from django.conf import settings

        settings.DATABASES  # noqa: B018 - loading the settings starts the embedded server and sets DATABASE_URL
        url = os.environ.get("DATABASE_URL", "")
    assert url, "no DATABASE_URL and no embedded PostgreSQL"
    return url


@contextmanager
def as_owner() -> Iterator:
    """Everything on "default" runs on the owner's connection meanwhile (the owner's uncommitted changes — tampering
    a test makes, rolled back with the test's transaction — are what the code under test then reads)."""
    default, owner = connections["default"], connections["owner"]
    connections._connections.default = owner
    try:
        yield owner
    finally:
        owner.set_schema_to_public()
        connections._connections.default = default


# --- committed work on a connection of its own -------------------------------------------------------------------


def in_thread(fn, *args):
    """Run ``fn`` on a connection of its own (autocommit: each statement committed), in a thread; returns (thread,
    results): ``results["value"]`` or ``results["error"]`` once the thread has ended."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # reported to the test
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def run_in_thread(fn, *args, timeout: float = 30):
    """``fn(*args)`` on a connection of its own (see :func:`in_thread`), waited for; its value."""
    thread, result = in_thread(fn, *args)
    thread.join(timeout)
    assert not thread.is_alive() and "error" not in result, result
    return result.get("value")
