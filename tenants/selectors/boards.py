"""The province and unit board: every school in the person's scope with its figures for a school year, the same
figures summed per unit, traffic lights for the schools behind as their next lock nears, flags for the schools and
accounts far above the province's usual rate of edits after approval and approved lock exceptions, and the
drill-down to one school's classes.

Public tables only, never a school's schema (DESIGN §3): the school's rollup row for the year, its open and
approved exceptions to locks, the figures copied at the year's last lock (``ComplianceSnapshot``), the drift the
last reconciliation fixed (``RollupDrift``), the schema's state, the windows of the year, the per-class rows
(``ClassRollup``). A constant number of queries whatever the number of schools: the schools' rows, the windows,
the province's medians; the unit tree and the placements come with the access profile. Filters, search and sort run
over the rows in memory, so a board costs the same for 2 schools as for 3,000.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, FilteredRelation, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_LABELS, LEVELS
from hocba.kernel.recordstates import STATES
from hocba.kernel.text import fold

from ..models import (
    ClassRollup,
    ComplianceSnapshot,
    DataCategory,
    ExceptionStatus,
    RollupDrift,
    School,
    SchoolRollup,
    Window,
    WindowException,
)
from ..reminders import windows_of_schools
from .access import Access

CAPABILITY = "boards.view"

SCHEMA_OK, SCHEMA_BEHIND, SCHEMA_FAILED = "ok", "behind", "failed"
SCHEMA_LABELS = {SCHEMA_OK: _("Đúng phiên bản"), SCHEMA_BEHIND: _("Chậm phiên bản"), SCHEMA_FAILED: _("Cập nhật lỗi")}

# Traffic lights, in words as well as colour: a school's progress towards its next lock.
RED, AMBER, GREEN, NO_LOCK = "red", "amber", "green", "none"
LIGHT_LABELS = {
    RED: _("Chậm tiến độ"),
    AMBER: _("Cần đôn đốc"),
    GREEN: _("Kịp tiến độ"),
    NO_LOCK: _("Chưa có hạn khóa"),
}
LIGHT_RANK = {RED: 0, AMBER: 1, GREEN: 2, NO_LOCK: 3}
# The categories whose completion the rollups measure; an attendance lock has no "required" count and is not judged.
MEASURED = (
    DataCategory.PROFILE,
    DataCategory.SCORES_1,
    DataCategory.SCORES_2,
    DataCategory.CONDUCT,
    DataCategory.YEAR_END,
    DataCategory.WHOLE_YEAR,
)
# A conduct lock before this day of the school year's second calendar year is judged on term I, later on term II.
TERM_TWO_FROM = (2, 1)  # 1 February

# The column groups a person may show (the school, its light, students and classes always show).
GROUPS = {
    "records": _("Học bạ theo trạng thái"),
    "progress": _("Mức độ hoàn thành"),
    "exceptions": _("Ngoại lệ và sửa sau duyệt"),
    "health": _("Phiên bản, hoạt động, đối soát"),
    "lock": _("Lúc khóa gần nhất"),
}
DEFAULT_GROUPS = ("progress", "records")

# What a board may be sorted by: the key of the query string → the row's attribute.
SORTS = {
    "name": "name",
    "unit": "unit_name",
    "light": "light_rank",
    "next_lock": "next_lock_at",
    "students": "students",
    "classes": "classes",
    "draft": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "signed": "signed",
    "locked": "locked",
    "archived": "archived",
    "records": "records",
    "approved_pct": "approved_pct",
    "signed_pct": "signed_pct",
    "sheets1": "sheets_pct_term1",
    "sheets2": "sheets_pct_term2",
    "conduct1": "conduct_pct_term1",
    "conduct2": "conduct_pct_term2",
    "profile": "profile_pct",
    "requests": "open_requests",
    "exceptions": "approved_exceptions",
    "edits": "edits_after_approval",
    "schema": "schema_rank",
    "updated": "updated_at",
    "reconciled": "reconciled_at",
    "drift": "drift",
    "lock_records": "lock_records",
    "lock_approved_pct": "lock_approved_pct",
}

# The column group each sortable column belongs to (the others always show): sorting by a hidden column shows it.
SORT_GROUPS = {
    **dict.fromkeys(("sheets1", "sheets2", "conduct1", "conduct2", "profile"), "progress"),
    **dict.fromkeys(
        ("draft", "submitted", "approved", "signed", "locked", "archived", "records", "approved_pct", "signed_pct"),
        "records",
    ),
    **dict.fromkeys(("requests", "exceptions", "edits"), "exceptions"),
    **dict.fromkeys(("schema", "updated", "reconciled", "drift"), "health"),
    **dict.fromkeys(("lock_records", "lock_approved_pct"), "lock"),
}


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _pct_or_none(part: int, whole: int) -> int | None:
    return min(100, round(100 * part / whole)) if whole else None


@dataclass(frozen=True)
class Thresholds:
    """The traffic lights' and flags' thresholds (settings ``HOCBA_BOARD_*``)."""

    warn_days: float
    alert_days: float
    done_pct: int
    alert_pct: int
    flag_factor: float
    flag_min_edits: int
    flag_min_exceptions: int

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            settings.HOCBA_BOARD_WARN_DAYS,
            settings.HOCBA_BOARD_ALERT_DAYS,
            settings.HOCBA_BOARD_DONE_PCT,
            settings.HOCBA_BOARD_ALERT_PCT,
            settings.HOCBA_BOARD_FLAG_FACTOR,
            settings.HOCBA_BOARD_FLAG_MIN_EDITS,
            settings.HOCBA_BOARD_FLAG_MIN_EXCEPTIONS,
        )


def light_of(pct: int | None, days_left: float | None, t: Thresholds) -> str:
    """The light of a school whose next lock is ``days_left`` days away with ``pct`` per cent of its data done:
    no lock (or nothing to measure) → none; done from ``done_pct`` or the lock further than ``warn_days`` → green;
    below ``done_pct`` within ``alert_days``, or below ``alert_pct`` within ``warn_days`` → red; else amber."""
    if days_left is None or pct is None:
        return NO_LOCK
    if pct >= t.done_pct or days_left > t.warn_days:
        return GREEN
    if days_left <= t.alert_days or pct < t.alert_pct:
        return RED
    return AMBER


@dataclass(frozen=True, kw_only=True)
class Figures:
    """The figures a school's row and a unit's row share (a unit's are its schools' summed)."""

    students: int = 0
    classes: int = 0
    draft: int = 0
    submitted: int = 0
    approved: int = 0
    signed: int = 0
    locked: int = 0
    archived: int = 0
    sheets_required_term1: int = 0
    sheets_done_term1: int = 0
    sheets_required_term2: int = 0
    sheets_done_term2: int = 0
    conduct_done_term1: int = 0
    conduct_done_term2: int = 0
    profile_complete: int = 0
    open_requests: int = 0
    approved_exceptions: int = 0
    edits_after_approval: int = 0
    drift: int = 0  # figures the last reconciliation found wrong and fixed
    lock_records: int | None = None  # at the year's last lock with a snapshot
    lock_approved: int | None = None

    @property
    def records(self) -> int:
        return self.draft + self.submitted + self.approved + self.signed + self.locked

    @property
    def approved_or_further(self) -> int:
        return self.approved + self.signed + self.locked

    @property
    def approved_pct(self) -> int:
        """Records approved or further along (signed, locked), in per cent."""
        return _pct(self.approved_or_further, self.records)

    @property
    def signed_pct(self) -> int:
        return _pct(self.signed + self.locked, self.records)

    @property
    def sheets_pct_term1(self) -> int | None:
        return _pct_or_none(self.sheets_done_term1, self.sheets_required_term1)

    @property
    def sheets_pct_term2(self) -> int | None:
        return _pct_or_none(self.sheets_done_term2, self.sheets_required_term2)

    @property
    def conduct_pct_term1(self) -> int | None:
        return _pct_or_none(self.conduct_done_term1, self.students)

    @property
    def conduct_pct_term2(self) -> int | None:
        return _pct_or_none(self.conduct_done_term2, self.students)

    @property
    def profile_pct(self) -> int | None:
        return _pct_or_none(self.profile_complete, self.students)

    @property
    def lock_approved_pct(self) -> int | None:
        return None if self.lock_records is None else _pct(self.lock_approved or 0, self.lock_records)

    def completion_for(self, category: str, locks_at: dt.datetime, year: int) -> int | None:
        """Per cent of the data a lock of ``category`` closes that is done (None: nothing to measure yet — no
        students and nothing required): sheets finished for a term's scores; students with conduct for the lock's
        term; students with a complete profile; records approved or further for the year end; the lower of the
        year's sheets and the approved records for the whole year."""

        def pct(part: int, whole: int) -> int | None:
            if whole:
                return min(100, round(100 * part / whole))
            return 0 if self.students else None

        books = max(self.students, self.records)
        if category == DataCategory.SCORES_1:
            return pct(self.sheets_done_term1, self.sheets_required_term1)
        if category == DataCategory.SCORES_2:
            return pct(self.sheets_done_term2, self.sheets_required_term2)
        if category == DataCategory.PROFILE:
            return pct(self.profile_complete, self.students)
        if category == DataCategory.CONDUCT:
            local = timezone.localtime(locks_at).date()
            term_two = local >= dt.date(year + 1, *TERM_TWO_FROM)
            return pct(self.conduct_done_term2 if term_two else self.conduct_done_term1, self.students)
        if category == DataCategory.YEAR_END:
            return pct(self.approved_or_further, books)
        if category == DataCategory.WHOLE_YEAR:
            sheets = pct(
                self.sheets_done_term1 + self.sheets_done_term2,
                self.sheets_required_term1 + self.sheets_required_term2,
            )
            books_pct = pct(self.approved_or_further, books)
            return None if sheets is None or books_pct is None else min(sheets, books_pct)
        return None


