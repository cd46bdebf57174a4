"""The boards' rollups beyond the deltas: one row per class (students and records per state moved by the writes,
sheets recomputed by the drain of stale classes), the school's completeness figures (profiles, sheets, conduct per
term), the daily count of edits after approval, the day's copy — and a reconciliation that recomputes all of them
under the school's chain lock and records every figure it had to fix."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from hocba.celery import app

import schools.rollup_classes as rollup_classes
from schools import compliance, onroll
from schools.audit.history import history
from schools.models import Enrolment, RecordBook, SchoolClass, SchoolYear, Student
from schools.rollup_classes import class_figures, derived_figures
from schools.rollups import FIELDS, school_figures
from schools.rules import identity
from schools.services.classwork import conduct_save
from schools.services.common import school_write, system_access
from schools.services.exemptions import exemption_record
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup.classes import assignment_clear, class_create
from schools.services.sheets import sheet_save
from schools.services.students import student_enrol, student_move_class, student_transfer_out, student_update
from tenants import rollup_edits, rollup_outbox, rollups, tasks
from tenants.models import ClassRollup, ComplianceSnapshot, RollupDay, RollupDrift, SchoolRollup, Window
from tenants.reminders import snapshot_chunk
from tests.support import in_thread, run_in_thread
from tests.tenants.test_rollup_reconcile import RACE_YEAR, race_school  # noqa: F401
from tests.windows.test_reminders import province_window

DAY = dt.date(2026, 5, 20)  # a day of the 2025–2026 year: every enrolment of the fixture is on the roll


@pytest.fixture
def day(monkeypatch):
    monkeypatch.setattr(onroll, "school_today", lambda: DAY)
    return DAY


def _class_rows(school_id: int, year_start: int) -> dict[int, dict]:
    rows = ClassRollup.objects.filter(school_id=school_id, year_start=year_start)
    return {r["class_id"]: r for r in rows.values("class_id", "name", "grade", *rollups.CLASS_FIELDS)}


def _recomputed(year: SchoolYear) -> dict[int, dict]:
    return {pk: {"class_id": pk, **figures} for pk, figures in class_figures(year, DAY).items()}


def _agrees(w, k, year: SchoolYear) -> None:
    """After the drain: the class rows and the school row equal the figures recomputed from the school's tables."""
    rollup_outbox.drain_stale_school(w.school_a, k.school.schema_name)
    assert not ClassRollup.objects.filter(school_id=w.school_a, stale_since__isnull=False).exists()
    assert _class_rows(w.school_a, year.start_year) == _recomputed(year)
    row = SchoolRollup.objects.values(*FIELDS, *rollups.DERIVED_FIELDS, *rollups.KEPT_ELSEWHERE).get(
        school_id=w.school_a, year_start=year.start_year
    )
    classes = class_figures(year, DAY)
    assert row == {**school_figures(year, DAY), **derived_figures(year, DAY, classes)}


def _full_sheet(k, term: int) -> list[dict]:
    """Every required cell of the class's math sheet, for every student on its roll."""
    keys = [c.key for c in compliance.required_columns(k.math, k.school_class, term)]
    students = Enrolment.objects.filter(school_class=k.school_class, ends_on__isnull=True).values_list(
        "student_id", flat=True
    )
    return [{"student": s, "column": key, "value": "7"} for s in students for key in keys]


def _personal_id(born: dt.date, sex: str, n: int) -> str:
    return f"072{identity.century_sex_digit(born, sex)}{born:%y}{n:06d}"


