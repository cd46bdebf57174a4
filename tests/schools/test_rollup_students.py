"""One meaning of "students" in the rollups: those on a class's roll today (``schools.onroll``), as the class sheets
count them. A change dated ahead adds nothing until its day; the daily pass then moves the figure, exactly once, and
the figure kept by deltas always equals the one recomputed from the tables."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone
from hocba.celery import app

from schools import onroll
from schools.models import Enrolment, RollupOutbox, SchoolYear, Student
from schools.rollups import school_figures
from schools.selectors import class_members, class_sizes, class_students
from schools.services.common import system_access
from schools.services.setup import class_create, school_year_open
from schools.services.sheets import sheet_read
from schools.services.students import class_carry_over, student_enrol, student_move_class, student_transfer_out
from tenants import perschool, rollup_outbox, tasks
from tenants.models import RollupDrift, SchoolRollup

D0 = dt.date(2025, 11, 10)  # the day of the last pass; the class (7 students) enrolled on 01/10/2025


@pytest.fixture
def day(monkeypatch):
    """Set the school's calendar day (every count and every service reads it through ``onroll.school_today``)."""

    def set_day(value: dt.date) -> dt.date:
        monkeypatch.setattr(onroll, "school_today", lambda: value)
        return value

    return set_day


def day_pass(w, k, on: dt.date) -> dict:
    """The daily pass's chunk for school A as the worker runs it (from public) on ``on``; the reconciliation's stamp
    (the database's clock, today's real date) is put on that day, as it would be when the pass really runs then."""
    connection.set_schema_to_public()
    out = tasks.rollups_students_day_chunk.run([[w.school_a, k.school.schema_name]])
    assert connection.schema_name == "public"
    if out["reconciled"]:
        at = dt.datetime.combine(on, dt.time(0, 5), tzinfo=timezone.get_default_timezone())
        SchoolRollup.objects.filter(school_id=w.school_a).update(reconciled_at=at)
    connection.set_tenant(k.school)
    return out


def public(w, year_start: int = 2025) -> dict:
    row = SchoolRollup.objects.filter(school_id=w.school_a, year_start=year_start).first()
    return {"students": row.students, "records_draft": row.records_draft} if row else {}


def agrees(w, *year_starts: int) -> dict[int, int]:
    """The public rows equal the figures recomputed today (students and draft records); the students per year."""
    out = {}
    for year_start in year_starts or (2025,):
        figures = school_figures(SchoolYear.objects.get(start_year=year_start))
        assert public(w, year_start) == {k: figures[k] for k in ("students", "records_draft")}, year_start
        out[year_start] = figures["students"]
    return out


def enrol(k, *, starts_on: dt.date, today: dt.date, school_class=None) -> int:
    return student_enrol(
        access=system_access(k.school.pk),
        school_class=school_class or k.school_class,
        profile={"full_name": "Ngô Đến Sau", "date_of_birth": "02/02/2014", "gender": "F"},
        starts_on=starts_on,
        today=today,
    ).pk


def left_in_sheets(w, k, student_id: int) -> tuple[bool, bool]:
    """Whether the class list and the class's score sheet show the student as gone."""
    member = next(
        m for m in class_members(k.school_class, class_students(k.school_class)) if m.student.pk == student_id
    )
    sheet = sheet_read(access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=1)
    return member.left, next(s for s in sheet.students if s.id == student_id).left


def test_a_transfer_out_dated_ahead_counts_from_its_day_and_the_pass_moves_it_once(w, klass, day):
    k, gone = klass, klass.students[0]
    day(D0)
    assert day_pass(w, k, D0)["reconciled"] == 1  # never reconciled: brought to the day
    assert agrees(w) == {2025: 7}
    student_transfer_out(access=system_access(k.school.pk), student=_student(gone), on=dt.date(2025, 11, 20))
    # Dated ahead: nothing moves now — the class sheets keep the student, the figure keeps counting them.
    assert agrees(w) == {2025: 7} and left_in_sheets(w, k, gone) == (False, False)
    assert sum(class_sizes([k.school_class, k.other_class]).values()) == 7
    day(dt.date(2025, 11, 19))
    assert day_pass(w, k, dt.date(2025, 11, 19))["reconciled"] == 0  # no enrolment starts or ends by then
    assert agrees(w) == {2025: 7}
    # The day comes: on the class until the 19th, gone on the 20th — the sheets and the figure together.
    day(dt.date(2025, 11, 20))
    assert public(w)["students"] == 7 and left_in_sheets(w, k, gone) == (True, True)
    assert day_pass(w, k, dt.date(2025, 11, 20))["reconciled"] == 1
    assert agrees(w) == {2025: 6}
    assert sum(class_sizes([k.school_class, k.other_class]).values()) == 6
    # The day's move was added as a delta: the reconciliation after it found nothing to fix.
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()
    # Run again the same day (a redelivered chunk): nothing to do, nothing changes.
    assert day_pass(w, k, dt.date(2025, 11, 20))["reconciled"] == 0
    assert agrees(w) == {2025: 6}


