"""Rollups: kept by every write in the same transaction, and a reconciliation that agrees with them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from schools import onroll
from schools.models import RecordBook, RollupOutbox, SchoolYear, Student
from schools.rollups import FIELDS, school_figures
from schools.services.classwork import conduct_save
from schools.services.common import system_access
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup import class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import class_carry_over, student_enrol, student_move_class, student_transfer_out
from tenants.models import RollupDrift, SchoolRollup, Window
from tenants.rollup_outbox import drain_school
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


def _kept(school_id: int, year_start: int) -> dict[str, int]:
    row = SchoolRollup.objects.filter(school_id=school_id, year_start=year_start).values(*FIELDS).first()
    return dict(row) if row else dict.fromkeys(FIELDS, 0)


@pytest.mark.parametrize("mode", ["inline", "outbox"])
def test_classes_and_reopened_follow_each_write_in_both_modes(w, klass, settings, mode):
    """A class created adds to ``classes``; a record reopened the first time adds to ``records_reopened`` (a second
    reopen of the same book does not: the figure counts books reopened at least once). Written into the public row in
    the writer's transaction in both modes (no outbox column): after each step the row, with the outbox drained,
    equals the recomputed figures, and a reconciliation then finds nothing to fix."""
    settings.ROLLUP_MODE = mode
    k, system, principal = klass, system_access(klass.school.pk), klass.access(w, "principal_a")
    homeroom, year = k.access(w, "homeroom_a"), k.school_class.year
    record = RecordBook.objects.filter(school_class=k.school_class).order_by("pk")
    steps = [
        lambda: class_create(access=system, year=year, name="6A3", grade=6, homeroom_teacher_id=None),
        lambda: records_submit(access=homeroom, school_class=k.school_class),
        lambda: records_approve(access=principal, school_class=k.school_class, reason="Duyệt cuối năm"),
        lambda: record_reopen(access=principal, record=record[0], reason="Sửa nhận xét"),
        lambda: record_reopen(access=principal, record=record[1], reason="Sửa điểm"),
        lambda: records_submit(access=homeroom, school_class=k.school_class),
        lambda: record_reopen(access=principal, record=record[0], reason="Sửa lại lần nữa"),
    ]
    for step in steps:
        step()
        if mode == "outbox":
            drain_school(w.school_a, k.school.schema_name, via="signal")
            assert RollupOutbox.objects.filter(year_start=2025).count() == 0
        assert _kept(w.school_a, 2025) == school_figures(year), step
    figures = school_figures(year)
    assert (figures["classes"], figures["records_reopened"]) == (3, 2)
    reconcile_school(w.school_a, k.school.schema_name)
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()


def test_reconciliation_fixes_and_records_drift_of_the_new_figures(w, klass):
    reconcile_school(w.school_a, klass.school.schema_name)
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(classes=9, records_reopened=4)
    reconcile_school(w.school_a, klass.school.schema_name, run="check")
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert (row.classes, row.records_reopened) == (2, 0)
    drift = {d.field: (d.old, d.new) for d in RollupDrift.objects.filter(school_id=w.school_a, run="check")}
    assert drift == {"classes": (9, 2), "records_reopened": (4, 0)}


def test_snapshot_carries_classes_and_records_reopened(w, klass):
    from tenants.models import ComplianceSnapshot
    from tenants.reminders import snapshot_chunk
    from tests.windows.test_reminders import province_window

    principal, homeroom = klass.access(w, "principal_a"), klass.access(w, "homeroom_a")
    records_submit(access=homeroom, school_class=klass.school_class)
    record = RecordBook.objects.filter(school_class=klass.school_class).first()
    record_reopen(access=principal, record=record, reason="Sửa nhận xét")
    connection.set_schema_to_public()
    window = province_window(w, opens=-60, locks=60)
    Window.objects.filter(pk=window.pk).update(year_start=2025)
    assert snapshot_chunk(window.pk, [w.school_a, w.school_b]) == 2
    figures = ComplianceSnapshot.objects.get(window=window, school_id=w.school_a).figures
    assert (figures["classes"], figures["records_reopened"]) == (2, 1)
    assert figures["records"]["draft"] == 2 and figures["records"]["submitted"] == 5
    missing = ComplianceSnapshot.objects.get(window=window, school_id=w.school_b).figures
    assert (missing["classes"], missing["records_reopened"], missing["rollup_missing"]) == (0, 0, True)
    connection.set_tenant(klass.school)
