"""Rollups: kept by every write in the same transaction, and a reconciliation that agrees with them."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from schools import onroll
from schools.models import SchoolYear, Student
from schools.rollups import FIELDS, school_figures
from schools.services.classwork import conduct_save
from schools.services.common import system_access
from schools.services.records import records_submit
from schools.services.setup import class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import class_carry_over, student_enrol, student_move_class, student_transfer_out
from tenants.models import RollupDrift, SchoolRollup
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


def test_incremental_students_equal_reconciliation_after_each_movement(w, klass, monkeypatch):
    """Every movement's delta follows the one meaning of students (on a class's roll today): after each, the row
    equals the recomputed figures of both years, and a reconciliation finds nothing to fix."""
    k, system, today = klass, system_access(klass.school.pk), dt.date(2026, 5, 20)
    monkeypatch.setattr(onroll, "school_today", lambda: today)
    seven = class_create(
        access=system,
        year=school_year_open(access=system, start_year=2026, levels=["lower_secondary"]),
        name="7A1",
        grade=7,
        homeroom_teacher_id=None,
    )
    years = list(SchoolYear.objects.order_by("start_year"))
    student = Student.objects.get
    steps = [
        lambda: student_transfer_out(access=system, student=student(pk=k.students[0]), on=dt.date(2026, 5, 25)),
        lambda: student_transfer_out(access=system, student=student(pk=k.students[1]), on=dt.date(2026, 5, 4)),
        lambda: student_move_class(access=system, student=student(pk=k.students[2]), to_class=k.other_class, on=today),
        lambda: student_enrol(
            access=system,
            school_class=k.school_class,
            profile={"full_name": "Ngô Đến Sau", "date_of_birth": "02/02/2014", "gender": "F"},
            starts_on=dt.date(2026, 5, 28),
            today=today,
        ),
        lambda: class_carry_over(access=system, school_class=k.school_class, to_class=seven),
    ]
    for step in steps:
        step()
        for year in years:
            row = SchoolRollup.objects.filter(school_id=w.school_a, year_start=year.start_year).first()
            kept = {f: getattr(row, f) for f in FIELDS} if row else dict.fromkeys(FIELDS, 0)
            assert kept == school_figures(year), (step, year.start_year)
    assert [school_figures(y)["students"] for y in years] == [6, 0]  # 7 - 1 left on 04/05; the rest come later
    reconcile_school(w.school_a, k.school.schema_name)
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()
