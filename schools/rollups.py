"""The figures of this school's rollup row, recomputed from its own tables (reconciliation)."""

from __future__ import annotations

from django.db.models import Count

from .models import Absence, Assessment, Conduct, Enrolment, RecordBook, SchoolYear


def school_figures(year: SchoolYear) -> dict[str, int]:
    states = dict(RecordBook.objects.filter(year=year).values_list("state").annotate(n=Count("id")))
    return {
        "students": Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True).count(),
        **{f"records_{state}": states.get(state, 0) for state in ("draft", "submitted", "approved", "signed", "locked")},
        "entries": Assessment.objects.filter(year=year).count(),
        "conduct_entries": Conduct.objects.filter(year=year).count(),
        "absences": Absence.objects.filter(year=year).count(),
    }