FIGURE_FIELDS = tuple(f for f in Figures.__dataclass_fields__ if f not in ("lock_records", "lock_approved"))


@dataclass(frozen=True, kw_only=True)
class SchoolRow(Figures):
    id: int
    name: str
    moet_code: str
    levels: tuple[str, ...]
    status: str = "active"
    unit_id: int | None = None
    unit_name: str = ""
    has_rollup: bool = False
    schema: str = SCHEMA_OK  # SCHEMA_OK / SCHEMA_BEHIND / SCHEMA_FAILED
    updated_at: dt.datetime | None = None
    reconciled_at: dt.datetime | None = None
    lock_at: dt.datetime | None = None
    # the next lock the school must meet (the earliest effective lock still ahead among the measured categories)
    next_lock_at: dt.datetime | None = None
    next_window_id: int | None = None
    next_category: str = ""
    completion: int | None = None  # per cent of the next lock's data done
    light: str = NO_LOCK

    @property
    def level_labels(self) -> list[str]:
        return [str(LEVEL_LABELS[lv]) for lv in self.levels if lv in LEVEL_LABELS]

    @property
    def schema_label(self) -> str:
        return str(SCHEMA_LABELS[self.schema])

    @property
    def schema_rank(self) -> int:
        return {SCHEMA_FAILED: 0, SCHEMA_BEHIND: 1, SCHEMA_OK: 2}[self.schema]

    @property
    def light_label(self) -> str:
        return str(LIGHT_LABELS[self.light])

    @property
    def light_rank(self) -> int:
        return LIGHT_RANK[self.light]

    @property
    def late(self) -> bool:
        return self.light in (RED, AMBER)

    @property
    def next_category_label(self) -> str:
        return str(DataCategory(self.next_category).label) if self.next_category else ""

    def days_left(self, now: dt.datetime) -> float | None:
        return None if self.next_lock_at is None else (self.next_lock_at - now).total_seconds() / 86400


