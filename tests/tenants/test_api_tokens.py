"""HọcBạ's API tokens: issued by the account on its pages (the key shown once, stored hashed), scoped to one school
or unit, read or write, expiring, revocable at once — and every token request passes the session's checks."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import Account, ApiToken, Membership, PlatformAuditEntry
from tests.support import DAY, PASSWORD, SCHOOL_A_HOST, SCHOOL_B_HOST, api_token_for, client_for, give_totp


@pytest.fixture(autouse=True)
def _public_schema_after():
    """A request on a school's address leaves the connection in its schema; the next test starts in public."""
    yield
    connection.set_schema_to_public()


def _api(key: str, host: str = SCHOOL_A_HOST) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _issue_on_page(client, scope: str, mode: str = "read", days: int = 30, name: str = "Phần mềm điểm"):
    return client.post("/accounts/tokens/", {"name": name, "scope": scope, "mode": mode, "days": days})


def test_the_page_shows_the_key_once_and_stores_only_its_digest(w):
    teacher = w.account("teacher_a")
    client = client_for(teacher)
    page = client.get("/accounts/tokens/")
    assert page.status_code == 200 and f'value="school:{w.school_a}"' in page.content.decode()
    response = _issue_on_page(client, f"school:{w.school_a}")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(account=teacher)
    key = response.context["key"]
    assert key.startswith(f"hb_{token.prefix}_") and key in response.content.decode()
    assert token.digest == hashlib.sha256(key.encode()).hexdigest() and not token.may_write
    assert token.school_id == w.school_a and token.unit_id is None
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    # At rest: the row holds no part of the secret beyond the prefix.
    secret = key.removeprefix(f"hb_{token.prefix}_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM public.tenants_apitoken t WHERE id = %s", [token.pk])
        row = cursor.fetchone()[0]
    assert secret not in row and key not in row
    # Listed afterwards, by its prefix only.
    listed = client.get("/accounts/tokens/").content.decode()
    assert key not in listed and secret not in listed and f"hb_{token.prefix}_…" in listed and "Phần mềm điểm" in listed
    entry = PlatformAuditEntry.objects.get(action="api_token.issue", object_id=str(token.pk))
    assert entry.actor_id == teacher.pk and entry.school_id == w.school_a and "digest" not in entry.after
    # The key works, on its school's API.
    assert _api(key).get("/api/v1/me/").status_code == 200


def test_bad_input_changes_nothing(w):
    client = client_for(w.account("teacher_a"))
    for data in (
        {"name": "x", "scope": f"school:{w.school_b}", "mode": "read", "days": 30},  # not the account's school
        {"name": "x", "scope": f"school:{w.school_a}", "mode": "read", "days": 10_000},  # beyond the maximum
        {"name": "", "scope": f"school:{w.school_a}", "mode": "read", "days": 30},
        {"name": "x", "scope": "school:abc", "mode": "admin", "days": "soon"},
    ):
        assert client.post("/accounts/tokens/", data).status_code == 400, data
    assert not ApiToken.objects.exists()


def test_revoking_is_immediate(w):
    teacher = w.account("teacher_a")
    key = api_token_for(teacher, f"school:{w.school_a}", write=False)
    api = _api(key)
    assert api.get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get(account=teacher)
    # Another account cannot revoke it.
    assert client_for(w.account("homeroom_a")).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    response = client_for(teacher).post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    refused = api.get("/api/v1/me/")
    assert refused.status_code in (401, 403) and refused.json()["code"] == "authentication_failed"
    assert PlatformAuditEntry.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
    listed = client_for(teacher).get("/accounts/tokens/").content.decode()
    assert "Đã thu hồi" in listed


def test_an_expired_token_is_refused(w):
    key = api_token_for(w.account("teacher_a"), f"school:{w.school_a}")
    past = timezone.now() - dt.timedelta(days=40)
    ApiToken.objects.update(created_at=past, expires_at=past + dt.timedelta(days=30))
    refused = _api(key).get("/api/v1/me/")
    assert refused.status_code in (401, 403)
    assert refused.json()["code"] == "api_tokens.expired" and refused.json()["detail_en"]


def test_a_token_for_school_a_cannot_enter_school_b(w):
    key = api_token_for(w.account("teacher_a"), f"school:{w.school_a}")
    refused = _api(key, SCHOOL_B_HOST).get("/api/v1/me/")
    assert refused.status_code == 403 and refused.json()["code"] == "schools.no_membership"
    # Nor the platform site: a school's token acts in its school only.
    platform = _api(key, "hocba.localhost").get("/api/v1/schools/")
    assert platform.status_code == 403 and platform.json()["code"] == "api_tokens.school_only"