def test_incremental_equals_reconciliation_for_every_new_figure(w, klass, day):
    """A realistic sequence of writes; after each (and the drain) the kept rows equal the recomputed figures, and a
    reconciliation at the end finds nothing to fix."""
    k, system = klass, system_access(klass.school.pk)
    teacher, homeroom, principal = k.access(w, "teacher_a"), k.access(w, "homeroom_a"), k.access(w, "principal_a")
    year = k.school_class.year
    born = dt.date(2014, 3, 5)
    complete = {
        "full_name": "Trần Đủ Hồ Sơ",
        "date_of_birth": born.strftime("%d/%m/%Y"),
        "gender": "F",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "place_of_birth": "Tây Ninh",
        "address": "Ấp 3, xã Nam Lợi",
        "personal_id": _personal_id(born, "F", 1),
        "guardians": [{"name": "Trần Văn Cha", "relation": "Bố"}],
    }
    first = Student.objects.get(pk=k.students[0])
    steps = [
        lambda: student_enrol(access=system, school_class=k.school_class, profile=complete, today=DAY),
        lambda: sheet_save(
            access=teacher, school_class=k.school_class, subject=k.math, term=1, cells=_full_sheet(k, 1)
        ),
        lambda: conduct_save(
            access=homeroom,
            school_class=k.school_class,
            term=1,
            entries=[{"student": s, "level": "T"} for s in k.students[:5]],
        ),
        lambda: student_transfer_out(access=system, student=Student.objects.get(pk=k.students[5]), on=DAY),
        lambda: exemption_record(
            access=system,
            school_class=k.school_class,
            student_id=k.students[1],
            subject_id=k.pe.pk,
            term=None,
            part="subject",
            reason="Giấy khám sức khỏe",
            decision_number="12/QĐ",
            decided_on=dt.date(2025, 9, 20),
            today=DAY,
        ),
        lambda: student_move_class(
            access=system, student=Student.objects.get(pk=k.students[4]), to_class=k.other_class, on=DAY
        ),
        lambda: student_update(
            access=system,
            student=first,
            profile={
                **complete,
                "full_name": first.full_name,
                "gender": first.gender,
                "personal_id": _personal_id(born, first.gender, 2),
            },
            today=DAY,
        ),
        lambda: records_submit(access=homeroom, school_class=k.school_class),
        lambda: records_approve(access=principal, school_class=k.school_class, reason="Duyệt cuối năm học"),
        lambda: record_reopen(
            access=principal,
            record=RecordBook.objects.filter(school_class=k.school_class, state="approved").first(),
            reason="Sửa nhận xét",
        ),
        lambda: class_create(access=system, year=year, name="6A3", grade=6, homeroom_teacher_id=None),
        lambda: assignment_clear(access=system, school_class=k.school_class, subject=k.pe),
    ]
    for step in steps:
        step()
        _agrees(w, k, year)
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert row.profile_complete == 2  # the student enrolled whole, and the first one once completed
    assert (row.sheets_required_term1, row.sheets_done_term1) == (1, 1)  # math done; PE cleared; 6A2 has none
    assert (row.sheets_required_term2, row.sheets_done_term2) == (1, 0)
    assert row.conduct_done_term1 == 5  # five entered; the one moved to 6A2 is still on a roll of the year
    classes = _class_rows(w.school_a, 2025)
    six_a = classes[k.school_class.pk]
    assert len(classes) == 3 and six_a["students"] == 5  # 6 + 1 enrolled − 1 left − 1 moved
    assert (six_a["records_draft"], six_a["records_approved"]) == (1, 5)  # the one who left keeps their book here
    assert classes[k.other_class.pk]["records_draft"] == 2  # the moved student's book followed them
    reconcile = tasks.reconcile_school
    reconcile(w.school_a, k.school.schema_name, run="check")
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()
    assert not ClassRollup.objects.filter(school_id=w.school_a, reconciled_at__isnull=True).exists()


def test_the_reconciliation_records_the_drift_of_class_rows_and_new_figures(w, klass, day):
    k = klass
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    six_a = k.school_class.pk
    ClassRollup.objects.filter(school_id=w.school_a, class_id=six_a).update(students=40, sheets_done_term1=3)
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(profile_complete=9, conduct_done_term2=2)
    ClassRollup.objects.create(school_id=w.school_a, year_start=2025, class_id=999999, name="9Z", grade=9, students=4)
    tasks.reconcile_school(w.school_a, k.school.schema_name, run="check")
    drift = {(d.table, d.field): (d.old, d.new) for d in RollupDrift.objects.filter(school_id=w.school_a, run="check")}
    assert drift == {
        ("classrollup", f"{six_a}.students"): (40, len(k.students)),
        ("classrollup", f"{six_a}.sheets_done_term1"): (3, 0),
        ("classrollup", "999999.students"): (4, 0),
        ("schoolrollup", "profile_complete"): (9, 0),
        ("schoolrollup", "conduct_done_term2"): (2, 0),
    }
    assert set(_class_rows(w.school_a, 2025)) == {six_a, k.other_class.pk}  # the row of a class gone is deleted
    assert _class_rows(w.school_a, 2025)[six_a]["students"] == len(k.students)