@dataclass(frozen=True, kw_only=True)
class UnitRow(Figures):
    """The schools of one unit (the unit they are placed in today, or below it), summed; ``direct``: only the schools
    placed in the unit itself (a province's own schools, their own group row)."""

    id: int
    name: str
    kind_label: str
    direct: bool = False
    schools: int = 0
    schemas_behind: int = 0
    schemas_failed: int = 0
    late: int = 0
    red: int = 0
    updated_at: dt.datetime | None = None  # the latest activity of its schools
    reconciled_at: dt.datetime | None = None  # the oldest last reconciliation of its schools

    @property
    def schemas_in_trouble(self) -> int:
        return self.schemas_behind + self.schemas_failed


@dataclass(frozen=True)
class Flag:
    """A school, or an account at a school, far above the province's usual rate."""

    kind: str  # "edits" (edits after approval per 100 students) / "exceptions" (approved lock exceptions)
    school_id: int
    school_name: str
    value: int
    rate: float  # the figure the median is taken of
    median: float
    account_id: int | None = None
    account_name: str = ""

    @property
    def kind_label(self) -> str:
        return str(FLAG_LABELS[self.kind])


FLAG_LABELS = {
    "edits": _("Sửa sau khi duyệt (trên 100 học sinh)"),
    "exceptions": _("Ngoại lệ mở khóa đã duyệt"),
}


