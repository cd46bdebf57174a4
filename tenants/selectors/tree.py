"""The unit tree on a day, where schools sit in it, and the schools as plain data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from hocba.kernel.levels import LEVEL_LABELS
from hocba.kernel.text import fold

from ..models import (
    School,
    SchoolPlacement,
    UnitKind,
    UnitVersion,
)
from .arrays import array_literal


def today() -> dt.date:
    return timezone.localdate()


@dataclass(frozen=True)
class UnitNode:
    id: int
    kind: str
    name: str
    official_code: str
    parent_id: int | None

    @property
    def kind_label(self) -> str:
        """The kind as people read it (“Xã (Phòng Văn hóa – Xã hội)”), in the page's language."""
        return str(UnitKind(self.kind).label) if self.kind in UnitKind.values else self.kind


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

    @property
    def level_labels(self) -> list[str]:
        """The levels as people read them (Tiểu học, THCS, THPT), in the page's language."""
        return [str(LEVEL_LABELS.get(level, level)) for level in self.levels]


# The placements in force on a day (``PeriodQuerySet.on``), as (school, unit) pairs; parameters: the day twice (then,
# with ``_IN_UNITS``, the units as one array).
_PLACEMENTS_ON_SQL = (
    f"SELECT school_id, unit_id FROM public.{SchoolPlacement._meta.db_table}"
    " WHERE valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"
)
_IN_UNITS = " AND unit_id = ANY(%s::bigint[])"


def school_placements_on(day: dt.date | None = None, *, unit_ids: Iterable[int] | None = None) -> dict[int, int]:
    """``{school_id: unit_id}`` for the placements in force on ``day``. Read on every request of unit and province
    staff (their access profile): a plain statement, the units as one array (through the ORM, building the query and
    the rows cost twice the query for a province's 3,000 schools)."""
    day = day or today()
    with connection.cursor() as cursor:
        if unit_ids is None:
            cursor.execute(_PLACEMENTS_ON_SQL, [day, day])
        else:
            cursor.execute(_PLACEMENTS_ON_SQL + _IN_UNITS, [day, day, array_literal(unit_ids)])
        return dict(cursor.fetchall())


def unit_overseeing(school_id: int, day: dt.date) -> UnitNode | None:
    """Which unit oversaw the school on ``day`` (the answer history must keep)."""
    placement = SchoolPlacement.objects.on(day).filter(school_id=school_id).values_list("unit_id", flat=True).first()
    if placement is None:
        return None
    version = UnitVersion.objects.on(day).filter(unit_id=placement).select_related("unit").first()
    if version is None:
        return None
    return UnitNode(version.unit_id, version.unit.kind, version.name, version.official_code, version.parent_id)


def unit_ids_matching(text: str, day: dt.date | None = None) -> set[int]:
    """The units whose name on ``day`` contains ``text`` or whose official code starts with it — accents and case
    ignored ("tan an" finds "Phường Tân An")."""
    return set(
        UnitVersion.objects.on(day or today())
        .filter(Q(search_name__contains=fold(text)) | Q(official_code__istartswith=text.strip()))
        .values_list("unit_id", flat=True)
    )


def school_list(
    *, school_ids: Iterable[int] | None = None, day: dt.date | None = None, search: str = ""
) -> list[SchoolInfo]:
    """The schools (of ``school_ids`` when given); ``search`` keeps those whose name, MoET code or address contains
    it, or whose unit's name on ``day`` does — accents and case ignored ("nguyen du" finds "Nguyễn Du")."""
    day = day or today()
    qs = School.objects.exclude(schema_name="public").prefetch_related("domains")
    if school_ids is not None:
        qs = qs.filter(id__in=list(school_ids))
    if search.strip():
        folded = fold(search)
        units = UnitVersion.objects.on(day).filter(search_name__contains=folded).values("unit_id")
        placed = SchoolPlacement.objects.on(day).filter(unit_id__in=units).values("school_id")
        qs = qs.filter(
            Q(search_name__contains=folded)
            | Q(moet_code__icontains=search.strip())
            | Q(slug__icontains=search.strip())
            | Q(id__in=placed)
        )
    placements = dict(SchoolPlacement.objects.on(day).filter(school__in=qs).values_list("school_id", "unit_id"))
    out = []
    for s in qs.order_by("name"):
        domains = [d for d in s.domains.all() if d.is_primary] or list(s.domains.all())
        out.append(
            SchoolInfo(
                s.id,
                s.schema_name,
                s.moet_code,
                s.name,
                s.slug,
                tuple(s.levels),
                s.status,
                placements.get(s.id),
                domains[0].domain if domains else "",
            )
        )
    return out
