"""allauth adapters: TOTP secrets encrypted with a key kept outside the database; bilingual messages."""

from __future__ import annotations

import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


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
        from django.urls import reverse

        return reverse("home")
