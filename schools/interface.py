"""What the public side may ask of a school: plain data in, plain data out.

The one door from public code into a school. Each function runs inside the school's schema, entered by
``tenants/perschool.py`` (the only caller); none takes or returns a model instance. Keep it small: a new question
from the public side is a new function here, not an import of a school module."""

from __future__ import annotations

import datetime as dt

from hocba.kernel.text import fold

from . import compliance, monthlyduty, onroll, rollup_days
from .audit import chain, history
from .demo import seed_school
from .models import Enrolment, SchoolClass
from .rollup_classes import figures_with_classes, stale_refresh
from .rollup_classes import rollup_figures as figures_of_years
from .rollups import OUTBOX_TABLE, distributions_recomputed, outbox_take
from .selectors import current_year


def unfinished_sheets(*, year_start: int, category: str, grades: list[int]) -> list[dict]:
    """The sheets of the year still missing values for the category (one dict per sheet and teacher)."""
    return compliance.unfinished_sheets(year_start=year_start, category=category, grades=grades)


def ready_to_sign(*, year_start: int, grades: list[int]) -> dict:
    """Record books of the year ready to sign, not ready, done — in all and per class."""
    return compliance.ready_to_sign(year_start=year_start, grades=grades)


def classes_without_monthly_update(*, month: dt.date) -> dict:
    """The classes with students in the month and no attendance or conduct update by their homeroom teacher."""
    return monthlyduty.classes_without_update(month=month)


def rollup_figures() -> dict[int, dict[str, int]]:
    """The school's rollup figures recomputed from its tables, per school year (keyed by its start year), with the
    figures the drain of stale classes keeps (``tenants.rollups.DERIVED_FIELDS``)."""
    return figures_of_years()


def class_rollups_refresh(*, school_id: int) -> dict:
    """The drain of the school's stale classes (``rollups.stale_refresh``): takes the school's chain lock, in the
    caller's transaction. Returns ``{"years": [start years], "classes": n}``."""
    return stale_refresh(school_id)


def edits_after_approval(*, after_id: int, limit: int) -> dict:
    """The audit entries after ``after_id`` (at most ``limit``) that the history reads as made after approval, per
    school year: ``{"by_year": {start_year: entries}, "last_id": the last entry read (``after_id`` when none),
    "more": bool}``."""
    return history.after_approval_counts(after_id=after_id, limit=limit)


def students_day_due(after: dt.date | None) -> bool:
    """Whether an enrolment starts or ends after ``after`` (None: ever) and by the school's today: the ``students``
    figures as of ``after`` are no longer today's (the daily pass reconciles the school then). One query."""
    return Enrolment.objects.filter(onroll.rolls_changed_between(after, onroll.school_today())).exists()


def students_day_moves(*, school_id: int, after: dt.date) -> dict[int, int]:
    """What the days since ``after`` changed in the ``students`` figures, added as deltas: {start_year: delta}.
    Takes the school's chain lock: in the caller's transaction."""
    return rollup_days.students_day_moves(school_id=school_id, after=after)


# The rollup outbox (HOCBA_ROLLUP_MODE=outbox): its table's name, for the sweep that looks into many schools at once.
ROLLUP_OUTBOX_TABLE = OUTBOX_TABLE


def rollup_outbox_take() -> dict:
    """The outbox rows deleted and summed: ``{"years": {start_year: {field: delta}}, "rows": n, "lag": seconds}``."""
    return outbox_take()


def rollup_figures_clearing_outbox() -> dict:
    """The figures per school year (``figures``, ``DERIVED_FIELDS`` included), every class's figures per school year
    (``classes``: {start_year: {class id: {name, grade, figures}}}) and, as of the same moment, those years' outbox
    rows taken as ``rollup_outbox_take`` (reconciliation; in the caller's transaction, which holds the school's chain
    lock and its outbox lock, taken here, until it commits)."""
    return figures_with_classes()


def result_distributions() -> dict:
    """The result distributions recomputed from the records' frozen results, per school year (``years``:
    {start_year: {(grade, gender, ethnic group, measure, value): count}}), and the students' ethnicity values that
    name none of the 54 groups (``unmapped``: raw value → students). Takes the school's chain lock: in the caller's
    transaction (reconciliation)."""
    return distributions_recomputed()


def unknown_class_or_student_ids(class_ids: list[int], student_ids: list[int]) -> dict[str, list[int]]:
    """The ids that are not a class (or a student enrolled in a class) of the school's current year."""
    year = current_year()
    out: dict[str, list[int]] = {}
    if class_ids:
        known = (
            set(SchoolClass.objects.filter(year=year, pk__in=class_ids).values_list("pk", flat=True)) if year else set()
        )
        if set(class_ids) - known:
            out["class_ids"] = sorted(set(class_ids) - known)
    if student_ids:
        known = (
            set(
                Enrolment.objects.filter(school_class__year=year, student_id__in=student_ids).values_list(
                    "student_id", flat=True
                )
            )
            if year
            else set()
        )
        if set(student_ids) - known:
            out["student_ids"] = sorted(set(student_ids) - known)
    return out


def grant_class_choices() -> list[tuple[int, str]]:
    """The classes of the school's current year as (id, name), for a read-grant request: names of classes only."""
    year = current_year()
    if year is None:
        return []
    return list(SchoolClass.objects.filter(year=year).order_by("grade", "name").values_list("pk", "name"))


def grant_targets(class_ids: list[int], student_class_id: int | None, names: list[str]) -> dict:
    """A read-grant request's records: the classes of the current year among ``class_ids``, and the students of the
    class ``student_class_id`` whose full name (accents and case aside) is one of ``names``. Returns
    ``{"classes": [(id, name)], "students": [(id, name, class name)], "unknown_names": [...]}``; two queries."""
    year = current_year()
    out: dict = {"classes": [], "students": [], "unknown_names": []}
    if year is None:
        out["unknown_names"] = list(names)
        return out
    wanted = set(class_ids) | ({student_class_id} if student_class_id else set())
    classes = dict(SchoolClass.objects.filter(year=year, pk__in=wanted).values_list("pk", "name"))
    out["classes"] = [(pk, classes[pk]) for pk in class_ids if pk in classes]
    if names and student_class_id in classes:
        folded = {fold(n): n for n in names}
        found = {
            search: (pk, full_name)
            for pk, full_name, search in Enrolment.objects.filter(
                school_class_id=student_class_id, ends_on__isnull=True, student__search_name__in=list(folded)
            ).values_list("student_id", "student__full_name", "student__search_name")
        }
        out["students"] = [(*found[k], classes[student_class_id]) for k in folded if k in found]
        out["unknown_names"] = [n for k, n in folded.items() if k not in found]
    else:
        out["unknown_names"] = list(names)
    return out


def audit_rows(after_id: int, limit: int) -> list[tuple]:
    """Up to ``limit`` audit entries after ``after_id``, in id order, as stored (tuples in
    ``hocba.kernel.auditchain.COLUMNS`` order): the public side recomputes their hashes itself."""
    return chain.rows(after_id, limit)


def seed_demo(*, school_id: int, levels: list[str], staff: dict[str, int | None], today: dt.date) -> bool:
    """The demo's year, classes, students and teachers' work in this school; False when it was there already."""
    return seed_school(school_id=school_id, levels=levels, staff=staff, today=today)
