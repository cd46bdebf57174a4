"""Reads of the public schema: the unit tree on a day, placements, and who may do what where.

Every function per-school code calls returns plain frozen dataclasses, so it never holds public model
instances, and a request issues a constant number of queries whatever the size of the tree. The reads
for the administration pages and API (at the end) may return model instances: public services take them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from hocba.kernel.roles import GRANTABLE_ROLES, MFA_REQUIRED_ROLES, ROLE_CAPABILITIES, Role, Tier

from .models import (
    Account,
    AdministrativeUnit,
    Membership,
    PlatformAuditEntry,
    School,
    SchoolPlacement,
    UnitVersion,
)


def today() -> dt.date:
    return timezone.localdate()


@dataclass(frozen=True)
class UnitNode:
    id: int
    kind: str
    name: str
    official_code: str
    parent_id: int | None


@dataclass(frozen=True)
class UnitTree:
    """The units in force on ``day`` with their parents."""

    day: dt.date
    nodes: dict[int, UnitNode]
    children: dict[int | None, tuple[int, ...]]

    def ancestors(self, unit_id: int) -> list[int]:
        chain, seen = [], set()
        node = self.nodes.get(unit_id)
        while node is not None and node.parent_id is not None and node.parent_id not in seen:
            seen.add(node.parent_id)
            chain.append(node.parent_id)
            node = self.nodes.get(node.parent_id)
        return chain

    def descendants(self, unit_id: int) -> set[int]:
        out, stack = {unit_id}, [unit_id]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return out

    def path(self, unit_id: int) -> list[UnitNode]:
        return [self.nodes[u] for u in reversed([unit_id, *self.ancestors(unit_id)]) if u in self.nodes]

    def roots(self) -> list[UnitNode]:
        return [self.nodes[u] for u in self.children.get(None, ())]


def unit_tree_on(day: dt.date | None = None) -> UnitTree:
    day = day or today()
    rows = (
        UnitVersion.objects.on(day)
        .select_related("unit")
        .values_list("unit_id", "unit__kind", "name", "official_code", "parent_id")
    )
    nodes = {r[0]: UnitNode(*r) for r in rows}
    children: dict[int | None, list[int]] = defaultdict(list)
    for node in sorted(nodes.values(), key=lambda n: n.name):
        parent = node.parent_id if node.parent_id in nodes else None
        children[parent].append(node.id)
    return UnitTree(day=day, nodes=nodes, children={k: tuple(v) for k, v in children.items()})


@dataclass(frozen=True)
class SchoolInfo:
    id: int
    schema_name: str
    moet_code: str
    name: str
    slug: str
    levels: tuple[str, ...]
    status: str
    unit_id: int | None
    domain: str


def school_placements_on(day: dt.date | None = None, *, unit_ids: Iterable[int] | None = None) -> dict[int, int]:
    """``{school_id: unit_id}`` for the placements in force on ``day``."""
    qs = SchoolPlacement.objects.on(day or today())
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=list(unit_ids))
    return dict(qs.values_list("school_id", "unit_id"))


def unit_overseeing(school_id: int, day: dt.date) -> UnitNode | None:
    """Which unit oversaw the school on ``day`` (the answer history must keep)."""
    placement = SchoolPlacement.objects.on(day).filter(school_id=school_id).values_list("unit_id", flat=True).first()
    if placement is None:
        return None
    version = UnitVersion.objects.on(day).filter(unit_id=placement).select_related("unit").first()
    if version is None:
        return None
    return UnitNode(version.unit_id, version.unit.kind, version.name, version.official_code, version.parent_id)


def school_list(*, school_ids: Iterable[int] | None = None, day: dt.date | None = None) -> list[SchoolInfo]:
    day = day or today()
    qs = School.objects.exclude(schema_name="public").prefetch_related("domains")
    if school_ids is not None:
        qs = qs.filter(id__in=list(school_ids))
    placements = dict(
        SchoolPlacement.objects.on(day).filter(school__in=qs).values_list("school_id", "unit_id")
    )
    out = []
    for s in qs.order_by("name"):
        domains = [d for d in s.domains.all() if d.is_primary] or list(s.domains.all())
        out.append(
            SchoolInfo(
                s.id, s.schema_name, s.moet_code, s.name, s.slug, tuple(s.levels), s.status,
                placements.get(s.id), domains[0].domain if domains else "",
            )
        )
    return out


@dataclass(frozen=True)
class Grant:
    membership_id: int
    role: Role
    unit_id: int | None
    school_id: int | None


@dataclass(frozen=True)
class Access:
    """What one account may do on one day: its memberships resolved against the unit tree."""

    account_id: int | None
    day: dt.date
    grants: tuple[Grant, ...]
    tree: UnitTree | None = None
    placements: dict[int, int] = field(default_factory=dict)

    @property
    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    @property
    def mfa_required(self) -> bool:
        return bool(self.roles & MFA_REQUIRED_ROLES)

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
        return school_id in self.schools_with(capability)

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
    if not any(g.unit_id for g in grants):
        return Access(account.pk, day, grants)
    tree = unit_tree_on(day)
    unit_ids: set[int] = set()
    for g in grants:
        if g.unit_id:
            unit_ids |= tree.descendants(g.unit_id)
    return Access(account.pk, day, grants, tree, school_placements_on(day, unit_ids=unit_ids))


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


def membership_list(*, school_ids: Iterable[int] = (), unit_ids: Iterable[int] = (), day: dt.date | None = None,
                    include_ended: bool = False) -> list[MembershipInfo]:
    qs = Membership.objects.filter(Q(school_id__in=list(school_ids)) | Q(unit_id__in=list(unit_ids)))
    if not include_ended:
        qs = qs.on(day or today())
    rows = qs.select_related("account").order_by("account__full_name", "role")
    return [_membership_info(m) for m in rows]


def _membership_info(m: Membership) -> MembershipInfo:
    return MembershipInfo(
        m.id, m.account_id, m.account.username, m.account.full_name, m.account.email, Role(m.role),
        m.unit_id, m.school_id, m.valid_from, m.valid_to,
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
        Membership.objects.on(day or today()).filter(school_id=school_id, role__in=list(roles))
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


# --- the administration pages and API (public side only: some return model instances) ------------


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
        UnitVersion.objects.filter(unit_id__in=list(unit_ids)).order_by("unit_id", "-valid_from").distinct("unit_id")
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
    rows = UnitVersion.objects.filter(unit_id=unit_id).order_by("valid_from").values_list(
        "name", "official_code", "parent_id", "valid_from", "valid_to")
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
        SchoolPlacement.objects.filter(school_id=school_id).order_by("valid_from").values_list("unit_id", "valid_from", "valid_to")
    )
    names = unit_names_latest(unit_ids=[unit_id for unit_id, _, _ in rows])
    return [PlacementPeriod(unit_id, names.get(unit_id, ""), valid_from, valid_to) for unit_id, valid_from, valid_to in rows]


def unit_school_placements(*, unit_id: int) -> list[SchoolPlacement]:
    """Every school the unit has overseen, latest placement first, with the school."""
    return list(
        SchoolPlacement.objects.filter(unit_id=unit_id).select_related("school").order_by("-valid_from", "school__name")
    )


def account_memberships(*, account_id: int, day: dt.date | None = None) -> list[MembershipInfo]:
    """One account's memberships in force on ``day``."""
    rows = Membership.objects.on(day or today()).filter(account_id=account_id).select_related("account")
    return [_membership_info(m) for m in rows]


def audit_entry_list(access: Access, *, school_id: int | None = None, limit: int = 200) -> list[PlatformAuditEntry]:
    """The latest platform audit entries the requester may read: on a school's own site (``school_id``) that
    school's; elsewhere those of the units and schools where ``audit.view`` holds."""
    if school_id is not None:
        scope = Q(school_id=school_id)
    else:
        scope = Q(unit_id__in=access.units_with("audit.view")) | Q(school_id__in=access.schools_with("audit.view"))
    return list(PlatformAuditEntry.objects.filter(scope).select_related("actor")[:limit])
