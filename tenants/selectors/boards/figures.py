"""The board's vocabulary and rows as plain frozen values: the traffic lights and their rule, the figures a school's
and a unit's rows share, the flags, the classes of a school, the filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.levels import LEVEL_LABELS

from ...models import (
    DataCategory,
)

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
        """Per cent of the data a lock of ``category`` closes that is done (see :func:`completion`)."""
        return completion(
            category,
            term_two_lock(category, locks_at, year),
            students=self.students,
            records=self.records,
            approved=self.approved_or_further,
            sheets=(
                self.sheets_done_term1,
                self.sheets_required_term1,
                self.sheets_done_term2,
                self.sheets_required_term2,
            ),
            conduct=(self.conduct_done_term1, self.conduct_done_term2),
            profile=self.profile_complete,
        )


def term_two_lock(category: str, locks_at: dt.datetime, year: int) -> bool:
    """Is a conduct lock at ``locks_at`` judged on term II (from ``TERM_TWO_FROM`` of the year's second year)?"""
    if category != DataCategory.CONDUCT:
        return False
    return timezone.localtime(locks_at).date() >= dt.date(year + 1, *TERM_TWO_FROM)


def completion(
    category: str,
    term_two: bool,
    *,
    students: int,
    records: int,
    approved: int,
    sheets: tuple[int, int, int, int],
    conduct: tuple[int, int],
    profile: int,
) -> int | None:
    """Per cent of the data a lock of ``category`` closes that is done (None: nothing to measure yet — no students
    and nothing required): sheets finished for a term's scores; students with conduct for the lock's term
    (``term_two``); students with a complete profile; records approved or further (``approved``) for the year end;
    the lower of the year's sheets and the approved records for the whole year. ``sheets``: done and required of
    term I, then of term II. Plain integers, so that the board can judge thousands of schools without building
    their rows."""

    def pct(part: int, whole: int) -> int | None:
        if whole:
            return min(100, round(100 * part / whole))
        return 0 if students else None

    books = max(students, records)
    if category == DataCategory.SCORES_1:
        return pct(sheets[0], sheets[1])
    if category == DataCategory.SCORES_2:
        return pct(sheets[2], sheets[3])
    if category == DataCategory.PROFILE:
        return pct(profile, students)
    if category == DataCategory.CONDUCT:
        return pct(conduct[1] if term_two else conduct[0], students)
    if category == DataCategory.YEAR_END:
        return pct(approved, books)
    if category == DataCategory.WHOLE_YEAR:
        year_sheets = pct(sheets[0] + sheets[2], sheets[1] + sheets[3])
        books_pct = pct(approved, books)
        return None if year_sheets is None or books_pct is None else min(year_sheets, books_pct)
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
    # ``schools`` is one page of the filtered, sorted list when the board is paged (else all of it): how many
    # schools the filters kept, how many of them are late, the page shown and the number of pages
    total: int | None = None
    late_total: int | None = None
    page: int = 1
    pages: int = 1
    per_page: int | None = None

    @property
    def count(self) -> int:
        return len(self.schools) if self.total is None else self.total

    @property
    def late_count(self) -> int:
        return len(self.late) if self.late_total is None else self.late_total

    @property
    def first_index(self) -> int:
        return (self.page - 1) * (self.per_page or 0) + 1 if self.schools else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.schools) - 1 if self.schools else 0

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
    page: int = 1  # of the schools' list, when the board is paged (the page shown; the exports take every row)


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