@dataclass(frozen=True)
class Board:
    year: int
    years: tuple[int, ...]
    units: tuple[UnitRow, ...]
    schools: tuple[SchoolRow, ...]
    unit: UnitRow | None  # the unit drilled into, if any
    now: dt.datetime
    thresholds: Thresholds
    flags: tuple[Flag, ...] = ()
    lights: dict[str, int] | None = None  # schools per light, before the filters that narrow the list
    has_classes: bool = True

    @property
    def late(self) -> tuple[SchoolRow, ...]:
        return tuple(r for r in self.schools if r.late)


@dataclass(frozen=True)
class BoardFilters:
    unit_id: int | None = None
    school_id: int | None = None
    level: str = ""
    schema: str = ""
    search: str = ""
    sort: str = "name"
    descending: bool = False
    light: str = ""
    late: bool = False
    direct: bool = False
    groups: tuple[str, ...] = DEFAULT_GROUPS


def _bad(code: str, message, **params) -> DomainError:
    return DomainError(code, message, params=params, http_status=400)


def out_of_scope(kind: str) -> DomainError:
    """A unit, school or class the person's scope does not reach: answered as not found, so that an id's existence
    outside the scope is not told."""
    messages = {
        "unit": _("Không tìm thấy đơn vị này trong phạm vi theo dõi của bạn."),
        "school": _("Không tìm thấy trường này trong phạm vi theo dõi của bạn."),
        "class": _("Trường này không có lớp này trong năm học đã chọn."),
    }
    return DomainError("out_of_scope", messages[kind], http_status=404)


def parse_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise _bad("board_bad_id", _("Mã “%(value)s” không hợp lệ."), value=raw[:40])
    return int(raw)