def test_a_stale_class_is_pending_not_drift_and_the_drain_fixes_it(w, klass, day):
    k = klass
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    sheet_save(
        access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=1, cells=_full_sheet(k, 1)
    )
    stale = ClassRollup.objects.get(school_id=w.school_a, class_id=k.school_class.pk)
    assert stale.stale_since is not None and stale.sheets_done_term1 == 0  # not drained yet
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).sheets_done_term1 == 0
    # A corrupted figure of the same row is still drift; the pending sheets are not.
    ClassRollup.objects.filter(pk=stale.pk).update(records_draft=1)
    connection.set_schema_to_public()
    assert tasks.rollups_stale_drain.run() == {"schools": 1, "classes": 2, "failed": 0}  # the beat's task
    assert rollup_outbox.drain_stale(budget=5) == {"schools": 0, "classes": 0, "failed": 0}  # nothing left
    assert app.conf.beat_schedule["rollups-stale-drain"]["schedule"].total_seconds() <= 2  # current within seconds
    connection.set_tenant(k.school)
    drained = ClassRollup.objects.get(pk=stale.pk)
    assert drained.stale_since is None and (drained.sheets_required_term1, drained.sheets_done_term1) == (2, 1)
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).sheets_done_term1 == 1
    # Stale again, then reconciled before any drain: only the hand-made drift is recorded.
    sheet_save(
        access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=2, cells=_full_sheet(k, 2)
    )
    tasks.reconcile_school(w.school_a, k.school.schema_name, run="pending")
    drift = {(d.table, d.field) for d in RollupDrift.objects.filter(school_id=w.school_a, run="pending")}
    assert drift == {("classrollup", f"{k.school_class.pk}.records_draft")}
    assert ClassRollup.objects.get(pk=stale.pk).sheets_done_term2 == 1


def test_the_first_reconciliation_of_the_day_writes_the_day_once(w, klass, day):
    k = klass
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    today = timezone.localdate()
    first = RollupDay.objects.get(school_id=w.school_a, year_start=2025, day=today)
    assert (
        first.figures["students"] == 7 and first.figures["records_draft"] == 7 and "sheets_done_term1" in first.figures
    )
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(students=3)
    student_enrol(
        access=system_access(k.school.pk),
        school_class=k.school_class,
        profile={"full_name": "Lê Đến Sau", "date_of_birth": "02/02/2014", "gender": "F"},
        today=DAY,
    )
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    days = RollupDay.objects.filter(school_id=w.school_a)
    assert days.count() == 1 and days.get().figures == first.figures  # the day's first copy is kept


def test_edits_after_approval_are_counted_once_by_the_daily_pass(w, klass, day):
    """The count reads the history's own flags: the entries after the mark that the history page shows as made
    after approval. A second pass counts nothing more; a new edit is counted by the next."""
    k, system = klass, system_access(klass.school.pk)
    records_submit(access=k.access(w, "homeroom_a"), school_class=k.school_class)
    records_approve(access=k.access(w, "principal_a"), school_class=k.school_class, reason="Duyệt cuối năm học")
    student = Student.objects.get(pk=k.students[0])

    def edit(place: str) -> None:
        profile = {"full_name": student.full_name, "date_of_birth": "05/03/2014", "gender": "M"}
        student_update(access=system, student=student, profile={**profile, "place_of_birth": place}, today=DAY)

    edit("Tây Ninh")
    flagged = {c.entry_id for c in history(limit=200).changes if c.after_approval}
    assert len(flagged) == 1
    connection.set_schema_to_public()
    assert rollup_edits.count_edits(w.school_a, k.school.schema_name, batch=5) == 1  # several batches
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert row.edits_after_approval == 1 and row.edits_counted_to >= max(flagged)
    assert rollup_edits.count_edits(w.school_a, k.school.schema_name) == 0
    connection.set_tenant(k.school)
    edit("Long An")
    connection.set_schema_to_public()
    assert rollup_edits.edits_chunk([k.school.schema_name]) == {"schools": 1, "edits": 1, "failed": 0}
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).edits_after_approval == 2
    connection.set_tenant(k.school)


