"""The operators' admin: superusers with TOTP only, signed in through allauth (rate limits, the second factor),
read-only for every model any app registers, and answering on the platform site (no tenant there)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tenants.models import Account
from tests.support import client_for, give_totp

OPERATOR_PASSWORD = "mat-khau-van-hanh-2026"


@pytest.fixture
def operator(w):
    account = Account.objects.create_superuser("van.hanh", "van.hanh@example.vn", OPERATOR_PASSWORD)
    give_totp(account)
    return account


def _admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args, urlconf="hocba.urls_public")


def _urls(model, obj):
    info = f"{model._meta.app_label}_{model._meta.model_name}"
    urls = {"add": _admin_url(f"{info}_add")}
    if obj is not None:
        urls["change"] = _admin_url(f"{info}_change", obj.pk)
        urls["delete"] = _admin_url(f"{info}_delete", obj.pk)
    return urls


def test_every_registered_model_is_read_only_for_the_operator(w, operator):
    client = client_for(operator)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "addlink" not in index.content.decode() and "changelink" not in index.content.decode()
    registry = admin.site._registry
    # The models other apps register are there, read-only too: tokens, authenticators, e-mail addresses, groups.
    labels = {m._meta.label for m in registry}
    assert {"mfa.Authenticator", "account.EmailAddress", "auth.Group", "tenants.ApiToken"} <= labels
    assert "authtoken.Token" not in labels
    for model in registry:
        changelist = _admin_url(f"{model._meta.app_label}_{model._meta.model_name}_changelist")
        page = client.get(changelist)
        assert page.status_code == 200, model
        assert "addlink" not in page.content.decode(), model
        obj = model._default_manager.first()
        # Bulk actions (delete_selected, allauth's own) are gone; a crafted POST changes nothing.
        bulk = {"action": "delete_selected", "_selected_action": [obj.pk if obj else 0], "post": "yes"}
        assert client.post(changelist, bulk).status_code == 403, model
        urls = _urls(model, obj)
        assert client.get(urls["add"]).status_code == 403, model
        assert client.post(urls["add"], {}).status_code == 403, model
        if obj is None:
            continue
        view = client.get(urls["change"])
        assert view.status_code == 200, model
        assert 'name="_save"' not in view.content.decode() and "deletelink" not in view.content.decode(), model
        assert client.post(urls["change"], {}).status_code == 403, model
        assert client.get(urls["delete"]).status_code == 403, model
        assert client.post(urls["delete"], {"post": "yes"}).status_code == 403, model
        assert model._default_manager.filter(pk=obj.pk).exists(), model


def test_the_authenticators_and_accounts_survive_a_crafted_delete(w, operator):
    from allauth.mfa.models import Authenticator

    client = client_for(operator)
    totp = Authenticator.objects.get(user_id=w.accounts["principal_a"], type="totp")
    assert client.post(f"/admin/mfa/authenticator/{totp.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/auth/group/add/", {"name": "nhom"}).status_code == 403
    assert Authenticator.objects.filter(pk=totp.pk).exists()
    # Neither the TOTP secret (even encrypted) nor a password hash is shown.
    shown = client.get(f"/admin/mfa/authenticator/{totp.pk}/change/").content.decode()
    assert totp.data["secret"] not in shown and "fernet:" not in shown
    account = client.get(f"/admin/tenants/account/{w.accounts['principal_a']}/change/").content.decode()
    assert w.account("principal_a").password not in account and "pbkdf2" not in account
    # Signing out is the one POST the admin takes.
    assert client.post("/admin/logout/").status_code in (200, 302) and "_auth_user_id" not in client.session


def test_an_operator_without_totp_is_sent_to_set_it_up(w):
    account = Account.objects.create_superuser("van.hanh.2", "vh2@example.vn", OPERATOR_PASSWORD)
    response = client_for(account).get("/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_the_admin_signs_in_through_allauth_with_the_second_factor(w, operator):
    cache.clear()
    client = Client(HTTP_HOST="hocba.localhost")
    form = client.get("/admin/login/?next=/admin/")
    assert form.status_code == 200 and 'name="login"' in form.content.decode()
    response = client.post("/admin/login/?next=/admin/", {"login": "van.hanh", "password": OPERATOR_PASSWORD})
    # The password alone does not sign the operator in: allauth asks for the TOTP code next.
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session
    cache.clear()


def test_admin_login_failures_are_rate_limited(w, operator):
    cache.clear()
    client = Client(HTTP_HOST="hocba.localhost")
    statuses = [
        client.post("/admin/login/", {"login": "van.hanh", "password": f"sai-{i}"}).status_code for i in range(8)
    ]
    assert all(s in (200, 429) for s in statuses) and "_auth_user_id" not in client.session
    # Even the right password is refused now (allauth's login_failed limit, in the cache).
    refused = client.post("/admin/login/", {"login": "van.hanh", "password": OPERATOR_PASSWORD})
    assert refused.status_code in (200, 429) and "mfa_authenticate" not in refused.get("Location", "")
    # Django's own admin form fields do nothing here either.
    legacy = client.post("/admin/login/", {"username": "van.hanh", "password": OPERATOR_PASSWORD})
    assert legacy.status_code in (200, 429) and "_auth_user_id" not in client.session
    cache.clear()
    accepted = client.post("/admin/login/", {"login": "van.hanh", "password": OPERATOR_PASSWORD})
    assert accepted.status_code == 302 and accepted["Location"].startswith(reverse("mfa_authenticate"))
    cache.clear()


def test_the_admin_refuses_everyone_but_operators(login):
    assert login("province_admin").get("/admin/login/").status_code == 403
    assert login("teacher_a").get("/admin/mfa/authenticator/").status_code == 302
