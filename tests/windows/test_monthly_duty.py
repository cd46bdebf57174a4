"""The homeroom teachers' monthly duty (Long An reg. art. 7.2): a beat job that, once a month, finds in each school
the classes without an attendance or conduct update in the month just ended, reminds their homeroom teachers once
(in-app and by e-mail, in one fan-out like the window reminders) and records the figure the boards read.

Celery runs in eager mode (no worker, no broker): the beat task plans in public and fans out chunks of schools; each
chunk asks the schools through run_in_school."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from hocba.kernel import context
from hocba.kernel.schoolyear import first_day
from rest_framework.test import APIClient

from schools import monthlyduty
from schools.models import SchoolYear
from schools.services.classwork import absences_record, conduct_save
from schools.services.common import system_access
from schools.services.setup import class_create, school_year_open
from schools.services.students import student_enrol
from tenants import duty, perschool, reminders, tasks
from tenants.models import MonthlyDutyCheck, Notification, School
from tests.school_fixtures import current_school_year

TODAY = timezone.localdate()
# Attendance is never taken on a Sunday: the day of the month's absences here is today, or the school day beside it.
SCHOOL_DAY = TODAY if TODAY.weekday() != 6 else TODAY + dt.timedelta(days=-1 if TODAY.day > 1 else 1)
MONTH = TODAY.replace(day=1)
MONTH_ISO = f"{MONTH:%Y-%m}"
LABEL = f"{MONTH:%m/%Y}"


@pytest.fixture
def eager():
    """Celery runs ``.delay`` in this process (no worker, nothing sent to a broker)."""
    from hocba.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def chunks(monkeypatch):
    """The chunks the beat task fans out (each still runs)."""
    seen: list[tuple] = []
    real = tasks.monthly_duty_chunk.delay

    def delay(*args):
        seen.append(args)
        return real(*args)

    monkeypatch.setattr(tasks.monthly_duty_chunk, "delay", delay)
    return seen


def _whole_year(year: SchoolYear) -> None:
    """The school year's dates cover today, whatever the month the suite runs in."""
    SchoolYear.objects.filter(pk=year.pk).update(
        starts_on=first_day(year.start_year), ends_on=first_day(year.start_year + 1) - dt.timedelta(days=1)
    )


def _enrol(system, school_class, name: str) -> int:
    profile = {"full_name": name, "date_of_birth": "01/01/2014", "gender": "M"}
    return student_enrol(access=system, school_class=school_class, today=TODAY, profile=profile).pk


def _as(account_id: int):
    """Writes as this account (the audit triggers read it), as a request of theirs would."""
    return context.activate(context.ActorContext(account_id=account_id, role="homeroom_teacher", source="web"))


@pytest.fixture
def duty_world(w, klass_now):
    """School A: 6A1 (homeroom_a, nothing this month), 6A2 (no homeroom teacher, nothing), 6A3 (vice_a as its
    homeroom teacher, who set conduct this month), 6A4 (no student). School B: 7B1 (teacher_b, nothing), 7B2 (an
    absence dated this month, recorded by the office)."""
    k = klass_now
    _whole_year(k.school_class.year)
    system_a = system_access(k.school.pk)
    six_a3 = class_create(
        access=system_a, year=k.school_class.year, name="6A3", grade=6, homeroom_teacher_id=w.accounts["vice_a"]
    )
    pupil = _enrol(system_a, six_a3, "Trần Văn Ba")
    class_create(access=system_a, year=k.school_class.year, name="6A4", grade=6, homeroom_teacher_id=None)
    token = _as(w.accounts["vice_a"])
    try:
        conduct_save(
            access=k.access(w, "vice_a"), school_class=six_a3, term=1, entries=[{"student": pupil, "level": "T"}]
        )
    finally:
        context.reset(token)

    school_b = School.objects.get(pk=w.school_b)
    connection.set_tenant(school_b)
    system_b = system_access(school_b.pk)
    year_b = school_year_open(access=system_b, start_year=current_school_year(TODAY), levels=["lower_secondary"])
    _whole_year(year_b)
    year_b.refresh_from_db()
    b1 = class_create(access=system_b, year=year_b, name="7B1", grade=7, homeroom_teacher_id=w.accounts["teacher_b"])
    b2 = class_create(access=system_b, year=year_b, name="7B2", grade=7, homeroom_teacher_id=None)
    _enrol(system_b, b1, "Lê Văn Một")
    absent = _enrol(system_b, b2, "Lê Văn Hai")
    absences_record(access=system_b, school_class=b2, date=SCHOOL_DAY, entries=[{"student": absent, "excused": True}])
    connection.set_schema_to_public()
    yield {"a": k, "six_a3": six_a3, "b1": b1, "b2": b2}
    connection.set_tenant(k.school)


