"""The figures of this school's rollup row, recomputed from its own tables (reconciliation)."""

from __future__ import annotations

from django.db.models import Count
from hocba.kernel import recordstates

from .models import Absence, Assessment, Conduct, Enrolment, RecordBook, SchoolYear


def school_figures(year: SchoolYear) -> dict[str, int]:
    by_term = dict(Assessment.objects.filter(year=year).values_list("term").annotate(n=Count("id")))
    states = dict(RecordBook.objects.filter(year=year).values_list("state").annotate(n=Count("id")))
    return {
        "students": Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True).count(),
        **{f"records_{state}": states.get(state, 0) for state in recordstates.STATES},
        "entries": sum(by_term.values()),
        "entries_term1": by_term.get(1, 0),
        "entries_term2": by_term.get(2, 0),
        "conduct_entries": Conduct.objects.filter(year=year).count(),
        "absences": Absence.objects.filter(year=year).count(),
    }
