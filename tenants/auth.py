"""Who is signing in: allauth adapters (TOTP secrets encrypted with a key kept outside the database; bilingual
messages) and API token authentication.

API tokens: HọcBạ's own (:mod:`tenants.services.tokens`), with the token's account, its memberships in force and
whether it has TOTP read in one plain query. Every API call authenticates; building the lookup through the ORM cost
more than the query itself. A token request then passes the checks a session passes in the middleware (membership
in the school, the second factor), narrowed to the token's scope, and a read token cannot write. The refusals are in
Vietnamese and English."""

from __future__ import annotations

import base64
import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.access import request_school
from hocba.kernel.clientip import client_ip
from rest_framework import authentication, exceptions, permissions

from .models import ApiToken
from .models.tokens import PREFIX_LENGTH, TOKEN_MARK
from .selectors import MEMBERSHIPS_ON_SQL, TokenScope, access_for, today


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

    def get_client_ip(self, request) -> str:
        # Rate limits key on the same address as the audit trail: X-Forwarded-For only from a trusted proxy.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip


class _Rendered:
    """A lazy message with its parameters, rendered in the language active when read. (Not the kernel's
    ``errors.Message``: DRF imports this module while ``hocba.kernel.errors`` is being imported.)"""

    def __init__(self, message, params: dict | None):
        self.message, self.params = message, params or {}

    def __str__(self) -> str:
        return str(self.message) % {k: str(v) for k, v in self.params.items()} if self.params else str(self.message)


class _Refused(exceptions.APIException):
    """A token refusal with a stable code and its message in both languages (the API's refusal body)."""

    def __init__(self, status_code: int, code: str, message, params: dict | None = None):
        self.status_code = status_code
        self.default_code = code
        self.default_detail = _Rendered(message, params)  # the exception handler renders it again for detail_en
        super().__init__(detail=str(self.default_detail), code=code)


def _token_parts(key: str) -> tuple[str, str] | None:
    """``hb_<prefix>_<secret>`` → (prefix, SHA-256 of the whole key), else None."""
    if not key.startswith(TOKEN_MARK) or len(key) < len(TOKEN_MARK) + PREFIX_LENGTH + 2:
        return None
    prefix = key[len(TOKEN_MARK) : len(TOKEN_MARK) + PREFIX_LENGTH]
    return prefix, hashlib.sha256(key.encode()).hexdigest()


class TokenAuthentication(authentication.TokenAuthentication):
    """HọcBạ's own tokens (:class:`tenants.models.ApiToken`): the same membership, second-factor and capability
    checks as a session, narrowed to the token's scope and mode."""

    def authenticate(self, request):
        found = super().authenticate(request)  # parses the header, then authenticate_credentials
        if found is None:
            return None
        user, token = found
        self._check(request, user, token)
        return user, token

    def authenticate_credentials(self, key):
        parts = _token_parts(key)
        if parts is None:
            raise exceptions.AuthenticationFailed(_("Mã truy cập (token) không hợp lệ."))
        user_model = get_user_model()
        columns = ", ".join(f"u.{f.column}" for f in user_model._meta.concrete_fields)  # named: a prepared statement
        day = today()
        # The account, the token and, in the same statement, the memberships in force today and whether the account
        # has TOTP (what every request then checks).
        found = list(
            user_model.objects.raw(
                f"SELECT {columns}, t.id AS hocba_token_id, t.school_id AS hocba_token_school,"
                " t.unit_id AS hocba_token_unit, t.may_write AS hocba_token_write,"
                " t.expires_at AS hocba_token_expires,"
                f" {MEMBERSHIPS_ON_SQL.replace('%s', 'u.id', 1)} AS hocba_memberships,"
                f" EXISTS (SELECT 1 FROM public.{Authenticator._meta.db_table} a WHERE a.user_id = u.id"
                f" AND a.type = 'totp') AS hocba_has_totp"
                f" FROM public.{user_model._meta.db_table} u JOIN public.{ApiToken._meta.db_table} t"
                " ON t.account_id = u.id WHERE t.prefix = %s AND t.digest = %s AND t.revoked_at IS NULL",
                [day, day, *parts],
            )
        )
        if not found:
            raise exceptions.AuthenticationFailed(_("Mã truy cập (token) không hợp lệ."))
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("Tài khoản đã bị khóa hoặc không còn."))
        if user.hocba_token_expires <= timezone.now():
            raise _Refused(401, "api_tokens.expired", _("Mã truy cập (token) đã hết hạn."))
        token = TokenScope(
            id=user.hocba_token_id,
            school_id=user.hocba_token_school,
            unit_id=user.hocba_token_unit,
            may_write=user.hocba_token_write,
        )
        # Only the memberships of the token's scope count: a school's token acts in that school only.
        user.memberships_on = (day, [m for m in user.hocba_memberships if token.covers(m[2], m[3])])
        user._hocba_has_totp = user.hocba_has_totp
        return user, token

    def _check(self, request, user, token: TokenScope) -> None:
        access = access_for(user, user.memberships_on[0])
        request._request._hocba_access = access  # the request's access profile: the token's, narrowed
        school = request_school(request._request)
        if school is not None:
            if not access.has_in_school("school.enter", school.id):
                raise _Refused(
                    403,
                    "schools.no_membership",
                    _("Tài khoản của bạn không thuộc %(school)s."),
                    {"school": school.name},
                )
        elif token.school_id is not None:
            raise _Refused(403, "api_tokens.school_only", _("Mã truy cập này chỉ dùng được ở địa chỉ của trường."))
        if not access.grants:
            raise _Refused(
                403, "api_tokens.no_membership", _("Vai trò mà mã truy cập này đại diện không còn hiệu lực.")
            )
        if access.mfa_required and not user._hocba_has_totp:
            raise _Refused(
                403,
                "accounts.mfa_required",
                _("Vai trò quản trị cần bật xác thực hai lớp (TOTP) trước khi tiếp tục."),
            )
        if not token.may_write and request.method not in permissions.SAFE_METHODS:
            raise _Refused(403, "api_tokens.read_only", _("Mã truy cập này chỉ được đọc, không được thay đổi dữ liệu."))