def test_one_fan_out_reminds_each_homeroom_teacher_once_and_records_the_figure(
    w, duty_world, eager, chunks, mailoutbox, monkeypatch
):
    monkeypatch.setattr(reminders, "CHUNK_SIZE", 1)  # one school per chunk: the fan-out is visible
    active = School.objects.filter(status="active").count()  # schools A and B (and any other test's)
    out = tasks.monthly_duty(MONTH_ISO)
    assert out == {"month": MONTH.isoformat(), "schools": active, "chunks": active}
    assert all(len(c[1]) == 1 and c[0] == MONTH.isoformat() for c in chunks) and len(chunks) == active
    assert {w.school_a, w.school_b} <= {c[1][0][0] for c in chunks}

    a, b1 = duty_world["a"], duty_world["b1"]
    notices = {n.account_id: n for n in Notification.objects.filter(key__startswith="monthly-duty:")}
    assert set(notices) == {w.accounts["homeroom_a"], w.accounts["teacher_b"]}  # not vice_a (updated), not 6A2's
    mine = notices[w.accounts["homeroom_a"]]
    assert mine.key == f"monthly-duty:{w.school_a}:{a.school_class.pk}:{MONTH_ISO}"
    assert "6A1" in mine.title and LABEL in mine.title and LABEL in mine.body
    assert "chuyển lớp, chuyển trường" in mine.body and mine.url.endswith(f"/classes/{a.school_class.pk}/attendance/")
    assert notices[w.accounts["teacher_b"]].key == f"monthly-duty:{w.school_b}:{b1.pk}:{MONTH_ISO}"
    assert sorted(m.to[0] for m in mailoutbox) == ["homeroom_a@example.vn", "teacher_b@example.vn"]
    assert {m.subject for m in mailoutbox} == {n.title for n in notices.values()}

    rows = {r.school_id: r for r in MonthlyDutyCheck.objects.filter(month=MONTH)}
    assert (rows[w.school_a].classes, rows[w.school_a].classes_without_update) == (3, 2)  # 6A4 has no student
    assert [(c["class_name"], c["homeroom"]) for c in rows[w.school_a].without_update] == [
        ("6A1", True),
        ("6A2", False),
    ]
    assert rows[w.school_a].teachers_notified == 1 and rows[w.school_a].year_start == current_school_year(TODAY)
    assert (rows[w.school_b].classes, rows[w.school_b].classes_without_update, rows[w.school_b].teachers_notified) == (
        2,
        1,
        1,
    )

    # Once only: the next run finds both schools checked; a retried chunk sends nothing and keeps the figure.
    assert tasks.monthly_duty(MONTH_ISO) == {"month": MONTH.isoformat(), "schools": 0, "chunks": 0}
    again = tasks.monthly_duty_chunk(MONTH.isoformat(), [[w.school_a, School.objects.get(pk=w.school_a).schema_name]])
    assert again == {"schools": 1, "classes": 3, "without_update": 2, "notified": 0, "mailed": 0}
    assert Notification.objects.filter(key__startswith="monthly-duty:").count() == 2 and len(mailoutbox) == 2
    assert MonthlyDutyCheck.objects.get(school_id=w.school_a, month=MONTH).teachers_notified == 1


