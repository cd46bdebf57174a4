"""Who may do what where: an account's memberships in force on a day, resolved against the unit tree (constant
queries whatever the size of the tree)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from hocba.kernel.roles import (
    GRANT_HOLDER_CAPABILITIES,
    GRANTABLE_ROLES,
    MFA_REQUIRED_ROLES,
    ROLE_CAPABILITIES,
    Role,
    Tier,
)

from ..models import (
    Account,
)
from .tree import (
    UnitTree,
    school_placements_on,
    today,
    unit_tree_on,
)


@dataclass(frozen=True)
class Grant:
    membership_id: int
    role: Role
    unit_id: int | None
    school_id: int | None


@dataclass(frozen=True)
class ReadGrant:
    """An approved read grant in force (the database clock has not passed ``until``): which records it opens."""

    grant_id: int
    school_id: int
    student_ids: frozenset[int]
    class_ids: frozenset[int]
    until: dt.datetime


@dataclass(frozen=True)
class Access:
    """What one account may do on one day: its memberships resolved against the unit tree."""

    account_id: int | None
    day: dt.date
    grants: tuple[Grant, ...]
    tree: UnitTree | None = None
    placements: dict[int, int] = field(default_factory=dict)
    superuser: bool = False  # a platform operator: no role, but the second factor like any administrator
    # Read grants in force at the school a request is for (set by ``SchoolMembershipMiddleware`` for a non-member).
    read_grants: tuple[ReadGrant, ...] = ()

    @property
    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    @property
    def mfa_required(self) -> bool:
        return self.superuser or bool(self.roles & MFA_REQUIRED_ROLES)

    @property
    def is_platform_staff(self) -> bool:
        return any(g.role.tier is not Tier.SCHOOL for g in self.grants)

    def has(self, capability: str) -> bool:
        return any(capability in ROLE_CAPABILITIES[g.role] for g in self.grants)

    def _units_of(self, grant: Grant) -> set[int]:
        if grant.unit_id is None or self.tree is None:
            return set()
        return self.tree.descendants(grant.unit_id)

    def units_with(self, capability: str) -> set[int]:
        out: set[int] = set()
        for g in self.grants:
            if capability in ROLE_CAPABILITIES[g.role]:
                out |= self._units_of(g)
        return out

    def schools_with(self, capability: str) -> set[int]:
        out: set[int] = set()
        units = self.units_with(capability)
        out |= {school for school, unit in self.placements.items() if unit in units}
        out |= {g.school_id for g in self.grants if g.school_id and capability in ROLE_CAPABILITIES[g.role]}
        return out

    def has_in_school(self, capability: str, school_id: int) -> bool:
        if capability in GRANT_HOLDER_CAPABILITIES:
            return any(g.school_id == school_id for g in self.read_grants)
        return school_id in self.schools_with(capability)

    def read_grant(self, grant_id: int, school_id: int) -> ReadGrant | None:
        return next((g for g in self.read_grants if g.grant_id == grant_id and g.school_id == school_id), None)

    def has_in_unit(self, capability: str, unit_id: int) -> bool:
        return unit_id in self.units_with(capability)

    def school_roles(self, school_id: int) -> set[Role]:
        return {g.role for g in self.grants if g.school_id == school_id}

    def grantable_roles_in_school(self, school_id: int) -> set[Role]:
        out: set[Role] = set()
        for g in self.grants:
            if "memberships.grant" not in ROLE_CAPABILITIES[g.role]:
                continue
            in_scope = g.school_id == school_id or (
                g.unit_id is not None and self.placements.get(school_id) in self._units_of(g)
            )
            if in_scope:
                out |= {r for r in GRANTABLE_ROLES.get(g.role, ()) if r.tier is Tier.SCHOOL}
        return out

    def grantable_roles_in_unit(self, unit_id: int) -> set[Role]:
        out: set[Role] = set()
        for g in self.grants:
            if "memberships.grant" in ROLE_CAPABILITIES[g.role] and unit_id in self._units_of(g):
                out |= {r for r in GRANTABLE_ROLES.get(g.role, ()) if r.tier is not Tier.SCHOOL}
        return out


# An account's memberships in force on a day, as one JSON array of [id, role, unit_id, school_id]; parameters: the
# account's id, the day, the day. A scalar expression, so that the token authentication can read it with the account.
MEMBERSHIPS_ON_SQL = (
    "(SELECT coalesce(json_agg(json_build_array(m.id, m.role, m.unit_id, m.school_id) ORDER BY m.valid_from, m.id),"
    " '[]'::json) FROM public.tenants_membership m WHERE m.account_id = %s AND m.valid_from <= %s"
    " AND (m.valid_to IS NULL OR m.valid_to > %s))"
)


def access_for(account: Account | None, day: dt.date | None = None) -> Access:
    """Three queries at most, whatever the number of memberships, units or schools."""
    day = day or today()
    if account is None or not account.is_authenticated:
        return Access(None, day, ())
    preloaded = getattr(account, "memberships_on", None)  # read with the account by API token authentication
    if preloaded is not None and preloaded[0] == day:
        rows = preloaded[1]
    else:
        # Read on every request: a plain statement (the ORM's query building cost more than the query).
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {MEMBERSHIPS_ON_SQL}", [account.pk, day, day])
            rows = cursor.fetchone()[0]
    grants = tuple(Grant(m_id, Role(role), unit_id, school_id) for m_id, role, unit_id, school_id in rows)
    superuser = bool(account.is_superuser)
    if not any(g.unit_id for g in grants):
        return Access(account.pk, day, grants, superuser=superuser)
    tree = unit_tree_on(day)
    unit_ids: set[int] = set()
    for g in grants:
        if g.unit_id:
            unit_ids |= tree.descendants(g.unit_id)
    return Access(account.pk, day, grants, tree, school_placements_on(day, unit_ids=unit_ids), superuser=superuser)
