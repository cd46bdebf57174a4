"""The effective rule: a table of nesting cases, exceptions, and enforcement by the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from hocba.kernel.errors import DomainError

from schools.services.sheets import sheet_save
from tenants.models import AdministrativeUnit, School, Window
from tenants.services import windows as svc
from tenants.windows import WindowLocked, entry_state
from tests.school_fixtures import current_school_year

YEAR = current_school_year(timezone.localdate())


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def _save(w, k, value="8", term=1):
    return sheet_save(
        access=k.access(w, "teacher_a"),
        school_class=k.school_class,
        subject=k.math,
        term=term,
        cells=[{"student": k.students[0], "column": "tx1", "value": value}],
    )


def _window(w, *, tier, opens, locks, category="scores_1", grades=None, actor=None):
    unit = school = None
    if tier == "province":
        unit = AdministrativeUnit.objects.get(pk=w.province)
    elif tier == "unit":
        unit = AdministrativeUnit.objects.get(pk=w.unit_a)
    else:
        school = School.objects.get(pk=w.school_a)
    return svc.window_create(
        actor=actor,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        unit=unit,
        school=school,
        grades=grades,
        reason="Thử nghiệm",
    )


# (windows as (tier, opens in minutes from now, locks in minutes from now), writable now?)
CASES = [
    ([], True),
    ([("province", -60, 60)], True),
    ([("province", -60, -1)], False),  # province locked
    ([("province", 10, 60)], False),  # not yet open
    ([("province", -60, 60), ("unit", -30, 30)], True),  # unit narrows, still open
    ([("province", -60, 60), ("unit", -30, -5)], False),  # unit locked earlier
    ([("province", -60, 60), ("school", -30, -1)], False),  # principal locks the school early
    ([("unit", -60, 60), ("school", -30, 30)], True),
]


@pytest.mark.parametrize("windows,writable", CASES)
def test_nesting(w, klass_now, windows, writable):
    for tier, opens, locks in windows:
        _window(w, tier=tier, opens=opens, locks=locks)
    if writable:
        assert _save(w, klass_now).written == 1
    else:
        with pytest.raises(WindowLocked) as info:
            _save(w, klass_now)
        assert info.value.http_status == 423
        data = info.value.as_dict()
        assert data["window"]["id"] and ("khóa" in data["detail"] or "Chưa đến" in data["detail"])


def test_whole_year_lock_closes_every_category(w, klass_now):
    _window(w, tier="province", opens=-60, locks=-1, category="whole_year")
    with pytest.raises(WindowLocked):
        _save(w, klass_now)
    from schools.services.classwork import conduct_save

    with pytest.raises(WindowLocked):
        conduct_save(
            access=klass_now.access(w, "homeroom_a"),
            school_class=klass_now.school_class,
            term=1,
            entries=[{"student": klass_now.students[0], "level": "T"}],
        )


def test_other_category_and_other_grade_are_not_touched(w, klass_now):
    _window(w, tier="province", opens=-60, locks=-1, category="scores_2")
    _window(w, tier="province", opens=-60, locks=-1, category="scores_1", grades=[10, 11, 12])
    assert _save(w, klass_now).written == 1


def test_raw_sql_is_refused_too(w, klass_now):
    _window(w, tier="province", opens=-60, locks=-1)
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO schools_assessment (student_id, subject_id, year_id, term, kind, seq, score, verdict, text)"
            " VALUES (%s, %s, %s, 1, 'tx', 1, 5, '', '')",
            [klass_now.students[0], klass_now.math.pk, klass_now.school_class.year_id],
        )
    assert info.value.__cause__.sqlstate == "HB423"


def test_exception_for_named_class_then_expiry(w, klass_now):
    lock = _window(w, tier="province", opens=-60, locks=-1)
    school = School.objects.get(pk=w.school_a)
    exc = svc.exception_request(
        actor=w.account("principal_a"),
        window=lock,
        school=school,
        until=at(30),
        reason="Giáo viên ốm, nhập bù",
        class_ids=[klass_now.school_class.pk],
    )
    with pytest.raises(WindowLocked):
        _save(w, klass_now)  # requested, not decided
    with pytest.raises(DomainError):
        svc.exception_decide(actor=w.account("unit_a_admin"), exception=exc, approve=True)  # not the tier that locked
    svc.exception_decide(actor=w.account("province_admin"), exception=exc, approve=True)
    assert _save(w, klass_now).written == 1
    # It expires by itself.
    type(exc).objects.filter(pk=exc.pk).update(until=at(-0.01))
    with pytest.raises(WindowLocked):
        _save(w, klass_now, value="9")


def test_exception_for_another_class_does_not_open_this_one(w, klass_now):
    lock = _window(w, tier="province", opens=-60, locks=-1)
    exc = svc.exception_request(
        actor=w.account("principal_a"),
        window=lock,
        school=School.objects.get(pk=w.school_a),
        until=at(30),
        reason="Lớp khác",
        class_ids=[klass_now.other_class.pk],
    )
    svc.exception_decide(actor=w.account("province_admin"), exception=exc, approve=True)
    with pytest.raises(WindowLocked):
        _save(w, klass_now)


@pytest.mark.parametrize(
    "opens,locks,code",
    [
        (60, 10, "windows.lock_before_open"),
    ],
)
def test_lock_before_open(w, opens, locks, code):
    with pytest.raises(DomainError) as info:
        _window(w, tier="province", opens=opens, locks=locks)
    assert info.value.code == code


def test_window_outside_its_school_year(w):
    with pytest.raises(DomainError) as info:
        svc.window_create(
            actor=None,
            category="scores_1",
            year_start=2019,
            opens_at=at(-10),
            locks_at=at(10),
            unit=AdministrativeUnit.objects.get(pk=w.province),
        )
    assert info.value.code == "windows.outside_year"


def test_unit_cannot_widen_the_province(w):
    _window(w, tier="province", opens=-60, locks=60)
    with pytest.raises(DomainError) as info:
        _window(w, tier="unit", opens=-30, locks=120)
    assert info.value.code == "windows.widening"
    assert Window.objects.count() == 1


def test_unit_cannot_schedule_outside_itself(w):
    with pytest.raises(DomainError) as info:
        svc.window_create(
            actor=w.account("unit_a_admin"),
            category="scores_1",
            year_start=YEAR,
            opens_at=at(-10),
            locks_at=at(10),
            unit=AdministrativeUnit.objects.get(pk=w.unit_b),
        )
    assert info.value.code == "windows.out_of_scope"
    with pytest.raises(DomainError):
        svc.window_create(
            actor=w.account("unit_a_admin"),
            category="scores_1",
            year_start=YEAR,
            opens_at=at(-10),
            locks_at=at(10),
            school=School.objects.get(pk=w.school_b),
        )


def test_exception_past_the_allowed_end(w):
    lock = _window(w, tier="province", opens=-60, locks=-1)
    with pytest.raises(DomainError) as info:
        svc.exception_request(
            actor=w.account("principal_a"),
            window=lock,
            school=School.objects.get(pk=w.school_a),
            until=at(60 * 24 * 60),
            reason="Quá dài",
            class_ids=[1],
        )
    assert info.value.code == "windows.exception_until"


def test_changing_a_province_window_is_one_row_and_immediate(w, klass_now, queries):
    window = _window(w, tier="province", opens=-60, locks=60)
    assert _save(w, klass_now).written == 1
    with queries() as q:
        svc.window_update(actor=None, window=window, locks_at=at(-0.01))
    with pytest.raises(WindowLocked):
        _save(w, klass_now, value="9")
    assert len([s for s in q.statements if s.startswith("UPDATE")]) == 1


def test_entry_state_tells_open_until_and_locked_since(w, klass_now):
    school_id, class_ = w.school_a, klass_now.school_class
    state = entry_state(school_id=school_id, category="scores_1", year_start=YEAR, grade=6, class_id=class_.pk)
    assert state.open and state.until is None
    window = _window(w, tier="province", opens=-60, locks=60)
    state = entry_state(school_id=school_id, category="scores_1", year_start=YEAR, grade=6, class_id=class_.pk)
    assert state.open and abs((state.until - window.locks_at).total_seconds()) < 1
    svc.window_update(actor=None, window=window, locks_at=at(-1))
    state = entry_state(school_id=school_id, category="scores_1", year_start=YEAR, grade=6, class_id=class_.pk)
    assert not state.open and state.message["window"]["id"] == window.pk


def test_entry_pages_show_the_state(w, klass_now):
    from tests.support import SCHOOL_A_HOST, client_for

    client = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    url = f"/classes/{klass_now.school_class.pk}/sheets/{klass_now.math.pk}/1/"
    window = _window(w, tier="province", opens=-60, locks=60)
    body = client.get(url).content.decode()
    assert "Đang mở nhập đến" in body and "data-lock-at" in body
    svc.window_update(actor=None, window=window, locks_at=at(-1))
    body = client.get(url).content.decode()
    assert "Đã khóa nhập" in body and "Thử nghiệm" in body
    homeroom = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    _window(w, tier="province", opens=-60, locks=-1, category="conduct")
    assert "Đã khóa nhập" in homeroom.get(f"/classes/{klass_now.school_class.pk}/conduct/1/").content.decode()
