"""API tokens: the scopes an account may issue one for, its tokens, and what a token carries into a request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.mfa.models import Authenticator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.roles import MFA_REQUIRED_ROLES, Role

from ..models import Account, ApiToken, School
from .access import access_for
from .admin import unit_names_latest


@dataclass(frozen=True)
class TokenScope:
    """What a token request carries (``request.auth``): its scope and whether it may write."""

    id: int
    school_id: int | None
    unit_id: int | None
    may_write: bool

    def covers(self, unit_id: int | None, school_id: int | None) -> bool:
        """Does a membership in this unit or school count for the token?"""
        if self.school_id is not None:
            return school_id == self.school_id
        return unit_id is not None and unit_id == self.unit_id


@dataclass(frozen=True)
class TokenScopeChoice:
    """A scope the account may issue a token for: one school, or one unit, where it holds roles today."""

    key: str  # "school:<id>" or "unit:<id>", the form's value
    school_id: int | None
    unit_id: int | None
    name: str
    roles: tuple[Role, ...]

    @property
    def mfa_required(self) -> bool:
        return bool(set(self.roles) & MFA_REQUIRED_ROLES)

    @property
    def role_labels(self) -> str:
        return ", ".join(r.label for r in self.roles)


def api_token_scopes(account: Account, day: dt.date | None = None) -> list[TokenScopeChoice]:
    """One choice per school and per unit where the account holds a membership in force (a constant number of
    queries)."""
    access = access_for(account, day)
    roles: dict[tuple[str, int], list[Role]] = {}
    for g in access.grants:
        key = ("school", g.school_id) if g.school_id is not None else ("unit", g.unit_id)
        roles.setdefault(key, []).append(g.role)
    school_ids = [i for kind, i in roles if kind == "school"]
    unit_ids = [i for kind, i in roles if kind == "unit"]
    schools = dict(School.objects.filter(pk__in=school_ids).values_list("pk", "name")) if school_ids else {}
    units = unit_names_latest(unit_ids=unit_ids) if unit_ids else {}
    out = [
        TokenScopeChoice(
            key=f"{kind}:{i}",
            school_id=i if kind == "school" else None,
            unit_id=i if kind == "unit" else None,
            name=(schools if kind == "school" else units).get(i, str(i)),
            roles=tuple(sorted(set(rs), key=lambda r: r.value)),
        )
        for (kind, i), rs in roles.items()
    ]
    return sorted(out, key=lambda c: (c.unit_id is None, c.name))


@dataclass(frozen=True)
class ApiTokenInfo:
    id: int
    name: str
    prefix: str
    scope_name: str
    may_write: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"

    @property
    def state_label(self) -> str:
        return str(_TOKEN_STATES[self.state])


_TOKEN_STATES = {"active": _("Đang dùng"), "expired": _("Đã hết hạn"), "revoked": _("Đã thu hồi")}


def api_token_list(*, account_id: int) -> list[ApiTokenInfo]:
    """The account's own tokens, newest first (two queries)."""
    rows = list(ApiToken.objects.filter(account_id=account_id).select_related("school"))
    units = unit_names_latest(unit_ids={t.unit_id for t in rows if t.unit_id})
    return [
        ApiTokenInfo(
            id=t.pk,
            name=t.name,
            prefix=t.prefix,
            scope_name=t.school.name if t.school_id else units.get(t.unit_id, str(t.unit_id)),
            may_write=t.may_write,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )
        for t in rows
    ]


def api_token_get(*, account_id: int, token_id: int) -> ApiToken | None:
    return ApiToken.objects.filter(account_id=account_id, pk=token_id).first()


def account_has_totp(*, account_id: int) -> bool:
    return Authenticator.objects.filter(user_id=account_id, type=Authenticator.Type.TOTP).exists()