def test_an_update_by_the_homeroom_teacher_or_an_absence_in_the_month_counts(w, duty_world):
    a = duty_world["a"]
    schema = a.school.schema_name
    before = perschool.classes_without_monthly_update(schema, month=MONTH)
    assert [c["class_name"] for c in before["without_update"]] == ["6A1", "6A2"]
    connection.set_tenant(a.school)
    absences_record(  # the office records a day of 6A2 in the month
        access=system_access(a.school.pk),
        school_class=a.other_class,
        date=SCHOOL_DAY,
        entries=[{"student": a.other_students[0], "excused": False}],
    )
    token = _as(w.accounts["homeroom_a"])
    try:
        conduct_save(
            access=a.access(w, "homeroom_a"),
            school_class=a.school_class,
            term=1,
            entries=[{"student": a.students[0], "level": "K"}],
        )
    finally:
        context.reset(token)
    connection.set_schema_to_public()
    after = perschool.classes_without_monthly_update(schema, month=MONTH)
    assert after["classes"] == 3 and after["without_update"] == []


def test_a_month_outside_the_school_year_has_nothing_to_check(w, duty_world, eager, mailoutbox):
    out = tasks.monthly_duty("07/2019")
    assert out["schools"] == School.objects.filter(status="active").count()
    rows = MonthlyDutyCheck.objects.filter(month=dt.date(2019, 7, 1), school_id__in=[w.school_a, w.school_b])
    assert sorted((r.school_id, r.classes, r.classes_without_update) for r in rows) == [
        (w.school_a, 0, 0),
        (w.school_b, 0, 0),
    ]
    assert not Notification.objects.filter(key__contains=":2019-07").exists() and not mailoutbox


def test_the_check_inside_a_school_takes_the_same_queries_for_more_classes(w, duty_world, queries):
    a = duty_world["a"]
    connection.set_tenant(a.school)
    with queries() as few:
        first = monthlyduty.classes_without_update(month=MONTH)
    system = system_access(a.school.pk)
    for name in ("6A5", "6A6", "6A7"):
        extra = class_create(access=system, year=a.school_class.year, name=name, grade=6, homeroom_teacher_id=None)
        _enrol(system, extra, f"Phạm Văn {name}")
    with queries() as many:
        more = monthlyduty.classes_without_update(month=MONTH)
    connection.set_schema_to_public()
    assert more["classes"] == first["classes"] + 3
    assert len(many) == len(few) <= 3


def test_the_beat_entry_checks_the_month_just_ended():
    from hocba.celery import app

    entry = app.conf.beat_schedule["monthly-duty"]
    assert entry["task"] == "tenants.tasks.monthly_duty"
    assert entry["schedule"].day_of_month == {duty.schedule_day()} and entry["schedule"].hour == {duty.schedule_hour()}
    assert duty.previous_month(dt.date(2026, 12, 1)) == dt.date(2026, 11, 1)
    assert duty.previous_month(dt.date(2027, 1, 15)) == dt.date(2026, 12, 1)
    assert duty.parse_month("11/2026") == duty.parse_month("2026-11") == dt.date(2026, 11, 1)


@pytest.mark.django_db
def test_the_default_month_is_the_previous_one_and_planning_sends_nothing_itself(w):
    seen = []
    moment = dt.datetime(2026, 12, 1, 7, 20, tzinfo=timezone.get_default_timezone())
    out = duty.plan_monthly_duty(lambda month, chunk: seen.append((month, chunk)), now=moment)
    assert out["month"] == "2026-11-01" and {m for m, _c in seen} == {"2026-11-01"}
    assert {pk for _m, c in seen for pk, _schema in c} >= {w.school_a, w.school_b}
    assert not Notification.objects.filter(key__startswith="monthly-duty:").exists()


# --- the boards' figure: per school of the requester's scope ------------------------------------------------------


def board(w, name: str, **params):
    client = APIClient(HTTP_HOST="hocba.localhost")
    client.force_authenticate(w.account(name))
    return client.get("/api/v1/monthly-duty/", params)