def board_filters(params, *, acc: Access) -> BoardFilters:
    """The query string checked against what exists and what the person's scope reaches: an unknown value, or a unit
    or school outside the scope, is refused with a message in both languages (no query)."""
    unit_id, school_id = parse_id(params.get("unit")), parse_id(params.get("school"))
    if unit_id is not None and unit_id not in acc.units_with(CAPABILITY):
        raise out_of_scope("unit")
    if school_id is not None and school_id not in acc.schools_with(CAPABILITY):
        raise out_of_scope("school")
    level = (params.get("level") or "").strip()
    if level and level not in LEVELS:
        raise _bad("board_bad_level", _("Cấp học “%(value)s” không có."), value=level[:40])
    schema = (params.get("schema") or "").strip()
    if schema and schema not in SCHEMA_LABELS:
        raise _bad("board_bad_schema", _("Trạng thái phiên bản “%(value)s” không có."), value=schema[:40])
    light = (params.get("light") or "").strip()
    if light and light not in LIGHT_LABELS:
        raise _bad("board_bad_light", _("Mức tiến độ “%(value)s” không có."), value=light[:40])
    flags = {}
    for key in ("late", "direct"):
        raw = (params.get(key) or "").strip()
        if raw not in ("", "0", "1"):
            raise _bad("board_bad_switch", _("Giá trị “%(value)s” không hợp lệ."), value=raw[:40])
        flags[key] = raw == "1"
    if flags["direct"] and unit_id is None:
        raise _bad("board_bad_switch", _("Giá trị “%(value)s” không hợp lệ."), value="direct")
    sort = (params.get("sort") or "name").strip()
    descending = sort.startswith("-")
    if sort.lstrip("-") not in SORTS:
        raise _bad("board_bad_sort", _("Không sắp xếp được theo “%(value)s”."), value=sort[:40])
    getlist = getattr(params, "getlist", None)
    wanted = [g.strip() for g in (getlist("cols") if getlist else [params.get("cols", "")]) if g and g.strip()]
    for g in wanted:
        if g not in GROUPS and g != "none":
            raise _bad("board_bad_columns", _("Nhóm cột “%(value)s” không có."), value=g[:40])
    groups = tuple(g for g in GROUPS if g in wanted) if wanted else DEFAULT_GROUPS
    shown = SORT_GROUPS.get(sort.lstrip("-"))
    if shown and shown not in groups:
        groups = tuple(g for g in GROUPS if g in groups or g == shown)
    search = (params.get("q") or "").strip()[:100]
    return BoardFilters(
        unit_id,
        school_id,
        level,
        schema,
        search,
        sort.lstrip("-"),
        descending,
        light,
        flags["late"],
        flags["direct"],
        groups,
    )


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


