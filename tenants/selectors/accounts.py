"""Memberships, the people of a school and their names, as plain data (per-school code calls these)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from hocba.kernel.roles import Role

from ..models import (
    Account,
    AdministrativeUnit,
    Membership,
)
from .access import Access
from .tree import (
    today,
)


@dataclass(frozen=True)
class MembershipInfo:
    id: int
    account_id: int
    username: str
    full_name: str
    email: str
    role: Role
    unit_id: int | None
    school_id: int | None
    valid_from: dt.date
    valid_to: dt.date | None


def membership_list(
    *,
    school_ids: Iterable[int] = (),
    unit_ids: Iterable[int] = (),
    day: dt.date | None = None,
    include_ended: bool = False,
) -> list[MembershipInfo]:
    qs = Membership.objects.filter(Q(school_id__in=list(school_ids)) | Q(unit_id__in=list(unit_ids)))
    if not include_ended:
        qs = qs.on(day or today())
    rows = qs.select_related("account").order_by("account__full_name", "role")
    return [_membership_info(m) for m in rows]


def _membership_info(m: Membership) -> MembershipInfo:
    return MembershipInfo(
        m.id,
        m.account_id,
        m.account.username,
        m.account.full_name,
        m.account.email,
        Role(m.role),
        m.unit_id,
        m.school_id,
        m.valid_from,
        m.valid_to,
    )


def visible_unit_ids(access: Access) -> set[int]:
    return access.units_with("units.view")


def visible_school_ids(access: Access) -> set[int]:
    return access.schools_with("schools.view") | access.schools_with("school.enter")


def unit_exists(unit_id: int) -> bool:
    return AdministrativeUnit.objects.filter(pk=unit_id).exists()


def school_member_ids(school_id: int, roles: Iterable[str], day: dt.date | None = None) -> set[int]:
    """Accounts holding one of ``roles`` in the school today (for per-school code: plain ids)."""
    return set(
        Membership.objects.on(day or today())
        .filter(school_id=school_id, role__in=list(roles))
        .values_list("account_id", flat=True)
    )


def account_names(account_ids: Iterable[int]) -> dict[int, str]:
    return dict(Account.objects.filter(pk__in=list(account_ids)).values_list("pk", "full_name"))


@dataclass(frozen=True)
class AccountBrief:
    id: int
    username: str
    full_name: str


def account_briefs(account_ids: Iterable[int]) -> list[AccountBrief]:
    """Id, username and full name of each account (for per-school code), in no particular order."""
    rows = Account.objects.filter(pk__in=list(account_ids)).values("id", "username", "full_name")
    return [AccountBrief(**row) for row in rows]