def test_the_first_half_hourly_reconciliation_of_the_day_moves_it_too_without_drift(w, klass, day):
    k = klass
    day(D0)
    day_pass(w, k, D0)
    student_transfer_out(access=system_access(k.school.pk), student=_student(k.students[0]), on=dt.date(2025, 11, 20))
    day(dt.date(2025, 11, 20))
    connection.set_schema_to_public()
    assert tasks.rollups_reconcile_chunk.run([[w.school_a, k.school.schema_name]], "run-1") == 1
    connection.set_tenant(k.school)
    assert agrees(w) == {2025: 6}
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()
    # A real drift is still found and fixed.
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(students=60)
    connection.set_schema_to_public()
    tasks.rollups_reconcile_chunk.run([[w.school_a, k.school.schema_name]], "run-2")
    connection.set_tenant(k.school)
    assert agrees(w) == {2025: 6}
    assert list(RollupDrift.objects.filter(school_id=w.school_a).values_list("field", "old", "new", "run")) == [
        ("students", 60, 6, "run-2")
    ]


def test_a_transfer_dated_today_or_before_counts_at_once(w, klass, day):
    k = klass
    day(D0)
    student_transfer_out(access=system_access(k.school.pk), student=_student(k.students[0]), on=D0)
    student_transfer_out(
        access=system_access(k.school.pk), student=_student(k.students[1]), on=dt.date(2025, 11, 3), today=D0
    )
    assert agrees(w) == {2025: 5}
    assert left_in_sheets(w, k, k.students[0]) == (True, True)


def test_an_enrolment_dated_ahead_counts_from_its_day(w, klass, day):
    k = klass
    day(D0)
    day_pass(w, k, D0)
    late = enrol(k, starts_on=dt.date(2025, 12, 1), today=D0)
    now = enrol(k, starts_on=D0, today=D0)
    assert public(w) == {"students": 8, "records_draft": 9}  # the record opens at once, the student counts later
    assert agrees(w) == {2025: 8}
    assert sum(class_sizes([k.school_class]).values()) == 7  # 6 + the one enrolled today
    day(dt.date(2025, 12, 1))
    assert day_pass(w, k, dt.date(2025, 12, 1))["reconciled"] == 1
    assert agrees(w) == {2025: 9}
    assert sum(class_sizes([k.school_class]).values()) == 8
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()
    assert Enrolment.objects.filter(student_id__in=[late, now]).count() == 2


def test_moves_between_classes_never_change_the_schools_count(w, klass, day):
    k = klass
    day(D0)
    day_pass(w, k, D0)
    system = system_access(k.school.pk)
    student_move_class(access=system, student=_student(k.students[0]), to_class=k.other_class, on=D0)
    student_move_class(access=system, student=_student(k.students[1]), to_class=k.other_class, on=dt.date(2025, 11, 20))
    assert agrees(w) == {2025: 7}
    sizes = class_sizes([k.school_class, k.other_class])
    assert (sizes[k.school_class.pk], sizes[k.other_class.pk]) == (5, 2)  # the move dated ahead waits for its day
    for on in (dt.date(2025, 11, 19), dt.date(2025, 11, 20), dt.date(2025, 11, 21)):
        day(on)
        day_pass(w, k, on)
        assert agrees(w) == {2025: 7}
    sizes = class_sizes([k.school_class, k.other_class])
    assert (sizes[k.school_class.pk], sizes[k.other_class.pk]) == (4, 3)
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()


