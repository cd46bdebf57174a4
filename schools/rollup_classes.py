"""The figures of a school's classes and those no write knows the change of (``tenants.rollups.DERIVED_FIELDS``:
sheets required and finished, profiles and conduct complete): recomputed from the school's tables by the drain of
stale classes (``stale_refresh``) and by the reconciliation (``figures_with_classes``). The writers only mark their
class stale (``rollups.class_rollup_add(stale=True)``) in their transaction."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from tenants import rollups as public_rollups

from . import compliance, onroll
from .models import Enrolment, RecordBook, SchoolClass, SchoolYear, Student
from .rollups import figures_clearing_outbox, school_figures
from .services.common import take_chain_lock

CLASS_FIELDS = public_rollups.CLASS_FIELDS


def class_figures(year: SchoolYear, day: dt.date) -> dict[int, dict]:
    """Every class of the year with its figures (``tenants.rollups.CLASS_FIELDS``), its name and grade: students on
    its roll on ``day``, record books per state, sheets required and finished per term (``compliance``). Constant
    queries."""
    classes = {
        pk: {"name": name, "grade": grade, **dict.fromkeys(CLASS_FIELDS, 0)}
        for pk, name, grade in SchoolClass.objects.filter(year=year).values_list("pk", "name", "grade")
    }
    rolls = (
        Enrolment.objects.filter(onroll.on_roll(day), school_class__year=year)
        .values_list("school_class_id")
        .annotate(n=Count("id"))
    )
    for class_id, n in rolls:
        classes[class_id]["students"] = n
    states = RecordBook.objects.filter(year=year).values_list("school_class_id", "state").annotate(n=Count("id"))
    for class_id, state, n in states:
        if class_id in classes:
            classes[class_id][f"records_{state}"] += n
    for class_id, sheets in compliance.class_sheets(year).items():
        if class_id in classes:
            classes[class_id].update(sheets)
    return classes


def derived_figures(year: SchoolYear, day: dt.date, classes: dict[int, dict]) -> dict[str, int]:
    """The school year's ``DERIVED_FIELDS``: students on roll on ``day`` whose record-book identity is filled
    (``compliance.PROFILE_FIELDS``), conduct entered per term (``compliance.conduct_done``) and the classes'
    sheets (``class_figures``) summed."""
    profile = Student.objects.filter(
        compliance.profile_filled(),
        pk__in=Enrolment.objects.filter(onroll.on_roll(day), school_class__year=year).values("student_id"),
    ).count()
    conduct = compliance.conduct_done(year, day)
    return {
        "profile_complete": profile,
        **{f: sum(c[f] for c in classes.values()) for f in compliance.SHEET_FIGURES},
        "conduct_done_term1": conduct[1],
        "conduct_done_term2": conduct[2],
    }


def stale_refresh(school_id: int) -> dict:
    """The drain of this school's stale classes: under the school's chain lock (no write of the school commits
    meanwhile; those that come after mark their class stale again), the sheets of every class of each year with a
    stale class recomputed and written with the school's ``DERIVED_FIELDS``, the stale marks cleared. In the
    caller's transaction; returns ``{"years": [...], "classes": n}``."""
    years = public_rollups.stale_years(school_id)
    if not years:
        return {"years": [], "classes": 0}
    take_chain_lock()
    day = onroll.school_today()
    n = 0
    found = list(SchoolYear.objects.filter(start_year__in=years))
    for gone in set(years) - {year.start_year for year in found}:  # a year deleted: its class rows go
        public_rollups.class_rows_set(school_id=school_id, year_start=gone, rows={}, fields=())
    for year in found:
        classes = class_figures(year, day)
        public_rollups.class_rows_set(
            school_id=school_id, year_start=year.start_year, rows=classes, fields=public_rollups.CLASS_SHEET_FIELDS
        )
        public_rollups.derived_set(
            school_id=school_id, year_start=year.start_year, values=derived_figures(year, day, classes)
        )
        n += len(classes)
    return {"years": years, "classes": n}


def figures_with_classes() -> dict:
    """``rollups.figures_clearing_outbox`` (the school's chain lock and its outbox lock taken, held by the caller's
    transaction), each year's figures completed with its ``DERIVED_FIELDS``, and every class's figures
    (``classes``: {start year: {class id: figures}}), read under the same locks."""
    found = figures_clearing_outbox()
    day = onroll.school_today()
    found["classes"] = {}
    for year in SchoolYear.objects.all():
        classes = found["classes"][year.start_year] = class_figures(year, day)
        found["figures"][year.start_year].update(derived_figures(year, day, classes))
    return found


def rollup_figures() -> dict[int, dict[str, int]]:
    """Every year's figures, ``DERIVED_FIELDS`` included (a restored school's rows)."""
    day = onroll.school_today()
    return {
        year.start_year: {**school_figures(year, day), **derived_figures(year, day, class_figures(year, day))}
        for year in SchoolYear.objects.all()
    }
