"""One school's own figures as the public rollups hold them, for the principal's summary on the school's site: its
rollup row for a school year, its per-class rows, the figures copied at each lock (``ComplianceSnapshot``), the
year-end start at each whole-year lock (``YearEndStart``) and the daily copies (``RollupDay``, completion over time).

Public rows of that one school only, never a look into its schema; plain frozen dataclasses; five queries whatever
the number of classes, locks or days (the last reconciliation and its drift: ``selectors.rollups.reconciliation``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hocba.kernel.recordstates import STATES

from ..models import ClassRollup, ComplianceSnapshot, DataCategory, RollupDay, SchoolRollup, YearEndStart

FINAL_STATES = ("approved", "signed", "locked")  # approved by the principal, or further on
SHEET_FIELDS = ("sheets_required_term1", "sheets_done_term1", "sheets_required_term2", "sheets_done_term2")


def pct(part: int | None, whole: int | None) -> int | None:
    """``part`` of ``whole`` in whole per cent; None when there is no whole to take it of."""
    if part is None or not whole:
        return None
    return round(100 * part / whole)


@dataclass(frozen=True)
class RecordCounts:
    """Record books per workflow state."""

    draft: int
    submitted: int
    approved: int
    signed: int
    locked: int

    @property
    def total(self) -> int:
        return self.draft + self.submitted + self.approved + self.signed + self.locked

    @property
    def final(self) -> int:
        """Approved or further on (signed, locked)."""
        return self.approved + self.signed + self.locked

    @property
    def final_pct(self) -> int | None:
        return pct(self.final, self.total)

    @property
    def signed_pct(self) -> int | None:
        return pct(self.signed + self.locked, self.total)

    @classmethod
    def of(cls, values: dict) -> RecordCounts:
        return cls(*(int(values.get(s) or 0) for s in STATES))


@dataclass(frozen=True)
class Sheets:
    """Sheets (assignment × term) required and finished, per term; None where the figures do not say."""

    required_term1: int | None
    done_term1: int | None
    required_term2: int | None
    done_term2: int | None

    @property
    def term1_pct(self) -> int | None:
        return pct(self.done_term1, self.required_term1)

    @property
    def term2_pct(self) -> int | None:
        return pct(self.done_term2, self.required_term2)

    @property
    def known(self) -> bool:
        return self.required_term1 is not None or self.required_term2 is not None

    @property
    def total_pct(self) -> int | None:
        if not self.known:
            return None
        return pct(
            (self.done_term1 or 0) + (self.done_term2 or 0), (self.required_term1 or 0) + (self.required_term2 or 0)
        )

    @classmethod
    def of(cls, values: dict) -> Sheets:
        def get(key: str) -> int | None:
            value = values.get(key)
            return None if value is None else int(value)

        return cls(*(get(k) for k in SHEET_FIELDS))


@dataclass(frozen=True)
class SchoolFigures:
    """The school's rollup row for the year (``SchoolRollup``)."""

    students: int
    classes: int
    records: RecordCounts
    sheets: Sheets
    entries: int
    entries_term1: int
    entries_term2: int
    conduct_entries: int
    conduct_done_term1: int
    conduct_done_term2: int
    profile_complete: int
    absences: int
    records_reopened: int
    records_archived: int
    edits_after_approval: int
    updated_at: dt.datetime | None
    reconciled_at: dt.datetime | None

    @property
    def profile_pct(self) -> int | None:
        return pct(self.profile_complete, self.students)

    @property
    def conduct_term1_pct(self) -> int | None:
        return pct(self.conduct_done_term1, self.students)

    @property
    def conduct_term2_pct(self) -> int | None:
        return pct(self.conduct_done_term2, self.students)


@dataclass(frozen=True)
class ClassFigures:
    """One class of the year (``ClassRollup``); ``stale``: its sheets' completeness awaits the stale-class drain."""

    class_id: int
    name: str
    grade: int
    students: int
    records: RecordCounts
    sheets: Sheets
    stale: bool
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class LockFigures:
    """The school's figures copied when a window of the year locked (``ComplianceSnapshot.figures``, not recomputed):
    ``missing`` when the school had no rollup row then; a figure the snapshot did not copy is None."""

    window_id: int
    category: str
    category_label: str
    grades: tuple[int, ...]
    locks_at: dt.datetime
    taken_at: dt.datetime
    missing: bool
    students: int | None
    classes: int | None
    records: RecordCounts
    sheets: Sheets
    records_reopened: int | None


@dataclass(frozen=True)
class YearEndClass:
    class_id: int
    name: str
    grade: int | None
    ready: int
    not_ready: int
    done: int


@dataclass(frozen=True)
class YearEndFigures:
    """Records ready to sign / not ready / done when a whole-year lock started the year-end flow (``YearEndStart``)."""

    window_id: int
    started_at: dt.datetime
    ready: int
    not_ready: int
    done: int
    notified: int
    classes: tuple[YearEndClass, ...]


@dataclass(frozen=True)
class DayFigures:
    """The school's figures as they stood at the end of a day (``RollupDay``)."""

    day: dt.date
    records: RecordCounts
    sheets: Sheets