def test_carry_over_before_the_year_ends_moves_both_years_on_their_days(w, klass, day):
    k = klass
    system = system_access(k.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    seven = class_create(access=system, year=year, name="7A1", grade=7, homeroom_teacher_id=None)
    day(dt.date(2026, 5, 20))
    day_pass(w, k, dt.date(2026, 5, 20))
    out = class_carry_over(access=system, school_class=k.school_class, to_class=seven)
    assert len(out.carried) == 6
    # The old enrolments end on 31/05/2026, the new ones start on 05/09/2026: neither has come.
    assert agrees(w, 2025, 2026) == {2025: 7, 2026: 0}
    assert public(w, 2026) == {"students": 0, "records_draft": 6}
    day(dt.date(2026, 5, 31))
    assert day_pass(w, k, dt.date(2026, 5, 31))["reconciled"] == 1
    assert agrees(w, 2025, 2026) == {2025: 1, 2026: 0}  # the other class's student was not carried
    day(dt.date(2026, 9, 5))
    assert day_pass(w, k, dt.date(2026, 9, 5))["reconciled"] == 1
    assert agrees(w, 2025, 2026) == {2025: 1, 2026: 6}
    assert day_pass(w, k, dt.date(2026, 9, 5))["reconciled"] == 0
    assert agrees(w, 2025, 2026) == {2025: 1, 2026: 6}
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()


def test_carry_over_after_the_year_counts_at_once(w, klass, day):
    k = klass
    system = system_access(k.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    seven = class_create(access=system, year=year, name="7A1", grade=7, homeroom_teacher_id=None)
    day(dt.date(2026, 9, 10))
    class_carry_over(access=system, school_class=k.school_class, to_class=seven)
    assert agrees(w, 2025, 2026) == {2025: 1, 2026: 6}


def test_a_change_dated_today_made_before_the_pass_is_counted_once(w, klass, day):
    """The day's transfer written after midnight, before the pass: its own delta counted it; the pass's delta
    counts it again, and the reconciliation right after puts the figure right."""
    k = klass
    day(D0)
    day_pass(w, k, D0)
    today = day(dt.date(2025, 11, 11))
    student_transfer_out(access=system_access(k.school.pk), student=_student(k.students[0]), on=today)
    assert agrees(w) == {2025: 6}
    assert day_pass(w, k, today)["reconciled"] == 1
    assert agrees(w) == {2025: 6}


def test_the_pass_in_outbox_mode(w, klass, day, settings):
    k = klass
    day(D0)
    day_pass(w, k, D0)
    settings.ROLLUP_MODE = "outbox"
    student_transfer_out(access=system_access(k.school.pk), student=_student(k.students[0]), on=dt.date(2025, 11, 20))
    enrol(k, starts_on=dt.date(2025, 11, 20), today=D0)
    assert list(RollupOutbox.objects.values_list("students", "records_draft")) == [(0, 1)]
    day(dt.date(2025, 11, 20))
    assert day_pass(w, k, dt.date(2025, 11, 20))["reconciled"] == 1
    assert not RollupOutbox.objects.exists()  # the reconciliation took the rows it counted
    assert agrees(w) == {2025: 7} and public(w)["records_draft"] == 8
    student_transfer_out(access=system_access(k.school.pk), student=_student(k.students[1]), on=dt.date(2025, 11, 20))
    connection.set_schema_to_public()
    rollup_outbox.drain_schools([w.school_a], via="test")
    connection.set_tenant(k.school)
    assert agrees(w) == {2025: 6}
    assert not RollupDrift.objects.filter(school_id=w.school_a).exists()


def test_a_school_that_fails_does_not_stop_the_chunk(w, klass, day, monkeypatch):
    k = klass
    day(D0)

    def broken(schema_name, *, after):
        raise DatabaseError("gone")

    monkeypatch.setattr(perschool, "students_day_due", broken)
    connection.set_schema_to_public()
    out = tasks.rollups_students_day_chunk.run([[w.school_a, k.school.schema_name], [w.school_b, "s_thcs_binh_minh"]])
    connection.set_tenant(k.school)
    assert out == {"schools": 2, "reconciled": 0, "failed": 2}


def test_the_pass_runs_daily_after_midnight_fanned_out_in_chunks(w, monkeypatch):
    entry = app.conf.beat_schedule["rollups-students-day"]
    assert entry["task"] == "tenants.tasks.rollups_students_day"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {5})
    sent = []
    monkeypatch.setattr(tasks.rollups_students_day_chunk, "delay", sent.append)
    assert tasks.rollups_students_day.run() == len(sent) >= 1
    assert (w.school_b, "s_thcs_binh_minh") in {tuple(school) for chunk in sent for school in chunk}


def _student(pk: int) -> Student:
    return Student.objects.get(pk=pk)
