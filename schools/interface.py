"""What the public side may ask of a school: plain data in, plain data out.

The one door from public code into a school. Each function runs inside the school's schema, entered by
``tenants/perschool.py`` (the only caller); none takes or returns a model instance. Keep it small: a new question
from the public side is a new function here, not an import of a school module."""

from __future__ import annotations

import datetime as dt

from . import compliance, monthlyduty
from .audit import chain
from .demo import seed_school
from .models import Enrolment, SchoolClass, SchoolYear
from .rollups import OUTBOX_TABLE, figures_clearing_outbox, outbox_take, school_figures
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
    """The school's rollup figures recomputed from its tables, per school year (keyed by its start year)."""
    return {year.start_year: school_figures(year) for year in SchoolYear.objects.all()}


# The rollup outbox (HOCBA_ROLLUP_MODE=outbox): its table's name, for the sweep that looks into many schools at once.
ROLLUP_OUTBOX_TABLE = OUTBOX_TABLE


def rollup_outbox_take() -> dict:
    """The outbox rows deleted and summed: ``{"years": {start_year: {field: delta}}, "rows": n, "lag": seconds}``."""
    return outbox_take()


def rollup_figures_clearing_outbox() -> dict:
    """The figures per school year (``figures``) and, as of the same moment, those years' outbox rows taken as
    ``rollup_outbox_take`` (reconciliation; in the caller's transaction)."""
    return figures_clearing_outbox()


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


def audit_rows(after_id: int, limit: int) -> list[tuple]:
    """Up to ``limit`` audit entries after ``after_id``, in id order, as stored (tuples in
    ``hocba.kernel.auditchain.COLUMNS`` order): the public side recomputes their hashes itself."""
    return chain.rows(after_id, limit)


def seed_demo(*, school_id: int, levels: list[str], staff: dict[str, int | None], today: dt.date) -> bool:
    """The demo's year, classes, students and teachers' work in this school; False when it was there already."""
    return seed_school(school_id=school_id, levels=levels, staff=staff, today=today)