def test_snapshots_carry_the_new_figures_drained_at_the_lock(w, klass, day):
    k = klass
    sheet_save(
        access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=1, cells=_full_sheet(k, 1)
    )
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(edits_after_approval=3)
    connection.set_schema_to_public()
    window = province_window(w, opens=-60, locks=60)
    Window.objects.filter(pk=window.pk).update(year_start=2025)
    assert snapshot_chunk(window.pk, [w.school_a, w.school_b]) == 2
    figures = ComplianceSnapshot.objects.get(window=window, school_id=w.school_a).figures
    assert (figures["sheets_required_term1"], figures["sheets_done_term1"]) == (2, 1)  # drained before the copy
    assert (figures["profile_complete"], figures["conduct_done_term1"], figures["records_archived"]) == (0, 0, 0)
    assert figures["edits_after_approval"] == 3
    missing = ComplianceSnapshot.objects.get(window=window, school_id=w.school_b).figures
    assert missing["sheets_done_term1"] == 0 and missing["rollup_missing"] is True
    connection.set_tenant(k.school)


def test_a_class_write_committing_between_the_read_and_the_overwrite_keeps_its_delta(w, race_school, monkeypatch):  # noqa: F811
    """Conflict 2 for the class rows: the reconciliation has read the classes' figures and pauses; a writer (the
    chain lock, a class delta, the stale mark) queues behind it, then lands on top of the overwritten rows with its
    stale mark, which the drain then settles."""
    school = race_school
    read, go = threading.Event(), threading.Event()
    real = rollup_classes.class_figures

    def figures_then_pause(year, today):
        figures = real(year, today)
        if year.start_year == RACE_YEAR:
            read.set()
            assert go.wait(20)
        return figures

    @school_write
    def write():
        rollups.class_rollup_add(
            school_id=school.pk, year_start=RACE_YEAR, classes=[(777001, "6R", 6, {"students": 1})], stale=True
        )

    def writer():
        connection.set_tenant(school)
        write()

    def rows():
        return list(
            ClassRollup.objects.filter(school_id=school.pk, year_start=RACE_YEAR).values_list(
                "class_id", "students", "stale_since"
            )
        )

    monkeypatch.setattr(rollup_classes, "class_figures", figures_then_pause)
    reconciler, reconciled = in_thread(rollup_outbox.reconcile_school, school.pk, school.schema_name)
    try:
        try:
            assert read.wait(20), reconciled
            thread, written = in_thread(writer)
            time.sleep(0.8)
            assert thread.is_alive(), written  # queued behind the reconciliation
        finally:
            go.set()
        reconciler.join(20)
        thread.join(20)
        assert "error" not in reconciled and "error" not in written, (reconciled, written)
        [(class_id, students, stale_since)] = run_in_thread(rows)
        assert (class_id, students) == (777001, 1) and stale_since is not None  # the delta survived, marked stale
        # The drain settles it against the school's tables (no such class in that year: its row goes).
        monkeypatch.setattr(rollup_classes, "class_figures", real)
        run_in_thread(lambda: rollup_outbox.drain_stale_school(school.pk, school.schema_name))
        assert run_in_thread(rows) == []
    finally:

        def cleanup():
            ClassRollup.objects.filter(school_id=school.pk, year_start=RACE_YEAR).delete()
            RollupDay.objects.filter(school_id=school.pk, year_start=RACE_YEAR).delete()

        run_in_thread(cleanup)


def test_a_class_created_has_its_row_at_once(w, klass):
    k = klass
    created = class_create(
        access=system_access(k.school.pk), year=k.school_class.year, name="6A9", grade=6, homeroom_teacher_id=None
    )
    row = ClassRollup.objects.get(school_id=w.school_a, class_id=created.pk)
    assert (row.name, row.grade, row.year_start, row.students, row.stale_since) == ("6A9", 6, 2025, 0, None)
    assert SchoolClass.objects.filter(pk=created.pk).exists()