def test_the_figure_shows_only_the_schools_in_scope(w, duty_world, eager, mailoutbox):
    tasks.monthly_duty(MONTH_ISO)
    for name in ("province_admin", "inspector"):
        body = board(w, name).json()
        assert body["month"] == LABEL and body["schools_checked"] == 2, name
        assert (body["classes"], body["classes_without_update"]) == (5, 3)
    unit_a = board(w, "unit_a_admin", month=LABEL).json()
    assert [s["school_id"] for s in unit_a["schools"]] == [w.school_a]
    assert unit_a["schools"][0]["school_name"] == "Trường THCS An Thạnh"
    assert [c["class_name"] for c in unit_a["schools"][0]["without_update"]] == ["6A1", "6A2"]
    assert (unit_a["classes"], unit_a["classes_without_update"]) == (3, 2)
    assert [s["school_id"] for s in board(w, "unit_a_staff").json()["schools"]] == [w.school_a]
    unit_b = board(w, "unit_b_admin", month=MONTH_ISO).json()
    assert [s["school_id"] for s in unit_b["schools"]] == [w.school_b] and unit_b["classes_without_update"] == 1
    assert "Trường THCS An Thạnh" not in str(unit_b) and "6A1" not in str(unit_b)
    # School staff do not read the boards; a bad month is refused in both languages.
    for name in ("principal_a", "homeroom_a", "teacher_b"):
        assert board(w, name).status_code == 403, name
    bad = board(w, "province_admin", month="13/2026")
    assert bad.status_code == 400 and bad.json()["code"] == "duty.bad_month"
    assert bad.json()["detail_en"] == "The month must be written mm/yyyy, e.g. 11/2026."
    empty = board(w, "province_admin", month="01/2020").json()
    assert empty["schools"] == [] and empty["schools_in_scope"] >= 2


def test_the_board_takes_the_same_queries_for_more_schools(w, duty_world, eager, queries):
    tasks.monthly_duty(MONTH_ISO)
    with queries() as one:
        assert board(w, "unit_a_admin", month=MONTH_ISO).status_code == 200
    with queries() as two:
        assert board(w, "province_admin", month=MONTH_ISO).status_code == 200
    assert len(two) <= len(one) + 1  # the province's tree is one more level; never a query per school


def test_the_board_page_lists_the_schools_in_scope_in_both_languages(w, duty_world, eager, mailoutbox):
    from tests.support import client_for, page_text

    tasks.monthly_duty(MONTH_ISO)
    province = page_text(client_for(w.account("province_admin")).get("/manage/monthly-duty/"))
    assert f"Tháng {LABEL}" in province and "3/5 lớp chưa cập nhật, ở 2 trường đã kiểm tra" in province
    assert "Trường THCS An Thạnh" in province and "Trường THCS Bình Minh" in province
    assert '6A1, 6A2 <span class="muted">(chưa có GVCN)</span>' in province and 'class="table-scroll"' in province
    unit_a = page_text(client_for(w.account("unit_a_admin")).get("/manage/monthly-duty/", {"month": LABEL}))
    assert "Trường THCS An Thạnh" in unit_a and "Trường THCS Bình Minh" not in unit_a and "7B1" not in unit_a
    home = page_text(client_for(w.account("unit_a_staff")).get("/"))
    assert 'href="/manage/monthly-duty/"' in home
    bad = page_text(client_for(w.account("province_admin")).get("/manage/monthly-duty/", {"month": "2026/11"}))
    assert "Tháng phải theo dạng mm/yyyy" in bad and "Trường THCS An Thạnh" not in bad
    english = client_for(w.account("unit_b_admin")).get("/manage/monthly-duty/", HTTP_ACCEPT_LANGUAGE="en")
    text = page_text(english)
    assert "Homeroom teachers&#x27; monthly updates" in text or "Homeroom teachers' monthly updates" in text
    assert "1/2 classes without an update, in 1 schools checked" in text and "Trường THCS An Thạnh" not in text
    assert client_for(w.account("principal_a")).get("/manage/monthly-duty/").status_code == 403
