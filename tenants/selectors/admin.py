"""Reads for the administration pages and API of the public side: these may return model instances, which the
public services take; per-school code never calls them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from ..models import (
    Account,
    AdministrativeUnit,
    Membership,
    School,
    SchoolPlacement,
    UnitVersion,
)
from .access import Access
from .accounts import (
    MembershipInfo,
    _membership_info,
)
from .tree import (
    today,
)


def unit_get(*, unit_id: int) -> AdministrativeUnit | None:
    return AdministrativeUnit.objects.filter(pk=unit_id).first()


def school_get(*, school_id: int) -> School | None:
    return School.objects.filter(pk=school_id).first()


def account_get(*, account_id: int) -> Account | None:
    return Account.objects.filter(pk=account_id).first()


def account_find(*, login: str) -> Account | None:
    """The account whose username, or non-empty email, is ``login`` (case ignored)."""
    return Account.objects.filter(Q(username__iexact=login) | (Q(email__iexact=login) & ~Q(email=""))).first()


def membership_get(*, membership_id: int) -> Membership | None:
    return Membership.objects.filter(pk=membership_id).first()


def unit_in_scope(access: Access, *, unit_id: int, capability: str) -> bool:
    """May ``access`` use ``capability`` in the unit: a grant on it or on a unit above it, on the access's day?"""
    return access.has_in_unit(capability, unit_id)


def school_in_scope(access: Access, *, school_id: int, capability: str) -> bool:
    """May ``access`` use ``capability`` at the school: a grant in the school itself, or on a unit that
    oversees it on the access's day?"""
    return access.has_in_school(capability, school_id)


def scope_ids(access: Access, *, capability: str, school_id: int | None = None) -> tuple[set[int], set[int]]:
    """(school ids, unit ids) where ``capability`` holds; on a school's own site (``school_id``) only that school."""
    schools = access.schools_with(capability)
    if school_id is not None:
        return schools & {school_id}, set()
    return schools, access.units_with(capability)


def unit_names_latest(*, unit_ids: Iterable[int]) -> dict[int, str]:
    """Each unit's name in its latest version: a unit closed or merged away keeps the name it last had."""
    return dict(
        UnitVersion.objects.filter(unit_id__in=list(unit_ids))
        .order_by("unit_id", "-valid_from")
        .distinct("unit_id")
        .values_list("unit_id", "name")
    )


@dataclass(frozen=True)
class UnitVersionInfo:
    name: str
    official_code: str
    parent_id: int | None
    valid_from: dt.date
    valid_to: dt.date | None


def unit_versions(*, unit_id: int) -> list[UnitVersionInfo]:
    """A unit's history of names, codes and parents, oldest first."""
    rows = (
        UnitVersion.objects.filter(unit_id=unit_id)
        .order_by("valid_from")
        .values_list("name", "official_code", "parent_id", "valid_from", "valid_to")
    )
    return [UnitVersionInfo(*r) for r in rows]


@dataclass(frozen=True)
class PlacementPeriod:
    """A stretch of time during which one unit oversaw a school (``valid_to`` None: still does)."""

    unit_id: int
    unit_name: str
    valid_from: dt.date
    valid_to: dt.date | None


def school_placement_history(*, school_id: int) -> list[PlacementPeriod]:
    """Which units oversaw the school, from when to when, oldest first; two queries."""
    rows = list(
        SchoolPlacement.objects.filter(school_id=school_id)
        .order_by("valid_from")
        .values_list("unit_id", "valid_from", "valid_to")
    )
    names = unit_names_latest(unit_ids=[unit_id for unit_id, _, _ in rows])
    return [
        PlacementPeriod(unit_id, names.get(unit_id, ""), valid_from, valid_to) for unit_id, valid_from, valid_to in rows
    ]


def unit_school_placements(*, unit_id: int) -> list[SchoolPlacement]:
    """Every school the unit has overseen, latest placement first, with the school."""
    return list(
        SchoolPlacement.objects.filter(unit_id=unit_id).select_related("school").order_by("-valid_from", "school__name")
    )


def account_memberships(*, account_id: int, day: dt.date | None = None) -> list[MembershipInfo]:
    """One account's memberships in force on ``day``."""
    rows = Membership.objects.on(day or today()).filter(account_id=account_id).select_related("account")
    return [_membership_info(m) for m in rows]
