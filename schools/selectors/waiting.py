"""What waits for whom inside a school: the records of a year by class and state (the class list's status column, the
principal's and the homeroom teacher's lists on the school's home), the records reopened and not submitted again, the
grade sheets still unfinished while a window lets them be entered, and the classes whose monthly attendance or conduct
update is missing.

Each function runs a constant number of queries whatever the number of classes; the caller narrows the rows to the
person (``class_ids``, ``teacher_id``) from its ``SchoolAccess``. The windows are public data: the caller passes the
school's windows (``tenants.selectors.windows.windows_for_school``) and this module only reads their times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from hocba.kernel.recordstates import STATES, RecordState

from tenants.windows import DataCategory, category_of_term

from ..compliance import unfinished_sheets
from ..models import RecordBook, SchoolYear
from ..monthlyduty import classes_without_update

# The short names of the states, for the tags of a list (the full names are ``RecordState``'s labels).
STATE_TAGS = {
    RecordState.DRAFT: _("Đang nhập"),
    RecordState.SUBMITTED: _("Đã trình"),
    RecordState.APPROVED: _("Đã duyệt"),
    RecordState.SIGNED: _("Đã ký"),
    RecordState.LOCKED: _("Đã khóa"),
}


@dataclass(frozen=True)
class StateTag:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class ClassRecords:
    """A class's records of the year, counted by state."""

    class_id: int
    class_name: str
    grade: int
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def tags(self) -> list[StateTag]:
        """The states the class has records in, in workflow order."""
        return [StateTag(s, str(STATE_TAGS[s]), self.counts[s]) for s in STATES if self.counts.get(s)]


def records_by_class(*, year: SchoolYear | None = None, class_ids: Iterable[int] | None = None) -> list[ClassRecords]:
    """Every class of the year (or the classes named) that has records, with its counts by state, in grade and name
    order. One query."""
    if year is None and class_ids is None:
        return []
    qs = RecordBook.objects.all()
    if year is not None:
        qs = qs.filter(year=year)
    if class_ids is not None:
        qs = qs.filter(school_class_id__in=list(class_ids))
    rows = (
        qs.values_list("school_class_id", "school_class__name", "school_class__grade", "state")
        .annotate(n=Count("id"))
        .order_by("school_class__grade", "school_class__name", "school_class_id")
    )
    classes: dict[int, ClassRecords] = {}
    for class_id, name, grade, state, n in rows:
        entry = classes.setdefault(class_id, ClassRecords(class_id, name, grade, {}))
        entry.counts[state] = n
    return list(classes.values())


@dataclass(frozen=True)
class ReopenedRecord:
    record_id: int
    student_id: int
    student_name: str
    class_id: int
    class_name: str
    reason: str


def records_reopened(*, year: SchoolYear | None, class_ids: Iterable[int] | None = None) -> list[ReopenedRecord]:
    """The records of the year the principal sent back to draft (with the reason) and nobody has submitted again.
    One query."""
    if year is None:
        return []
    qs = RecordBook.objects.filter(year=year, state=RecordState.DRAFT).exclude(reopened_reason="")
    if class_ids is not None:
        qs = qs.filter(school_class_id__in=list(class_ids))
    rows = qs.order_by("school_class__grade", "school_class__name", "student__sort_key", "pk").values_list(
        "pk", "student_id", "student__full_name", "school_class_id", "school_class__name", "reopened_reason"
    )
    return [ReopenedRecord(*row) for row in rows]


@dataclass(frozen=True)
class OpenSheet:
    """A grade sheet (class × subject × term) not finished yet while the windows let it be entered."""

    class_id: int
    class_name: str
    grade: int
    subject_id: int
    subject_name: str
    term: int
    filled: int
    required: int
    teacher_ids: tuple[int, ...]
    locks_at: dt.datetime


def entry_closes_at(windows: Sequence, *, term: int, grade: int, now: dt.datetime) -> dt.datetime | None:
    """When the scores of a term of a grade stop being accepted, if they are accepted now: every window that applies
    (the term's category or the whole year, for every grade or this one) is open, and at least one applies. The
    earliest lock among them; ``None`` when no window opens the sheet now. Windows are not cancelled
    (``windows_for_school`` leaves those out)."""
    category = category_of_term(term)
    applying = [
        w
        for w in windows
        if w.category in (category, DataCategory.WHOLE_YEAR)
        and (not w.grades or grade in w.grades)
        and not w.cancelled_at
    ]
    if not applying or any(not (w.opens_at <= now < w.locks_at) for w in applying):
        return None
    return min(w.locks_at for w in applying)


def sheets_unfinished(
    *,
    year: SchoolYear | None,
    windows: Sequence,
    now: dt.datetime,
    teacher_id: int | None = None,
    class_ids: Iterable[int] = (),
) -> list[OpenSheet]:
    """The sheets of the year still unfinished (``compliance.unfinished_sheets``: fewer filled cells than students ×
    required columns) in a term the windows open now, whose unfinished columns are ``teacher_id``'s, or of the classes
    named. No query when no window opens scores now; else the compliance check's three."""
    classes = frozenset(class_ids)
    if year is None or (teacher_id is None and not classes):
        return []
    terms = [t for t in (1, 2) if any(w.category in (category_of_term(t), DataCategory.WHOLE_YEAR) for w in windows)]
    if not any(w.opens_at <= now < w.locks_at for w in windows) or not terms:
        return []
    out = []
    for row in unfinished_sheets(year_start=year.start_year, category=DataCategory.WHOLE_YEAR):
        if row["term"] not in terms:
            continue
        teachers = tuple(row["teacher_ids"])
        if not (row["class_id"] in classes or (teacher_id is not None and teacher_id in teachers)):
            continue
        closes = entry_closes_at(windows, term=row["term"], grade=row["grade"], now=now)
        if closes is None:
            continue
        out.append(
            OpenSheet(
                row["class_id"],
                row["class_name"],
                row["grade"],
                row["subject_id"],
                row["subject_name"],
                row["term"],
                row["filled"],
                row["required"],
                teachers,
                closes,
            )
        )
    return out


@dataclass(frozen=True)
class MissingUpdate:
    class_id: int
    class_name: str
    month: dt.date  # the month's first day


def monthly_update_missing(*, today: dt.date, class_ids: Iterable[int]) -> list[MissingUpdate]:
    """The classes named whose homeroom teacher has not updated attendance or conduct for last month
    (``monthlyduty.classes_without_update``); nothing when last month is outside the school's year. Three queries."""
    classes = frozenset(class_ids)
    if not classes:
        return []
    month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    missing = classes_without_update(month=month)["without_update"]
    return [MissingUpdate(c["class_id"], c["class_name"], month) for c in missing if c["class_id"] in classes]
