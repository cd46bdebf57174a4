"""Rollups: kept by every write in the same transaction, and a reconciliation that agrees with them."""

from __future__ import annotations

from django.db import connection

from schools.rollups import school_figures
from schools.services.classwork import conduct_save
from schools.services.records import records_submit
from schools.services.sheets import sheet_save
from tenants.models import SchoolRollup
from tenants.tasks import reconcile_school


def test_incremental_rollup_equals_reconciliation(w, klass):
    teacher, homeroom = klass.access(w, "teacher_a"), klass.access(w, "homeroom_a")
    cells = [{"student": s, "column": c, "value": "7"} for s in klass.students for c in ("tx1", "gk")]
    sheet_save(access=teacher, school_class=klass.school_class, subject=klass.math, term=1, cells=cells)
    sheet_save(
        access=teacher,
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "gk", "value": ""}],
    )
    sheet_save(
        access=teacher,
        school_class=klass.school_class,
        subject=klass.math,
        term=2,
        cells=[{"student": s, "column": "gk", "value": "8"} for s in klass.students[:4]],
    )
    conduct_save(
        access=homeroom,
        school_class=klass.school_class,
        term=1,
        entries=[{"student": s, "level": "K"} for s in klass.students],
    )
    records_submit(access=homeroom, school_class=klass.school_class)
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    incremental = {k: getattr(row, k) for k in school_figures(klass.school_class.year)}
    assert incremental == school_figures(klass.school_class.year)
    assert incremental["entries"] == 15 and incremental["records_submitted"] == 6 and incremental["records_draft"] == 1
    assert (incremental["entries_term1"], incremental["entries_term2"]) == (11, 4)  # per category: scores of term I, II
    # Drift (someone edited the public row) is repaired by the reconciliation.
    SchoolRollup.objects.filter(pk=row.pk).update(entries=999, entries_term2=0)
    reconcile_school(w.school_a, klass.school.schema_name)
    row.refresh_from_db()
    assert (row.entries, row.entries_term2) == (15, 4) and row.reconciled_at is not None


def test_reconcile_task_enters_each_school(w, klass):
    from tenants.tasks import rollups_reconcile_chunk

    connection.set_schema_to_public()  # where a worker starts
    rollups_reconcile_chunk.run([[w.school_a, klass.school.schema_name], [w.school_b, "s_thcs_binh_minh"]])
    assert connection.schema_name == "public"
    assert SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).exists()
    connection.set_tenant(klass.school)