@dataclass(frozen=True)
class SchoolSummary:
    school_id: int
    year: int
    figures: SchoolFigures | None  # None: no rollup row for the year yet
    classes: tuple[ClassFigures, ...]
    locks: tuple[LockFigures, ...]  # oldest lock first
    year_ends: tuple[YearEndFigures, ...]
    days: tuple[DayFigures, ...]  # oldest day first


def _int(value) -> int | None:
    return None if value is None else int(value)


def _records_of(figures: dict) -> RecordCounts:
    """Record counts from a copy of the rollup row: ``records`` as {state: n}, or the ``records_<state>`` columns."""
    nested = figures.get("records")
    if isinstance(nested, dict):
        return RecordCounts.of(nested)
    return RecordCounts.of({s: figures.get(f"records_{s}") for s in STATES})


def _school_figures(row: dict) -> SchoolFigures:
    return SchoolFigures(
        students=row["students"],
        classes=row["classes"],
        records=RecordCounts.of({s: row[f"records_{s}"] for s in STATES}),
        sheets=Sheets.of(row),
        entries=row["entries"],
        entries_term1=row["entries_term1"],
        entries_term2=row["entries_term2"],
        conduct_entries=row["conduct_entries"],
        conduct_done_term1=row["conduct_done_term1"],
        conduct_done_term2=row["conduct_done_term2"],
        profile_complete=row["profile_complete"],
        absences=row["absences"],
        records_reopened=row["records_reopened"],
        records_archived=row["records_archived"],
        edits_after_approval=row["edits_after_approval"],
        updated_at=row["updated_at"],
        reconciled_at=row["reconciled_at"],
    )


SCHOOL_FIELDS = (
    "students",
    "classes",
    *(f"records_{s}" for s in STATES),
    *SHEET_FIELDS,
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "conduct_done_term1",
    "conduct_done_term2",
    "profile_complete",
    "absences",
    "records_reopened",
    "records_archived",
    "edits_after_approval",
    "updated_at",
    "reconciled_at",
)


def _year_end_class(c: dict) -> YearEndClass:
    return YearEndClass(
        class_id=int(c.get("class_id") or 0),
        name=str(c.get("class_name") or ""),
        grade=_int(c.get("grade")),
        ready=int(c.get("ready") or 0),
        not_ready=int(c.get("not_ready") or 0),
        done=int(c.get("done") or 0),
    )


def school_summary(*, school_id: int, year: int) -> SchoolSummary:
    """The school's public rows for the school year starting in ``year``: five queries."""
    row = SchoolRollup.objects.filter(school_id=school_id, year_start=year).values(*SCHOOL_FIELDS).first()
    classes = tuple(
        ClassFigures(
            class_id=c["class_id"],
            name=c["name"],
            grade=c["grade"],
            students=c["students"],
            records=RecordCounts.of({s: c[f"records_{s}"] for s in STATES}),
            sheets=Sheets.of(c),
            stale=c["stale_since"] is not None,
            updated_at=c["updated_at"],
        )
        for c in ClassRollup.objects.filter(school_id=school_id, year_start=year)
        .order_by("grade", "name", "class_id")
        .values(
            "class_id",
            "name",
            "grade",
            "students",
            *(f"records_{s}" for s in STATES),
            *SHEET_FIELDS,
            "stale_since",
            "updated_at",
        )
    )
    locks = []
    for s in (
        ComplianceSnapshot.objects.filter(school_id=school_id, year_start=year)
        .order_by("locks_at", "taken_at", "id")
        .values("window_id", "window__category", "window__grades", "locks_at", "taken_at", "figures")
    ):
        figures = s["figures"] or {}
        category = s["window__category"]
        locks.append(
            LockFigures(
                window_id=s["window_id"],
                category=category,
                category_label=str(DataCategory(category).label) if category in DataCategory.values else category,
                grades=tuple(s["window__grades"] or ()),
                locks_at=s["locks_at"],
                taken_at=s["taken_at"],
                missing=bool(figures.get("rollup_missing")),
                students=_int(figures.get("students")),
                classes=_int(figures.get("classes")),
                records=_records_of(figures),
                sheets=Sheets.of(figures),
                records_reopened=_int(figures.get("records_reopened")),
            )
        )
    year_ends = tuple(
        YearEndFigures(
            window_id=y["window_id"],
            started_at=y["started_at"],
            ready=y["ready_to_sign"],
            not_ready=y["not_ready"],
            done=y["done"],
            notified=y["notified"],
            classes=tuple(_year_end_class(c) for c in (y["by_class"] or ()) if isinstance(c, dict)),
        )
        for y in YearEndStart.objects.filter(school_id=school_id, year_start=year)
        .order_by("started_at", "id")
        .values("window_id", "started_at", "ready_to_sign", "not_ready", "done", "notified", "by_class")
    )
    days = tuple(
        DayFigures(day=d["day"], records=_records_of(d["figures"] or {}), sheets=Sheets.of(d["figures"] or {}))
        for d in RollupDay.objects.filter(school_id=school_id, year_start=year).order_by("day").values("day", "figures")
    )
    return SchoolSummary(
        school_id=school_id,
        year=year,
        figures=_school_figures(row) if row else None,
        classes=classes,
        locks=tuple(locks),
        year_ends=year_ends,
        days=days,
    )
