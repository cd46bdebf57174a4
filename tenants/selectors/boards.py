"""The province and unit board: every school in the person's scope with its figures for a school year, and the
same figures summed per unit.

Public tables only, never a school's schema (DESIGN §3): the school's rollup row for the year, its open and
approved exceptions to locks, the figures copied at the year's last lock (``ComplianceSnapshot``), the drift the
last reconciliation fixed (``RollupDrift``) and the schema's state. One query for the schools' rows and one for
the years on record, whatever the number of schools; the unit tree and the placements come with the access
profile. Filters, search and sort run over the rows in memory, so a board costs the same for 2 schools as for 12.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, FilteredRelation, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_LABELS, LEVELS
from hocba.kernel.recordstates import STATES
from hocba.kernel.text import fold

from ..models import ComplianceSnapshot, ExceptionStatus, RollupDrift, School, SchoolRollup, WindowException
from .access import Access

CAPABILITY = "boards.view"
HAS_CLASSES = any(f.name == "classes" for f in SchoolRollup._meta.get_fields())

SCHEMA_OK, SCHEMA_BEHIND, SCHEMA_FAILED = "ok", "behind", "failed"
SCHEMA_LABELS = {SCHEMA_OK: _("Đúng phiên bản"), SCHEMA_BEHIND: _("Chậm phiên bản"), SCHEMA_FAILED: _("Cập nhật lỗi")}

# What a board may be sorted by: the key of the query string → the row's attribute.
SORTS = {
    "name": "name",
    "unit": "unit_name",
    "students": "students",
    "classes": "classes",
    "draft": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "signed": "signed",
    "locked": "locked",
    "records": "records",
    "approved_pct": "approved_pct",
    "signed_pct": "signed_pct",
    "requests": "open_requests",
    "exceptions": "approved_exceptions",
    "schema": "schema_rank",
    "updated": "updated_at",
    "reconciled": "reconciled_at",
    "drift": "drift",
    "lock_records": "lock_records",
    "lock_approved_pct": "lock_approved_pct",
}


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


@dataclass(frozen=True)
class SchoolRow:
    id: int
    name: str
    moet_code: str
    levels: tuple[str, ...]
    unit_id: int | None
    unit_name: str
    has_rollup: bool
    students: int
    classes: int | None  # None while the rollups do not count classes
    draft: int
    submitted: int
    approved: int
    signed: int
    locked: int
    open_requests: int
    approved_exceptions: int
    schema: str  # SCHEMA_OK / SCHEMA_BEHIND / SCHEMA_FAILED
    updated_at: dt.datetime | None
    reconciled_at: dt.datetime | None
    drift: int  # figures the last reconciliation found wrong and fixed
    lock_at: dt.datetime | None  # the year's last lock with a snapshot of the school
    lock_records: int | None
    lock_approved: int | None

    @property
    def records(self) -> int:
        return self.draft + self.submitted + self.approved + self.signed + self.locked

    @property
    def approved_pct(self) -> int:
        """Records approved or further along (signed, locked), in per cent."""
        return _pct(self.approved + self.signed + self.locked, self.records)

    @property
    def signed_pct(self) -> int:
        return _pct(self.signed + self.locked, self.records)

    @property
    def lock_approved_pct(self) -> int | None:
        return None if self.lock_records is None else _pct(self.lock_approved or 0, self.lock_records)

    @property
    def level_labels(self) -> list[str]:
        return [str(LEVEL_LABELS[lv]) for lv in self.levels if lv in LEVEL_LABELS]

    @property
    def schema_label(self) -> str:
        return str(SCHEMA_LABELS[self.schema])

    @property
    def schema_rank(self) -> int:
        return {SCHEMA_FAILED: 0, SCHEMA_BEHIND: 1, SCHEMA_OK: 2}[self.schema]


@dataclass(frozen=True)
class UnitRow:
    """The schools of one unit (the unit they are placed in today, or below it), summed."""

    id: int
    name: str
    kind_label: str
    schools: int
    students: int
    records: int
    approved_or_further: int
    signed_or_further: int
    open_requests: int
    approved_exceptions: int
    schemas_in_trouble: int

    @property
    def approved_pct(self) -> int:
        return _pct(self.approved_or_further, self.records)

    @property
    def signed_pct(self) -> int:
        return _pct(self.signed_or_further, self.records)


@dataclass(frozen=True)
class Board:
    year: int
    years: tuple[int, ...]
    units: tuple[UnitRow, ...]
    schools: tuple[SchoolRow, ...]
    unit: UnitRow | None  # the unit drilled into, if any
    has_classes: bool


@dataclass(frozen=True)
class BoardFilters:
    unit_id: int | None = None
    school_id: int | None = None
    level: str = ""
    schema: str = ""
    search: str = ""
    sort: str = "name"
    descending: bool = False


def _bad(code: str, message, **params) -> DomainError:
    return DomainError(code, message, params=params, http_status=400)


def board_filters(params, *, acc: Access) -> BoardFilters:
    """The query string checked against what exists and what the person's scope reaches: an unknown value, or a unit
    or school outside the scope, is refused with a message in both languages (no query)."""

    def number(key: str) -> int | None:
        raw = (params.get(key) or "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise _bad("board_bad_id", _("Mã “%(value)s” không hợp lệ."), value=raw[:40])
        return int(raw)

    unit_id, school_id = number("unit"), number("school")
    if unit_id is not None and unit_id not in acc.units_with(CAPABILITY):
        raise DomainError("out_of_scope", _("Đơn vị này nằm ngoài phạm vi theo dõi của bạn."), http_status=403)
    if school_id is not None and school_id not in acc.schools_with(CAPABILITY):
        raise DomainError("out_of_scope", _("Trường này nằm ngoài phạm vi theo dõi của bạn."), http_status=403)
    level = (params.get("level") or "").strip()
    if level and level not in LEVELS:
        raise _bad("board_bad_level", _("Cấp học “%(value)s” không có."), value=level[:40])
    schema = (params.get("schema") or "").strip()
    if schema and schema not in SCHEMA_LABELS:
        raise _bad("board_bad_schema", _("Trạng thái phiên bản “%(value)s” không có."), value=schema[:40])
    sort = (params.get("sort") or "name").strip()
    descending = sort.startswith("-")
    if sort.lstrip("-") not in SORTS:
        raise _bad("board_bad_sort", _("Không sắp xếp được theo “%(value)s”."), value=sort[:40])
    search = (params.get("q") or "").strip()[:100]
    return BoardFilters(unit_id, school_id, level, schema, search, sort.lstrip("-"), descending)


def board_year(raw: str | None, *, years: tuple[int, ...], default: int) -> int:
    """``?year=`` as a school year's first calendar year: one on record in the scope, or the current one."""
    raw = (raw or "").strip()
    if not raw:
        return default
    head = raw.split("-", 1)[0].split("–", 1)[0].strip()
    if not head.isdigit() or int(head) not in years:
        raise _bad("board_bad_year", _("Không có số liệu năm học “%(value)s”."), value=raw[:20])
    return int(head)