def test_a_token_counts_only_the_roles_of_its_scope(w):
    """An account with roles in two schools: the token of school A carries no role of school B."""
    teacher = w.account("teacher_a")
    Membership.objects.create(account=teacher, role="subject_teacher", school_id=w.school_b, valid_from=DAY)
    key = api_token_for(teacher, f"school:{w.school_a}")
    assert _api(key, SCHOOL_B_HOST).get("/api/v1/me/").status_code == 403
    assert client_for(teacher, SCHOOL_B_HOST).get("/api/v1/me/").status_code == 200  # the session may


def test_a_read_token_cannot_write(w):
    admin = w.account("unit_a_admin")
    body = {
        "username": "qua.token",
        "full_name": "Qua Token",
        "password": "mat-khau-api-dai",
        "role": "subject_teacher",
        "school_id": w.school_a,
    }
    read = _api(api_token_for(admin, f"unit:{w.unit_a}", write=False), "hocba.localhost")
    assert read.get("/api/v1/schools/").status_code == 200
    refused = read.post("/api/v1/accounts/", body, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "api_tokens.read_only"
    assert not Account.objects.filter(username="qua.token").exists()
    write = _api(api_token_for(admin, f"unit:{w.unit_a}", write=True), "hocba.localhost")
    assert write.post("/api/v1/accounts/", body, format="json").status_code == 201


def test_the_membership_must_be_in_force_today(w):
    teacher = w.account("teacher_a")
    key = api_token_for(teacher, f"school:{w.school_a}")
    Membership.objects.filter(account=teacher).update(valid_to=timezone.localdate())
    assert _api(key).get("/api/v1/me/").status_code == 403


def test_a_token_of_an_administrative_role_needs_totp_to_be_used(w):
    from allauth.mfa.models import Authenticator

    admin = w.account("unit_a_admin")
    key = api_token_for(admin, f"unit:{w.unit_a}", write=False)
    Authenticator.objects.filter(user=admin).delete()
    refused = _api(key, "hocba.localhost").get("/api/v1/schools/")
    assert refused.status_code == 403 and refused.json()["code"] == "accounts.mfa_required"


def test_a_token_of_an_administrative_role_needs_totp_and_reauthentication_to_be_issued(w):
    from allauth.mfa.models import Authenticator

    principal = w.account("principal_a")
    Authenticator.objects.filter(user=principal).delete()
    client = client_for(principal)
    refused = _issue_on_page(client, f"school:{w.school_a}", mode="write")
    assert refused.status_code == 403 and not ApiToken.objects.exists()
    assert 'href="/accounts/2fa/totp/activate/"' in refused.content.decode()
    give_totp(principal)
    # With TOTP, the account must still prove itself again: allauth's re-authentication, then the request resumes.
    asked = _issue_on_page(client, f"school:{w.school_a}", mode="write")
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    assert not ApiToken.objects.exists()
    resumed = client.post(asked["Location"], {"password": PASSWORD})
    assert resumed.status_code == 200, resumed.content[:500]
    token = ApiToken.objects.get(account=principal)
    assert token.may_write and resumed.context["key"].startswith(f"hb_{token.prefix}_")
    # The service refuses too, whoever calls it.
    from hocba.kernel.errors import NotAllowed

    from tenants.services.tokens import api_token_issue

    Authenticator.objects.filter(user=principal).delete()
    try:
        api_token_issue(actor=principal, name="x", scope=f"school:{w.school_a}", may_write=False, days=1)
    except NotAllowed as exc:
        assert exc.code == "api_tokens.mfa_required"
    else:
        raise AssertionError("issued without TOTP")


def test_token_authentication_reads_account_memberships_and_totp_in_one_statement(w, queries):
    key = api_token_for(w.account("teacher_a"), f"school:{w.school_a}")
    api = _api(key)
    api.get("/api/v1/me/")
    with queries() as q:
        assert api.get("/api/v1/me/").status_code == 200
    touching = [s for s in q.statements if "tenants_membership" in s or "mfa_authenticator" in s]
    assert len(touching) == 2, touching  # the token's statement, and /me/'s own read of the memberships
    assert sum("tenants_apitoken" in s for s in q.statements) == 1


def test_old_drf_keys_no_longer_work(w):
    refused = _api("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b").get("/api/v1/me/")
    assert refused.status_code in (401, 403) and refused.json()["code"] == "authentication_failed"
