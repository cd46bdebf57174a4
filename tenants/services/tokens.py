"""API tokens: issued by an account for itself, revoked by it. The key is shown once and stored as a SHA-256
digest; a token of an administrative role (one that needs TOTP) needs the account's TOTP to be issued — the page
also asks for a fresh re-authentication (allauth's) before calling :func:`api_token_issue`."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed, NotFound

from ..models import Account, ApiToken
from ..models.tokens import PREFIX_LENGTH, TOKEN_MARK
from ..selectors import TokenScopeChoice, account_has_totp, api_token_get, api_token_scopes
from .audit import audit_record


def _token_dict(token: ApiToken) -> dict:
    return {
        "name": token.name,
        "prefix": token.prefix,
        "school_id": token.school_id,
        "unit_id": token.unit_id,
        "may_write": token.may_write,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def api_token_scope_for(*, actor: Account, scope: str) -> TokenScopeChoice:
    for choice in api_token_scopes(actor):
        if choice.key == scope:
            return choice
    raise DomainError("api_tokens.bad_scope", _("Chọn một trường hoặc đơn vị nơi bạn đang có vai trò."), field="scope")


@transaction.atomic
def api_token_issue(*, actor: Account, name: str, scope: str, may_write: bool, days: int) -> tuple[ApiToken, str]:
    """A new token and its key (shown once, never stored). ``scope`` is ``school:<id>`` or ``unit:<id>``."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(
            "api_tokens.bad_name", _("Đặt cho mã truy cập một tên gợi nhớ (tối đa 100 ký tự)."), field="name"
        )
    max_days = settings.API_TOKEN_MAX_DAYS
    if not isinstance(days, int) or not 1 <= days <= max_days:
        raise DomainError(
            "api_tokens.bad_lifetime",
            _("Thời hạn phải từ 1 đến %(max)s ngày."),
            params={"max": max_days},
            field="days",
        )
    choice = api_token_scope_for(actor=actor, scope=scope)
    if (choice.mfa_required or actor.is_superuser) and not account_has_totp(account_id=actor.pk):
        raise NotAllowed(
            "api_tokens.mfa_required",
            _("Vai trò quản trị cần bật xác thực hai lớp (TOTP) trước khi tạo mã truy cập."),
        )
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{TOKEN_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    token = ApiToken.objects.create(
        account=actor,
        name=name,
        prefix=prefix,
        digest=hashlib.sha256(key.encode()).hexdigest(),
        school_id=choice.school_id,
        unit_id=choice.unit_id,
        may_write=bool(may_write),
        expires_at=now + dt.timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="api_token.issue",
        obj=token,
        after=_token_dict(token),
        unit_id=token.unit_id,
        school_id=token.school_id,
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: Account, token_id: int) -> ApiToken:
    """The account's own token stops working at once (the next request is refused)."""
    token = api_token_get(account_id=actor.pk, token_id=token_id)
    if token is None:
        raise NotFound("api_tokens.not_found", _("Không tìm thấy mã truy cập này."))
    if token.revoked_at is not None:
        raise DomainError("api_tokens.already_revoked", _("Mã truy cập này đã được thu hồi."))
    before = _token_dict(token)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_token.revoke",
        obj=token,
        before=before,
        after=_token_dict(token),
        unit_id=token.unit_id,
        school_id=token.school_id,
    )
    return token
