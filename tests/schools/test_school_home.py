"""The school's home: what waits for each person first (principal, homeroom teacher, subject teacher, parent), never
another school's data, a constant number of queries whatever the number of classes; and the class list's status
column (the records of each class by state, and how many are incomplete)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hocba.kernel.schoolyear import first_day, school_year_of

from schools.models import Enrolment, GuardianLink, RecordBook, SchoolYear, Subject
from schools.services.classwork import absences_record
from schools.services.common import system_access
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol
from tenants.models import School, Window, WindowException
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

APPROVE_REASON = "Duyệt trước, bổ sung nhận xét sau"


def home(w, name: str, host: str = SCHOOL_A_HOST) -> str:
    response = client_for(w.account(name), host).get("/")
    assert response.status_code == 200, name
    return page_text(response)


def block(html: str, name: str) -> str:
    """The text of one list of the home ("" when the page has no such list)."""
    match = re.search(rf'<div class="wait-block" id="wait-{name}">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""


def class_rows(html: str) -> dict[int, str]:
    """{class id: its row of the class list}."""
    return {
        int(pk): re.sub(r"\s+", " ", row) for pk, row in re.findall(r'<tr data-class="(\d+)">(.*?)</tr>', html, re.S)
    }


def at(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def window(w, year_start: int, category: str, opens: float, locks: float) -> Window:
    return Window.objects.create(
        tier="province",
        unit_id=w.province,
        category=category,
        year_start=year_start,
        opens_at=at(opens),
        locks_at=at(locks),
        reason="Lịch thử nghiệm",
    )


def submit(klass, w) -> None:
    connection.set_tenant(klass.school)
    records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)


def approve(klass, w, student_ids: list[int]) -> None:
    connection.set_tenant(klass.school)
    records_approve(
        access=klass.access(w, "principal_a"),
        school_class=klass.school_class,
        student_ids=student_ids,
        reason=APPROVE_REASON,
    )


# --- the principal, the homeroom teacher, the subject teacher -----------------------------------------------------


def test_each_role_sees_the_work_that_waits_for_them(w, klass):
    pk = klass.school_class.pk
    homeroom = home(w, "homeroom_a")
    drafts = block(homeroom, "drafts")
    assert f'href="/classes/{pk}/#hoc-ba"' in drafts and "6 học bạ chưa trình" in drafts
    assert "6 chưa đủ" in drafts  # nothing entered yet: every draft misses items
    assert "6A2" not in homeroom  # not their class
    assert not block(home(w, "principal_a"), "approve")  # nothing submitted yet

    submit(klass, w)
    approve(klass, w, klass.students[:2])
    connection.set_tenant(klass.school)
    reopened = RecordBook.objects.get(student_id=klass.students[0])
    record_reopen(access=klass.access(w, "principal_a"), record=reopened, reason="Sửa điểm Toán học kì I")

    principal = home(w, "principal_a")
    assert "Việc chờ bạn" in principal
    to_approve = block(principal, "approve")
    assert f'href="/classes/{pk}/#hoc-ba"' in to_approve and "4 học bạ GVCN đã trình" in to_approve
    assert '<span class="tag submitted">4</span>' in to_approve
    ready = block(principal, "sign")
    assert f'href="/classes/{pk}/signing/"' in ready and "1 học bạ" in ready  # to the class's signing page
    back = block(principal, "reopened")
    assert "Nguyễn Văn An" in back and "Sửa điểm Toán học kì I" in back and "Trần Thị Bình" not in back
    assert principal.index('id="waiting"') < principal.index("Việc bạn có thể làm")  # the work comes first
    assert "Hiệu trưởng" in principal and 'href="/setup/"' in principal  # what it showed before is still there
    vice = home(w, "vice_a")
    assert "4 học bạ GVCN đã trình" in block(vice, "approve")

    homeroom = home(w, "homeroom_a")
    assert not block(homeroom, "approve") and not block(homeroom, "sign") and not block(homeroom, "reopened")
    own = block(homeroom, "own-reopened")
    assert "Nguyễn Văn An" in own and "Sửa điểm Toán học kì I" in own
    assert "1 học bạ chưa trình" in block(homeroom, "drafts")

    teacher = home(w, "teacher_a")
    assert "học bạ GVCN đã trình" not in teacher and "Sửa điểm Toán" not in teacher
    for name in ("clerk_a", "it_a"):
        assert 'id="waiting"' not in home(w, name), name


def test_windows_closing_requests_and_unfinished_sheets(w, klass_now):
    k = klass_now
    year = k.school_class.year.start_year
    scores = window(w, year, "scores_1", -24, 3 * 24 + 1)
    conduct_lock = window(w, year, "conduct", -48, -1)
    window(w, year, "scores_2", 24 * 60, 24 * 90)  # term II: not open yet
    WindowException.objects.create(
        window=conduct_lock,
        school_id=w.school_a,
        class_ids=[k.school_class.pk],
        until=at(48),
        reason="Nhập bù rèn luyện",
        requested_by_id=w.accounts["principal_a"],
    )
    decided = WindowException.objects.create(
        window=conduct_lock,
        school_id=w.school_a,
        class_ids=[k.other_class.pk],
        until=at(48),
        reason="Đã được duyệt",
        requested_by_id=w.accounts["principal_a"],
        status="approved",
    )

    principal = home(w, "principal_a")
    closing = block(principal, "closing")
    assert f'data-window="{scores.pk}"' in closing and "Điểm, nhận xét học kì I" in closing
    assert "còn 3 ngày" in closing and f'data-window="{conduct_lock.pk}"' not in closing
    requests = block(principal, "requests")
    assert "Rèn luyện" in requests and "6A1" in requests and "Chờ duyệt" in requests
    assert f'data-request="{decided.pk}"' not in requests

    sheet = f'href="/classes/{k.school_class.pk}/sheets/{k.math.pk}/1/"'
    teacher = block(home(w, "teacher_a"), "my-sheets")
    assert sheet in teacher and "Học kì I" in teacher and "Học kì II" not in teacher
    assert f"/sheets/{k.pe.pk}/1/" in teacher
    homeroom = block(home(w, "homeroom_a"), "class-sheets")
    assert sheet in homeroom  # their class's sheets, entered by another teacher
    assert not block(home(w, "teacher_b", SCHOOL_B_HOST), "my-sheets")

    Window.objects.filter(pk=scores.pk).update(locks_at=at(-0.5))  # locked: nothing can be entered any more
    after = home(w, "teacher_a")
    assert not block(after, "my-sheets") and "Không có việc nào đang chờ bạn" in after


def test_the_monthly_update_missing_for_last_month(w, klass_now):
    k = klass_now
    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    start = k.school_class.year.start_year
    SchoolYear.objects.filter(pk=k.school_class.year_id).update(
        starts_on=first_day(start), ends_on=first_day(start + 1) - dt.timedelta(days=1)
    )
    Enrolment.objects.filter(school_class__year_id=k.school_class.year_id).update(starts_on=last_month)
    monthly = block(home(w, "homeroom_a"), "monthly")
    if school_year_of(last_month) != start:  # the year has just begun: last month is another year's
        assert not monthly
        return
    assert f'href="/classes/{k.school_class.pk}/attendance/"' in monthly and f"{last_month:%m/%Y}" in monthly
    assert "6A2" not in monthly  # not their class
    assert not block(home(w, "principal_a"), "monthly")
    connection.set_tenant(k.school)
    absences_record(
        access=system_access(k.school.pk),
        school_class=k.school_class,
        date=last_month + dt.timedelta(days=9),
        entries=[{"student": k.students[0], "excused": True}],
    )
    assert not block(home(w, "homeroom_a"), "monthly")


# --- parents, and another school ----------------------------------------------------------------------------------


def test_a_parent_sees_their_children_only(w, klass):
    GuardianLink.objects.create(student_id=klass.students[0], account_id=w.accounts["parent_a"])
    html = home(w, "parent_a")
    children = html[html.index('id="my-children-home"') :]
    assert "Nguyễn Văn An" in children and "Trần Thị Bình" not in children and "Đỗ Lớp Khác" not in children
    assert "Nhà trường chưa duyệt học bạ" in children and "/my-children/" in children
    assert f'href="/students/{klass.students[0]}/record/"' not in children  # not approved yet
    assert 'id="waiting"' not in html
    submit(klass, w)
    approve(klass, w, klass.students[:1])
    children = home(w, "parent_a")
    assert f'href="/students/{klass.students[0]}/record/"' in children and "Xem học bạ" in children


def test_a_parents_home_has_one_link_to_the_children_and_says_when_none_is_linked(w, klass):
    html = home(w, "parent_a")  # no child linked yet
    main = html[html.index('<main id="main">') :]
    children = main[main.index('id="my-children-home"') :]
    assert "chưa được nhà trường liên kết với học sinh nào" in children
    assert main.count(">Học bạ của con tôi</a>") == 1 and main.count('href="/my-children/"') == 1
    GuardianLink.objects.create(student_id=klass.students[0], account_id=w.accounts["parent_a"])
    main = home(w, "parent_a").split('<main id="main">', 1)[1]
    assert main.count(">Học bạ của con tôi</a>") == 1 and "chưa được nhà trường liên kết" not in main
    assert 'id="my-children-home"' not in home(w, "teacher_a")


def test_a_foreign_schools_data_never_shows(w, klass):
    school_b = School.objects.get(pk=w.school_b)
    connection.set_tenant(school_b)
    system = system_access(school_b.pk)
    year = school_year_open(access=system, start_year=2025, levels=["lower_secondary"])
    b_class = class_create(access=system, year=year, name="9B9", grade=9, homeroom_teacher_id=None)
    for name in ("Lý Thị Ngoại", "Mai Văn Khác"):
        profile = {"full_name": name, "date_of_birth": "01/01/2011", "gender": "F"}
        student_enrol(access=system, school_class=b_class, today=dt.date(2025, 10, 1), profile=profile)
    RecordBook.objects.filter(school_class=b_class).update(state="submitted")
    RecordBook.objects.filter(student__full_name="Mai Văn Khác").update(state="draft", reopened_reason="Lý do của B")
    lock = window(w, 2025, "conduct", -48, -1)
    WindowException.objects.create(
        window=lock,
        school_id=w.school_b,
        class_ids=[b_class.pk],
        until=at(48),
        reason="Đề nghị của trường B",
        requested_by_id=w.accounts["principal_b"],
    )
    connection.set_tenant(klass.school)

    foreign = home(w, "principal_b", SCHOOL_B_HOST)  # the data is there, for its own school
    assert "9B9" in block(foreign, "approve") and "Lý do của B" in block(foreign, "reopened")
    assert "9B9" in block(foreign, "requests")
    for name in ("principal_a", "homeroom_a", "teacher_a", "parent_a"):
        html = home(w, name)
        assert "9B9" not in html and "Lý Thị Ngoại" not in html and "Lý do của B" not in html, name
    assert client_for(w.account("principal_a"), SCHOOL_B_HOST).get("/").status_code == 403


# --- the number of queries ------------------------------------------------------------------------------------------


def _statements(w, name: str) -> int:
    client = client_for(w.account(name), SCHOOL_A_HOST)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])


def _class_list_statements(w, name: str) -> int:
    client = client_for(w.account(name), SCHOOL_A_HOST)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/classes/").status_code == 200
    return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])


NAMES = ("principal_a", "homeroom_a", "teacher_a")


@pytest.mark.parametrize("page", [_statements, _class_list_statements], ids=["home", "class-list"])
def test_queries_do_not_grow_with_the_number_of_classes(w, klass_now, page):
    k = klass_now
    year = k.school_class.year.start_year
    window(w, year, "scores_1", -24, 48)
    window(w, year, "conduct", -48, -1)
    submit(k, w)
    approve(k, w, k.students[:2])
    connection.set_tenant(k.school)  # every list has something: one draft again, reopened
    reopened = RecordBook.objects.get(student_id=k.students[0])
    record_reopen(access=k.access(w, "principal_a"), record=reopened, reason="Sửa điểm cho đúng")
    before = {name: page(w, name) for name in NAMES}

    connection.set_tenant(k.school)
    system = system_access(k.school.pk)
    math = Subject.objects.get(level="lower_secondary", code="toan")
    for i in range(8):  # 2 classes become 10
        school_class = class_create(
            access=system,
            year=k.school_class.year,
            name=f"7A{i + 1}",
            grade=7,
            homeroom_teacher_id=w.accounts["homeroom_a"] if i % 2 else None,
        )
        assignment_set(access=system, school_class=school_class, subject=math, teacher_id=w.accounts["teacher_a"])
        for j in range(2):
            profile = {"full_name": f"Học Sinh {chr(65 + i)}{j}", "date_of_birth": "01/01/2013", "gender": "M"}
            student_enrol(access=system, school_class=school_class, today=timezone.localdate(), profile=profile)
        if i % 3 == 0:
            RecordBook.objects.filter(school_class=school_class).update(state="submitted")
        if i % 3 == 1:
            RecordBook.objects.filter(school_class=school_class).update(state="draft", reopened_reason="Sửa lại")
    connection.set_schema_to_public()
    after = {name: page(w, name) for name in NAMES}
    assert after == before


# --- the class list's status column ---------------------------------------------------------------------------------


def test_the_class_list_counts_records_by_state(w, klass):
    pk, other = klass.school_class.pk, klass.other_class.pk

    def rows(name: str = "principal_a") -> tuple[str, str]:
        html = page_text(client_for(w.account(name), SCHOOL_A_HOST).get("/classes/"))
        assert '<div class="table-scroll">' in html
        found = class_rows(html)
        return found[pk], found.get(other, "")

    mine, theirs = rows()
    assert 'data-state="draft">Đang nhập 6<' in mine and 'data-incomplete="6"' in mine
    assert 'data-state="draft">Đang nhập 1<' in theirs and "Đã trình" not in mine

    submit(klass, w)
    mine, theirs = rows()
    assert 'data-state="submitted">Đã trình 6<' in mine and 'data-state="draft"' not in mine
    assert 'data-incomplete="6"' in mine  # submitted, still incomplete

    approve(klass, w, klass.students[:2])
    mine, theirs = rows()
    assert 'data-state="submitted">Đã trình 4<' in mine and 'data-state="approved">Đã duyệt 2<' in mine
    assert 'data-incomplete="4"' in mine  # the approved ones are no longer counted
    assert 'data-state="draft">Đang nhập 1<' in theirs

    connection.set_tenant(klass.school)
    RecordBook.objects.filter(student_id=klass.students[0]).update(state="signed")
    RecordBook.objects.filter(student_id=klass.students[1]).update(state="locked")
    mine, _theirs = rows()
    assert 'data-state="signed">Đã ký 1<' in mine and 'data-state="locked">Đã khóa 1<' in mine
    homeroom, hidden = rows("homeroom_a")
    assert 'data-state="submitted">Đã trình 4<' in homeroom and not hidden
