"""Every endpoint declares its capability; no role of another scope ever sees a foreign school."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from hocba.kernel.permissions import declared_capability

from tenants.models import PlatformAuditEntry
from tests.support import ACCOUNTS, client_for

OWN_MODULES = ("tenants.", "hocba.", "schools.", "reporting.")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


@pytest.mark.parametrize("urlconf", ["hocba.urls_public", "hocba.urls_school"])
def test_every_own_endpoint_declares_a_capability(urlconf):
    checked = 0
    for _route, callback in _walk(get_resolver(urlconf).url_patterns):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is None or not view_class.__module__.startswith(OWN_MODULES):
            continue
        declared_capability(view_class())
        checked += 1
    assert checked >= 10


# Roles whose scope does not cover school B (province staff, unit B and school B do).
OUTSIDERS = [name for name, _role, scope in ACCOUNTS if scope in ("unit_a", "school_a")]

# School B's pages, APIs and ids, asked for by these roles: tests/schools/test_foreign_school.py.


@pytest.mark.parametrize("name", OUTSIDERS)
def test_lists_never_include_the_foreign_school(w, name):
    for path in ("/api/v1/schools/", "/api/v1/memberships/", "/api/v1/accounts/", "/manage/schools/"):
        response = client_for(w.account(name), "hocba.localhost").get(path)
        body = response.content.decode()
        assert "Bình Minh" not in body and "teacher_b" not in body, (name, path)


@pytest.mark.parametrize("name", OUTSIDERS)
def test_foreign_grants_are_refused(w, name):
    client = client_for(w.account(name), "hocba.localhost")
    response = client.post(
        "/api/v1/memberships/",
        {"account_id": w.accounts[name], "role": "subject_teacher", "school_id": w.school_b},
        content_type="application/json",
    )
    assert response.status_code in (403, 404)


def test_platform_audit_is_append_only(w):
    entry = PlatformAuditEntry.objects.first()
    assert entry is not None
    for statement in (
        "UPDATE tenants_platformauditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM tenants_platformauditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE tenants_platformauditentry CASCADE")


def test_audit_rows_carry_who_when_where(w):

    client = client_for(w.account("unit_a_admin"), "hocba.localhost")
    client.post(
        f"/manage/school/{w.school_a}/accounts/new/",
        {
            "new-full_name": "Người Mới",
            "new-username": "nguoi.moi",
            "new-password": "mot-mat-khau-dai",
            "new-role": "clerk",
        },
        REMOTE_ADDR="10.1.2.3",
    )
    rows = PlatformAuditEntry.objects.filter(actor_id=w.accounts["unit_a_admin"]).order_by("id")
    assert [r.action for r in rows] == ["account.create", "membership.grant"]
    grant = rows[1]
    assert grant.ip == "10.1.2.3" and grant.source == "web" and grant.request_id and grant.role == "unit_admin"
    assert grant.after["role"] == "clerk" and grant.school_id == w.school_a


def test_login_failures_are_rate_limited_in_redis(w, settings):
    import redis
    from django.core.cache import cache
    from django.test import Client

    from tests.support import PASSWORD

    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    cache.clear()
    client = Client(HTTP_HOST="hocba.localhost")
    for _ in range(5):
        assert client.post("/accounts/login/", {"login": "teacher_a", "password": "sai-mat-khau"}).status_code == 200
    keys = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).keys("*rl:*")
    assert keys, "the failure counter lives in Redis"
    # Even the right password is refused now, with a message.
    response = client.post("/accounts/login/", {"login": "teacher_a", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    cache.clear()
    response = client.post("/accounts/login/", {"login": "teacher_a", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_totp_secrets_are_stored_encrypted_with_a_key_outside_the_database(w, settings):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    from tenants.demo import demo_totp_secret

    stored = Authenticator.objects.get(user_id=w.accounts["principal_a"], type="totp").data["secret"]
    secret = demo_totp_secret("principal_a")
    assert stored.startswith("fernet:") and secret not in stored
    assert get_adapter().decrypt(stored) == secret
    settings.MFA_KEY = "another-key"
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="HOCBA_MFA_KEY"):
        get_adapter().decrypt(stored)
