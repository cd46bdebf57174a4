"""Who is signing in: allauth adapters (TOTP secrets encrypted with a key kept outside the database; bilingual
messages) and API token authentication.

API tokens: DRF's, with the token's account — and its memberships in force — read in one plain query. Every API
call authenticates; building DRF's ``Token.objects.select_related("user").get(key=...)`` through the ORM cost more
than the query itself. The answer is DRF's own; the refusals are in Vietnamese and English."""

from __future__ import annotations

import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .selectors import MEMBERSHIPS_ON_SQL, today


def _fernet() -> Fernet:
    key = settings.MFA_KEY
    if not key:
        raise ImproperlyConfigured("HOCBA_MFA_KEY is not set: TOTP secrets cannot be stored")
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except ValueError:
        # Any passphrase is accepted and stretched into a Fernet key.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return "fernet:" + _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith("fernet:"):
            raise ImproperlyConfigured("an MFA secret is stored unencrypted")
        try:
            return _fernet().decrypt(encrypted_text.removeprefix("fernet:").encode()).decode()
        except InvalidToken as exc:
            raise ImproperlyConfigured("HOCBA_MFA_KEY does not decrypt the stored MFA secrets") from exc


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts are created by the administrators of a scope, never by self-registration.
        return False

    def get_login_redirect_url(self, request) -> str:
        return reverse("home")


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        user_model = get_user_model()
        columns = ", ".join(f"u.{f.column}" for f in user_model._meta.concrete_fields)  # named: a prepared statement
        day = today()
        # The account and, in the same statement, its memberships in force today (what every request then checks).
        found = list(
            user_model.objects.raw(
                f"SELECT {columns}, {MEMBERSHIPS_ON_SQL.replace('%s', 'u.id', 1)} AS hocba_memberships"
                f" FROM public.{user_model._meta.db_table} u JOIN public.{Token._meta.db_table} t ON t.user_id = u.id"
                " WHERE t.key = %s",
                [day, day, key],
            )
        )
        if not found:
            raise exceptions.AuthenticationFailed(_("Mã truy cập (token) không hợp lệ."))
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("Tài khoản đã bị khóa hoặc không còn."))
        user.memberships_on = (day, user.hocba_memberships)
        return user, Token(key=key, user=user)