ROLLUP_FIELDS = {
    "students": "students",
    "classes": "classes",
    "archived": "records_archived",
    "sheets_required_term1": "sheets_required_term1",
    "sheets_done_term1": "sheets_done_term1",
    "sheets_required_term2": "sheets_required_term2",
    "sheets_done_term2": "sheets_done_term2",
    "conduct_done_term1": "conduct_done_term1",
    "conduct_done_term2": "conduct_done_term2",
    "profile_complete": "profile_complete",
    "edits_after_approval": "edits_after_approval",
    **{s: f"records_{s}" for s in STATES},
}


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
        "status",
        "schema_head",
        "schema_error",
        "this_year__id",
        *(f"this_year__{c}" for c in ROLLUP_FIELDS.values()),
        "this_year__updated_at",
        "this_year__reconciled_at",
        "open_requests",
        "approved_exceptions",
        "lock_at",
        "lock_figures",
        "drift",
    ]
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
        out.append(
            SchoolRow(
                id=r["pk"],
                name=r["name"],
                moet_code=r["moet_code"],
                levels=tuple(r["levels"] or ()),
                status=r["status"],
                unit_id=unit_id,
                unit_name=node.name if node else "",
                has_rollup=r["this_year__id"] is not None,
                **{k: r[f"this_year__{c}"] or 0 for k, c in ROLLUP_FIELDS.items()},
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


def _with_lights(rows: list[SchoolRow], acc: Access, *, year: int, now: dt.datetime, t: Thresholds) -> list[SchoolRow]:
    """Each school's next lock and light. One query (the year's windows that reach the scope: set for its schools or
    for their units or the units above); which window covers which school is ``tenants.reminders``' rule."""
    if not rows:
        return rows
    units: set[int] = set()
    for r in rows:
        if r.unit_id is not None:
            units |= {r.unit_id, *(acc.tree.ancestors(r.unit_id) if acc.tree else ())}
    windows = list(
        Window.objects.filter(year_start=year, cancelled_at__isnull=True, category__in=list(MEASURED)).filter(
            Q(school_id__in=[r.id for r in rows]) | Q(unit_id__in=units)
        )
    )
    covering = windows_of_schools(
        windows,
        tree=acc.tree,
        placements={r.id: r.unit_id for r in rows if r.unit_id is not None},
        levels={r.id: r.levels for r in rows if r.status == "active"},
    )
    out = []
    for r in rows:
        # The effective lock of each category: the earliest lock of the windows covering the school (every
        # applicable window must allow a write); a category whose effective lock has passed is closed.
        first: dict[str, Window] = {}
        for w in covering.get(r.id, ()):
            if w.category not in first or w.locks_at < first[w.category].locks_at:
                first[w.category] = w
        ahead = sorted((w for w in first.values() if w.locks_at > now), key=lambda w: (w.locks_at, w.pk))
        if not ahead:
            out.append(r)
            continue
        nxt = ahead[0]
        completion = r.completion_for(nxt.category, nxt.locks_at, year)
        days_left = (nxt.locks_at - now).total_seconds() / 86400
        out.append(
            replace(
                r,
                next_lock_at=nxt.locks_at,
                next_window_id=nxt.pk,
                next_category=nxt.category,
                completion=completion,
                light=light_of(completion, days_left, t),
            )
        )
    return out


def _sum_rows(mine: list[SchoolRow], **identity) -> UnitRow:
    locks = [r for r in mine if r.lock_records is not None]
    updated = [r.updated_at for r in mine if r.updated_at]
    reconciled = [r.reconciled_at for r in mine if r.reconciled_at]
    return UnitRow(
        **identity,
        schools=len(mine),
        **{f: sum(getattr(r, f) for r in mine) for f in FIGURE_FIELDS},
        lock_records=sum(r.lock_records or 0 for r in locks) if locks else None,
        lock_approved=sum(r.lock_approved or 0 for r in locks) if locks else None,
        schemas_behind=sum(1 for r in mine if r.schema == SCHEMA_BEHIND),
        schemas_failed=sum(1 for r in mine if r.schema == SCHEMA_FAILED),
        late=sum(1 for r in mine if r.late),
        red=sum(1 for r in mine if r.light == RED),
        updated_at=max(updated, default=None),
        reconciled_at=min(reconciled, default=None),
    )


def _unit_rows(rows: list[SchoolRow], acc: Access, units: list[int], *, direct_of: list[int]) -> tuple[UnitRow, ...]:
    """Per unit of ``units``: its schools (placed in it or below) summed; then, per unit of ``direct_of`` with schools
    placed in it directly (a province's upper-secondary schools), those schools as their own group row. No query."""
    out = []
    for unit_id in units:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        if node is None:
            continue
        below = acc.tree.descendants(unit_id)
        mine = [r for r in rows if r.unit_id in below]
        out.append(_sum_rows(mine, id=unit_id, name=node.name, kind_label=node.kind_label))
    for unit_id in direct_of:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        mine = [r for r in rows if r.unit_id == unit_id]
        if node is None or not mine:
            continue
        name = str(_("Trường trực thuộc %(unit)s")) % {"unit": node.name}
        out.append(_sum_rows(mine, id=unit_id, name=name, kind_label=node.kind_label, direct=True))
    return tuple(out)


def _sort_key(attr: str):
    def key(row):
        value = getattr(row, attr)
        if value is None:
            return (1, 0, fold(row.name))
        if isinstance(value, str):
            value = fold(value)
        return (0, value, fold(row.name))

    return key


def _medians(year: int) -> dict[str, float]:
    """The province's usual rates for the year, over every active school (the deployment is one province, DESIGN
    §9): edits after approval per 100 students, and approved lock exceptions per school (the yardstick of an account
    too: a school's requests are mostly one principal's). One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH s AS (SELECT id FROM public.tenants_school WHERE status = 'active' AND schema_name <> 'public'),
            e AS (SELECT x.school_id, count(*) AS n
                    FROM public.tenants_windowexception x JOIN public.tenants_window w ON w.id = x.window_id
                   WHERE x.status = 'approved' AND w.year_start = %s GROUP BY 1)
            SELECT
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(r.edits_after_approval, 0) * 100.0
                                                         / greatest(coalesce(r.students, 0), 1))
                 FROM s LEFT JOIN public.tenants_schoolrollup r ON r.school_id = s.id AND r.year_start = %s),
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(e.n, 0))
                 FROM s LEFT JOIN e ON e.school_id = s.id)
            """,
            [year, year],
        )
        edits, exceptions = cursor.fetchone()
    return {"edits": float(edits or 0), "exceptions": float(exceptions or 0)}


def _flags(rows: list[SchoolRow], *, year: int, t: Thresholds) -> tuple[Flag, ...]:
    """The schools of ``rows`` and the accounts requesting at them that are far above the province's usual rate:
    more than ``flag_factor`` × the median and at least the minimum count. Two queries."""
    if not rows:
        return ()
    medians = _medians(year)
    out: list[Flag] = []
    for r in rows:
        rate = r.edits_after_approval * 100 / max(r.students, 1)
        if r.edits_after_approval >= t.flag_min_edits and rate > t.flag_factor * medians["edits"]:
            out.append(Flag("edits", r.id, r.name, r.edits_after_approval, round(rate, 1), medians["edits"]))
        if r.approved_exceptions >= t.flag_min_exceptions and r.approved_exceptions > (
            t.flag_factor * medians["exceptions"]
        ):
            out.append(
                Flag(
                    "exceptions",
                    r.id,
                    r.name,
                    r.approved_exceptions,
                    float(r.approved_exceptions),
                    medians["exceptions"],
                )
            )
    names = {r.id: r.name for r in rows}
    accounts = (
        WindowException.objects.filter(
            status=ExceptionStatus.APPROVED, window__year_start=year, school_id__in=list(names)
        )
        .values("requested_by_id", "school_id", name=F("requested_by__full_name"), username=F("requested_by__username"))
        .annotate(n=Count("id"))
        .filter(n__gte=t.flag_min_exceptions)
    )
    for a in accounts:
        if a["n"] > t.flag_factor * medians["exceptions"]:
            out.append(
                Flag(
                    "exceptions",
                    a["school_id"],
                    names[a["school_id"]],
                    a["n"],
                    float(a["n"]),
                    medians["exceptions"],
                    account_id=a["requested_by_id"],
                    account_name=a["name"] or a["username"],
                )
            )
    out.sort(key=lambda f: (f.kind, -f.rate, fold(f.school_name), f.account_name))
    return tuple(out)


def board(
    acc: Access,
    *,
    year: int,
    years: tuple[int, ...],
    head: str,
    filters: BoardFilters,
    now: dt.datetime | None = None,
    thresholds: Thresholds | None = None,
    with_flags: bool = True,
) -> Board:
    """The board of the person's scope for ``year``: the units they hold ``boards.view`` in (the top ones, then one
    level down, and the schools placed directly in them as their own group) and their schools, filtered and sorted.
    ``head``: the current migration head's digest (a school elsewhere is behind). Five queries at most."""
    now = now or timezone.now()
    t = thresholds or Thresholds.from_settings()
    scope = acc.schools_with(CAPABILITY)
    rows = _school_rows(scope, year=year, head=head, acc=acc) if scope else []
    rows = _with_lights(rows, acc, year=year, now=now, t=t)
    unit = None
    held = [g.unit_id for g in acc.grants if g.unit_id and g.unit_id in acc.units_with(CAPABILITY)]
    top = [filters.unit_id] if filters.unit_id is not None else list(dict.fromkeys(held))
    if filters.unit_id is not None:
        unit = (_unit_rows(rows, acc, [filters.unit_id], direct_of=[]) or (None,))[0]
    children = [c for u in top for c in (acc.tree.children.get(u, ()) if acc.tree else ())]
    if filters.direct:
        units: tuple[UnitRow, ...] = ()
    elif children:
        units = _unit_rows(rows, acc, children, direct_of=top)
    else:
        units = _unit_rows(rows, acc, [] if filters.unit_id is not None else top, direct_of=[])
    if filters.unit_id is not None:
        below = acc.tree.descendants(filters.unit_id) if acc.tree else set()
        rows = [r for r in rows if (r.unit_id == filters.unit_id if filters.direct else r.unit_id in below)]
    flags = _flags(rows, year=year, t=t) if with_flags else ()
    lights = {k: sum(1 for r in rows if r.light == k) for k in LIGHT_LABELS}
    if filters.school_id is not None:
        rows = [r for r in rows if r.id == filters.school_id]
    if filters.level:
        rows = [r for r in rows if filters.level in r.levels]
    if filters.schema:
        rows = [r for r in rows if r.schema == filters.schema]
    if filters.light:
        rows = [r for r in rows if r.light == filters.light]
    if filters.late:
        rows = [r for r in rows if r.late]
    if filters.search:
        folded = fold(filters.search)
        rows = [
            r for r in rows if folded in fold(r.name) or folded in r.moet_code.lower() or folded in fold(r.unit_name)
        ]
    rows.sort(key=_sort_key(SORTS[filters.sort]), reverse=filters.descending)
    return Board(year, years, units, tuple(rows), unit, now, t, flags, lights)


# --- one school's classes (the drill-down below a school) -----------------------------------------------------


@dataclass(frozen=True)
class ClassRow:
    class_id: int
    name: str
    grade: int
    students: int
    draft: int
    submitted: int
    approved: int
    signed: int
    locked: int
    sheets_required_term1: int
    sheets_done_term1: int
    sheets_required_term2: int
    sheets_done_term2: int
    stale: bool  # the sheets' figures wait for the drain (seconds)
    updated_at: dt.datetime | None

    @property
    def records(self) -> int:
        return self.draft + self.submitted + self.approved + self.signed + self.locked

    @property
    def approved_pct(self) -> int:
        return _pct(self.approved + self.signed + self.locked, self.records)

    @property
    def sheets_pct_term1(self) -> int | None:
        return _pct_or_none(self.sheets_done_term1, self.sheets_required_term1)

    @property
    def sheets_pct_term2(self) -> int | None:
        return _pct_or_none(self.sheets_done_term2, self.sheets_required_term2)


@dataclass(frozen=True)
class SchoolBoard:
    year: int
    years: tuple[int, ...]
    school: SchoolRow
    classes: tuple[ClassRow, ...]
    now: dt.datetime


def school_board(
    acc: Access,
    *,
    school_id: int,
    year: int,
    years: tuple[int, ...],
    head: str,
    class_id: int | None = None,
    now: dt.datetime | None = None,
) -> SchoolBoard:
    """One school of the scope for ``year``: its row (as on the board, with its light) and its classes' rows
    (``ClassRollup``: figures only, no student); ``class_id``: only that class of the school, refused when the
    school has no such class that year. Three queries."""
    if school_id not in acc.schools_with(CAPABILITY):
        raise out_of_scope("school")
    now = now or timezone.now()
    rows = _with_lights(
        _school_rows({school_id}, year=year, head=head, acc=acc), acc, year=year, now=now, t=Thresholds.from_settings()
    )
    if not rows:
        raise out_of_scope("school")
    qs = ClassRollup.objects.filter(school_id=school_id, year_start=year)
    if class_id is not None:
        qs = qs.filter(class_id=class_id)
    classes = tuple(
        ClassRow(
            class_id=c["class_id"],
            name=c["name"],
            grade=c["grade"],
            students=c["students"],
            **{s: c[f"records_{s}"] for s in STATES},
            sheets_required_term1=c["sheets_required_term1"],
            sheets_done_term1=c["sheets_done_term1"],
            sheets_required_term2=c["sheets_required_term2"],
            sheets_done_term2=c["sheets_done_term2"],
            stale=c["stale_since"] is not None,
            updated_at=c["updated_at"],
        )
        for c in qs.order_by("grade", "name", "class_id").values(
            "class_id",
            "name",
            "grade",
            "students",
            *(f"records_{s}" for s in STATES),
            "sheets_required_term1",
            "sheets_done_term1",
            "sheets_required_term2",
            "sheets_done_term2",
            "stale_since",
            "updated_at",
        )
    )
    if class_id is not None and not classes:
        raise out_of_scope("class")
    return SchoolBoard(year, years, rows[0], classes, now)
