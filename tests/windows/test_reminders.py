"""The window jobs of Celery beat: reminders before a lock, a compliance snapshot at the lock, the year-end start.

The beat tasks are called directly with Celery in eager mode (no worker, no broker): each plans the work in public
and fans it out in chunks of schools; the chunk tasks run the per-school part through run_in_school.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from hocba.kernel import recordstates

from schools.models import Subject
from schools.services.common import system_access
from schools.services.records import records_approve, records_submit
from schools.services.setup import assignment_set
from schools.services.sheets import sheet_columns, sheet_save
from tenants import reminders, tasks
from tenants.models import (
    AdministrativeUnit,
    ComplianceSnapshot,
    Notification,
    School,
    SchoolRollup,
    Window,
    WindowReminder,
    YearEndStart,
)
from tenants.services import windows as svc
from tenants.windows import WindowLocked
from tests.school_fixtures import current_school_year

YEAR = current_school_year(timezone.localdate())
DATE_TIME = re.compile(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b")


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


@pytest.fixture
def eager():
    """Celery runs ``.delay`` in this process (no worker, nothing sent to a broker)."""
    from hocba.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def spy(monkeypatch):
    """Record each chunk a beat task fans out (and still run it)."""
    calls: dict[str, list] = {}

    def watch(task):
        real = task.delay

        def delay(*args):
            calls.setdefault(task.name.rsplit(".", 1)[-1], []).append(args)
            return real(*args)

        monkeypatch.setattr(task, "delay", delay)

    for t in (tasks.window_reminders_chunk, tasks.window_snapshots_chunk, tasks.year_end_start_chunk):
        watch(t)
    return calls


def province_window(w, *, opens, locks, category="scores_1"):
    return svc.window_create(
        actor=None,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        unit=AdministrativeUnit.objects.get(pk=w.province),
        reason="Hạn nhập điểm",
    )


def fill(w, k, subject, teacher: str, students: list[int], term: int = 1, value: str = "8"):
    cols = [c for c in sheet_columns(subject, k.school_class, term) if c.value_type != "text"]
    cells = [
        {"student": s, "column": c.key, "value": value if c.value_type == "score" else "Đ"}
        for s in students
        for c in cols
    ]
    return sheet_save(access=k.access(w, teacher), school_class=k.school_class, subject=subject, term=term, cells=cells)


@pytest.fixture
def three_sheets(w, klass_now):
    """6A1: Toán → teacher_a (5 of 6 students filled), GDTC → homeroom_a (all filled), Ngữ văn → dept_a (empty)."""
    k = klass_now
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    system = system_access(k.school.pk)
    assignment_set(access=system, school_class=k.school_class, subject=k.pe, teacher_id=w.accounts["homeroom_a"])
    assignment_set(access=system, school_class=k.school_class, subject=literature, teacher_id=w.accounts["dept_a"])
    fill(w, k, k.math, "teacher_a", k.students[:-1])
    fill(w, k, k.pe, "homeroom_a", k.students)
    from django.db import connection

    connection.set_schema_to_public()
    yield k
    connection.set_tenant(k.school)


def test_reminders_go_to_the_teachers_with_unfinished_sheets_once(w, three_sheets, eager, spy, mailoutbox):
    due = province_window(w, opens=-60, locks=2 * 24 * 60)  # locks in 2 days: within the default 3
    province_window(w, opens=-60, locks=10 * 24 * 60, category="scores_2")  # 10 days away: not yet

    out = tasks.window_reminders()
    assert out == {"windows": 1, "schools": 2, "chunks": 1}  # schools A and B, one chunk

    notified = dict(Notification.objects.values_list("account_id", "title"))
    assert set(notified) == {w.accounts["teacher_a"], w.accounts["dept_a"]}  # not homeroom_a (done), nobody of B
    teacher = Notification.objects.get(account_id=w.accounts["teacher_a"])
    lock = timezone.localtime(due.locks_at).strftime("%d/%m/%Y %H:%M")
    assert lock in teacher.title and lock in teacher.body and DATE_TIME.search(teacher.title)
    assert "Lớp 6A1" in teacher.body and "Toán" in teacher.body and "đã nhập" in teacher.body
    assert "Giáo dục thể chất" not in teacher.body
    tx = len([c for c in sheet_columns(three_sheets.math, three_sheets.school_class, 1) if c.value_type != "text"])
    assert f"{5 * tx}/{6 * tx} ô" in teacher.body
    assert f"/classes/{three_sheets.school_class.pk}/sheets/{three_sheets.math.pk}/1/" in teacher.url
    assert "Ngữ văn" in Notification.objects.get(account_id=w.accounts["dept_a"]).body
    assert teacher.read_at is None and teacher.key == f"window-remind:{due.pk}"

    assert sorted(m.to[0] for m in mailoutbox) == ["dept_a@example.vn", "teacher_a@example.vn"]
    assert {m.subject for m in mailoutbox} == set(notified.values())
    assert set(WindowReminder.objects.filter(window=due).values_list("school_id", flat=True)) == {
        w.school_a,
        w.school_b,
    }

    # The next run (15 minutes later) finds every school done: nothing planned, nothing sent.
    assert tasks.window_reminders() == {"windows": 1, "schools": 0, "chunks": 0}
    # Even a chunk run again (a retry, two runs at once) sends nothing twice.
    tasks.window_reminders_chunk(due.pk, [[w.school_a, School.objects.get(pk=w.school_a).schema_name]])
    assert Notification.objects.count() == 2 and len(mailoutbox) == 2

    listed = reminders.notifications_for(w.accounts["teacher_a"], limit=10)
    assert [n.pk for n in listed] == [teacher.pk] and reminders.unread_count(w.accounts["teacher_a"]) == 1


def test_remind_days_is_configurable(w, three_sheets, eager, monkeypatch, mailoutbox):
    province_window(w, opens=-60, locks=2 * 24 * 60)
    monkeypatch.setenv("HOCBA_WINDOW_REMIND_DAYS", "1")
    assert tasks.window_reminders()["windows"] == 0 and not Notification.objects.exists()
    monkeypatch.setenv("HOCBA_WINDOW_REMIND_DAYS", "2.5")
    assert tasks.window_reminders()["windows"] == 1 and Notification.objects.count() == 2


def test_no_reminder_once_locked_or_for_other_grades(w, three_sheets, eager, mailoutbox):
    svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=at(-60),
        locks_at=at(60),
        unit=AdministrativeUnit.objects.get(pk=w.province),
        grades=[10, 11, 12],
    )
    assert tasks.window_reminders()["schools"] == 0  # two THCS schools: grades 6–9 only
    window = province_window(w, opens=-60, locks=60)
    Window.objects.filter(pk=window.pk).update(locks_at=at(-0.01))  # locked between planning and the chunk
    assert tasks.window_reminders_chunk(window.pk, [[w.school_a, three_sheets.school.schema_name]])["schools"] == 0
    assert not Notification.objects.exists() and not mailoutbox


def test_fan_out_uses_chunks(w, three_sheets, eager, spy, monkeypatch):
    monkeypatch.setattr(reminders, "CHUNK_SIZE", 1)
    province_window(w, opens=-60, locks=60)
    assert tasks.window_reminders() == {"windows": 1, "schools": 2, "chunks": 2}
    assert [len(args[1]) for args in spy["window_reminders_chunk"]] == [1, 1]
    assert {args[1][0][0] for args in spy["window_reminders_chunk"]} == {w.school_a, w.school_b}
    # One beat entry per job, never one per school.
    from hocba.celery import app

    jobs = [e["task"] for e in app.conf.beat_schedule.values()]
    for job in ("window_reminders", "window_snapshots", "year_end_start"):
        assert jobs.count(f"tenants.tasks.{job}") == 1
    assert not any("chunk" in j for j in jobs)


def _rollup(school_id: int) -> dict:
    r = SchoolRollup.objects.get(school_id=school_id, year_start=YEAR)
    return {
        "students": r.students,
        "entries": r.entries,
        "conduct_entries": r.conduct_entries,
        "absences": r.absences,
        "records": {s: getattr(r, f"records_{s}") for s in recordstates.STATES},
    }


def test_snapshot_captures_the_figures_at_the_lock(w, three_sheets, eager, spy, monkeypatch, queries):
    k = three_sheets
    monkeypatch.setattr(reminders, "CHUNK_SIZE", 1)
    window = province_window(w, opens=-60, locks=60)
    assert tasks.window_snapshots()["chunks"] == 0  # not locked yet
    assert not ComplianceSnapshot.objects.exists()

    svc.window_update(actor=None, window=window, locks_at=at(-0.01))
    at_lock = _rollup(w.school_a)
    assert at_lock["entries"] > 0 and at_lock["students"] == 7
    from django.db import connection

    connection.set_tenant(k.school)
    with pytest.raises(WindowLocked):  # nothing changes after the lock…
        fill(w, k, k.math, "teacher_a", k.students, value="9")
    connection.set_schema_to_public()

    with queries() as q:
        out = tasks.window_snapshots()
    assert out["windows"] == 1 and out["schools"] == 2 and out["chunks"] == 2
    inserts = [s for s in q.statements if s.startswith('INSERT INTO "tenants_compliancesnapshot"')]
    assert len(inserts) == 2  # one bulk insert per chunk
    snap = ComplianceSnapshot.objects.get(window=window, school_id=w.school_a)
    figures = {key: snap.figures[key] for key in ("students", "entries", "conduct_entries", "absences", "records")}
    assert figures == at_lock == _rollup(w.school_a)  # … so the snapshot is the lock instant's
    assert snap.figures["records_total"] == 7 and snap.locks_at == Window.objects.get(pk=window.pk).locks_at
    assert snap.taken_at >= snap.locks_at
    assert ComplianceSnapshot.objects.get(window=window, school_id=w.school_b).figures["rollup_missing"] is True

    # Every minute after: nothing new.
    assert tasks.window_snapshots()["chunks"] == 0
    assert ComplianceSnapshot.objects.count() == 2


def test_whole_year_lock_starts_the_year_end_flow(w, three_sheets, eager, spy, mailoutbox):
    k = three_sheets
    window = province_window(w, opens=-60, locks=60, category="whole_year")
    from django.db import connection

    connection.set_tenant(k.school)
    records_submit(access=k.access(w, "homeroom_a"), school_class=k.school_class)
    records_approve(access=k.access(w, "principal_a"), school_class=k.school_class, reason="Duyệt trước khi khóa sổ")
    connection.set_schema_to_public()
    svc.window_update(actor=None, window=window, locks_at=at(-0.01))

    out = tasks.window_snapshots()
    assert out["chunks"] == 1 and out["year_end_chunks"] == 1
    start = YearEndStart.objects.get(window=window, school_id=w.school_a)
    assert (start.ready_to_sign, start.not_ready, start.done, start.notified) == (6, 1, 0, 1)
    assert {c["class_name"]: c["ready"] for c in start.by_class} == {"6A1": 6, "6A2": 0}
    notice = Notification.objects.get(account_id=w.accounts["principal_a"])
    assert notice.title == "6 học bạ sẵn sàng ký số" and "Lớp 6A1: 6 sẵn sàng ký" in notice.body
    assert [m.to for m in mailoutbox] == [["principal_a@example.vn"]]
    # School B has no record this year: the flow is marked, nobody is bothered.
    assert YearEndStart.objects.get(window=window, school_id=w.school_b).notified == 0
    assert not Notification.objects.filter(account_id=w.accounts["principal_b"]).exists()

    # The daily job and the next minutes: nothing twice.
    assert tasks.year_end_start()["chunks"] == 0
    assert tasks.window_snapshots()["year_end_chunks"] == 0
    YearEndStart.objects.all().delete()  # even re-run from scratch, the principal is told once
    assert tasks.year_end_start()["chunks"] == 1
    assert Notification.objects.count() == 1 and len(mailoutbox) == 1