def board_years(school_ids: set[int], *, current: int) -> tuple[tuple[int, ...], int]:
    """The school years offered (those with rollups in the scope, and the current one; newest first) and the one
    shown by default: the latest with rollups up to the current one, else the current one. One query."""
    years = set(SchoolRollup.objects.filter(school_id__in=school_ids).values_list("year_start", flat=True).distinct())
    default = max((y for y in years if y <= current), default=current)
    return tuple(sorted(years | {current}, reverse=True)), default


def _school_rows(school_ids: set[int], *, year: int, head: str, acc: Access) -> list[SchoolRow]:
    """One query: each school with its rollup of the year, its exception counts, its last lock's snapshot and the
    drift its last reconciliation fixed."""
    requests = (
        WindowException.objects.filter(school_id=OuterRef("pk"), window__year_start=year)
        .values("school_id")
        .annotate(n=Count("id"))
    )
    snapshot = ComplianceSnapshot.objects.filter(school_id=OuterRef("pk"), year_start=year).order_by(
        "-locks_at", "-taken_at", "-id"
    )
    drift = (
        RollupDrift.objects.filter(
            school_id=OuterRef("pk"), year_start=year, found_at=OuterRef("this_year__reconciled_at")
        )
        .values("school_id")
        .annotate(n=Count("id"))
    )
    fields = [
        "pk",
        "name",
        "moet_code",
        "levels",
        "schema_head",
        "schema_error",
        "this_year__id",
        "this_year__students",
        *(f"this_year__records_{s}" for s in STATES),
        "this_year__updated_at",
        "this_year__reconciled_at",
        "open_requests",
        "approved_exceptions",
        "lock_at",
        "lock_figures",
        "drift",
    ]
    if HAS_CLASSES:
        fields.append("this_year__classes")
    qs = (
        School.objects.filter(pk__in=school_ids)
        .annotate(
            this_year=FilteredRelation("rollups", condition=Q(rollups__year_start=year)),
            open_requests=Coalesce(
                Subquery(requests.filter(status=ExceptionStatus.REQUESTED).values("n")[:1]),
                0,
                output_field=IntegerField(),
            ),
            approved_exceptions=Coalesce(
                Subquery(requests.filter(status=ExceptionStatus.APPROVED).values("n")[:1]),
                0,
                output_field=IntegerField(),
            ),
            lock_at=Subquery(snapshot.values("locks_at")[:1]),
            lock_figures=Subquery(snapshot.values("figures")[:1]),
            drift=Coalesce(Subquery(drift.values("n")[:1]), 0, output_field=IntegerField()),
        )
        .values(*fields)
    )
    out = []
    for r in qs:
        unit_id = acc.placements.get(r["pk"])
        node = acc.tree.nodes.get(unit_id) if acc.tree and unit_id else None
        schema = SCHEMA_FAILED if r["schema_error"] else SCHEMA_BEHIND if r["schema_head"] != head else SCHEMA_OK
        figures = r["lock_figures"] or None
        lock_records = lock_approved = None
        if figures is not None:
            recs = figures.get("records") or {}
            lock_records = int(figures.get("records_total") or 0)
            lock_approved = sum(int(recs.get(s) or 0) for s in ("approved", "signed", "locked"))
        states = {s: r[f"this_year__records_{s}"] or 0 for s in STATES}
        out.append(
            SchoolRow(
                id=r["pk"],
                name=r["name"],
                moet_code=r["moet_code"],
                levels=tuple(r["levels"] or ()),
                unit_id=unit_id,
                unit_name=node.name if node else "",
                has_rollup=r["this_year__id"] is not None,
                students=r["this_year__students"] or 0,
                classes=(r["this_year__classes"] or 0) if HAS_CLASSES else None,
                draft=states["draft"],
                submitted=states["submitted"],
                approved=states["approved"],
                signed=states["signed"],
                locked=states["locked"],
                open_requests=r["open_requests"],
                approved_exceptions=r["approved_exceptions"],
                schema=schema,
                updated_at=r["this_year__updated_at"],
                reconciled_at=r["this_year__reconciled_at"],
                drift=r["drift"],
                lock_at=r["lock_at"],
                lock_records=lock_records,
                lock_approved=lock_approved,
            )
        )
    return out


def _unit_rows(rows: list[SchoolRow], acc: Access, units: list[int]) -> tuple[UnitRow, ...]:
    """Per unit of ``units``: its schools (placed in it or below) summed. No query."""
    out = []
    for unit_id in units:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        if node is None:
            continue
        below = acc.tree.descendants(unit_id)
        mine = [r for r in rows if r.unit_id in below]
        out.append(
            UnitRow(
                id=unit_id,
                name=node.name,
                kind_label=node.kind_label,
                schools=len(mine),
                students=sum(r.students for r in mine),
                records=sum(r.records for r in mine),
                approved_or_further=sum(r.approved + r.signed + r.locked for r in mine),
                signed_or_further=sum(r.signed + r.locked for r in mine),
                open_requests=sum(r.open_requests for r in mine),
                approved_exceptions=sum(r.approved_exceptions for r in mine),
                schemas_in_trouble=sum(1 for r in mine if r.schema != SCHEMA_OK),
            )
        )
    return tuple(out)


def _sort_key(attr: str):
    def key(row: SchoolRow):
        value = getattr(row, attr)
        if value is None:
            return (1, 0, fold(row.name))
        if isinstance(value, str):
            value = fold(value)
        return (0, value, fold(row.name))

    return key


def board(acc: Access, *, year: int, years: tuple[int, ...], head: str, filters: BoardFilters) -> Board:
    """The board of the person's scope for ``year``: the units they hold ``boards.view`` in (the top ones, then one
    level down) and their schools, filtered and sorted. ``head``: the current migration head's digest (a school
    elsewhere is behind). One query."""
    scope = acc.schools_with(CAPABILITY)
    rows = _school_rows(scope, year=year, head=head, acc=acc) if scope else []
    unit = None
    # The units shown: the drilled unit's children, else the person's units' children (a province's units), else
    # the person's units themselves.
    held = [g.unit_id for g in acc.grants if g.unit_id and g.unit_id in acc.units_with(CAPABILITY)]
    top = [filters.unit_id] if filters.unit_id is not None else list(dict.fromkeys(held))
    if filters.unit_id is not None:
        unit = (_unit_rows(rows, acc, [filters.unit_id]) or (None,))[0]
    children = [c for u in top for c in (acc.tree.children.get(u, ()) if acc.tree else ())]
    units = _unit_rows(rows, acc, children or ([] if filters.unit_id is not None else top))
    if filters.unit_id is not None:
        below = acc.tree.descendants(filters.unit_id) if acc.tree else set()
        rows = [r for r in rows if r.unit_id in below]
    if filters.school_id is not None:
        rows = [r for r in rows if r.id == filters.school_id]
    if filters.level:
        rows = [r for r in rows if filters.level in r.levels]
    if filters.schema:
        rows = [r for r in rows if r.schema == filters.schema]
    if filters.search:
        folded = fold(filters.search)
        rows = [
            r for r in rows if folded in fold(r.name) or folded in r.moet_code.lower() or folded in fold(r.unit_name)
        ]
    rows.sort(key=_sort_key(SORTS[filters.sort]), reverse=filters.descending)
    return Board(year, years, units, tuple(rows), unit, HAS_CLASSES)
