"""The record book as its readers read it: the homeroom teacher's conduct comments (TT22) and quality comments
(TT27) in the book; a parent reads the last approved version while the school corrects a reopened record (and a
clear page before any approval); every parent or guardian named, to those who may read them; the same in the API,
in a constant number of statements."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from schools.models import GuardianLink, RecordBook, Student, Subject
from schools.services.classwork import award_add, conduct_save, homeroom_comment_save
from schools.services.common import system_access
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import guardian_link, student_enrol
from schools.services.yearend import primary_rules, qualities_save
from tenants.services.accounts import account_create
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

MATH_COLUMNS = ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
APPROVAL_REASON = "Duyệt thử: học bạ mới có điểm môn Toán"


def api(w, name: str, host: str = SCHOOL_A_HOST) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def html_of(w, name: str, url: str, host: str = SCHOOL_A_HOST) -> tuple[int, str]:
    response = client_for(w.account(name), host).get(url)
    return response.status_code, page_text(response)


def in_school(klass) -> None:
    """Requests leave the connection on the public schema: services run in the school's."""
    connection.set_tenant(klass.school)


def fill_math(klass, value: str, students=None) -> None:
    cells = [{"student": s, "column": c, "value": value} for s in (students or klass.students) for c in MATH_COLUMNS]
    sheet_save(
        access=system_access(klass.school.pk), school_class=klass.school_class, subject=klass.math, term=1, cells=cells
    )


def submit_and_approve(w, klass, student_ids=None) -> None:
    in_school(klass)
    records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class, student_ids=student_ids)
    records_approve(
        access=klass.access(w, "principal_a"),
        school_class=klass.school_class,
        student_ids=student_ids,
        reason=APPROVAL_REASON,
    )


def reopen(w, klass, student: int) -> None:
    in_school(klass)
    record_reopen(
        access=klass.access(w, "principal_a"),
        record=RecordBook.objects.get(student_id=student),
        reason="Sửa điểm Toán nhập nhầm",
    )


def new_parent(w, klass, username: str, full_name: str, student: int, relation: str = "") -> int:
    connection.set_schema_to_public()
    account = account_create(
        actor=None,
        username=username,
        full_name=full_name,
        role="parent",
        school=klass.school,
        valid_from=dt.date(2025, 7, 1),
    )
    in_school(klass)
    guardian_link(
        access=system_access(klass.school.pk),
        student=Student.objects.get(pk=student),
        account_id=account.pk,
        relation=relation,
    )
    w.accounts[username] = account.pk
    return account.pk


def section(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|dl|p|section)>', html, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def book(w, klass):
    """6A1's first student: parent_a linked; math scores 8; conduct with comments for both terms; a homeroom
    comment and an award."""
    student = klass.students[0]
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    Student.objects.filter(pk=student).update(
        guardians=[{"name": "Trần Thị Hiền Mẫu", "relation": "Mẹ", "phone": "0988111222"}],
        address="17 Đường Riêng Tư",
    )
    fill_math(klass, "8")
    homeroom = klass.access(w, "homeroom_a")
    for term, text in ((1, "Ngoan, lễ phép với thầy cô"), (2, "Tiến bộ rõ, tích cực giúp bạn")):
        conduct_save(
            access=homeroom,
            school_class=klass.school_class,
            term=term,
            entries=[{"student": student, "level": "T", "text": text}],
        )
    homeroom_comment_save(
        access=homeroom, school_class=klass.school_class, student_id=student, text="Bản đã duyệt: chăm"
    )
    award_add(
        access=homeroom,
        school_class=klass.school_class,
        student_id=student,
        kind="award",
        title="Giấy khen học kì I",
        decided_on=dt.date(2026, 1, 15),
    )
    return student


def test_the_homeroom_teachers_conduct_comments_show_in_the_book_by_term(w, klass, book):
    url = f"/students/{book}/record/"
    status, html = html_of(w, "homeroom_a", url)
    comments = section(html, "record-conduct-comments")
    assert status == 200
    assert "Học kì I:" in comments and "Ngoan, lễ phép với thầy cô" in comments
    assert "Học kì II:" in comments and "Tiến bộ rõ, tích cực giúp bạn" in comments
    assert comments.index("Ngoan") < comments.index("Tiến bộ")
    live = api(w, "homeroom_a").get(f"/api/v1/students/{book}/record/").json()["results"]
    assert live["conduct_comments"] == {"term1": "Ngoan, lễ phép với thầy cô", "term2": "Tiến bộ rõ, tích cực giúp bạn"}
    # A subject teacher reads their subjects only, not the record-wide results.
    _status, teacher = html_of(w, "teacher_a", url)
    assert "Ngoan, lễ phép" not in teacher
    assert "conduct_comments" not in api(w, "teacher_a").get(f"/api/v1/students/{book}/record/").json()["results"]
    # Frozen with the results at approval: what the parent reads.
    submit_and_approve(w, klass, [book])
    assert (
        RecordBook.objects.get(student_id=book).results["conduct_comments"]["term2"] == "Tiến bộ rõ, tích cực giúp bạn"
    )
    status, parent = html_of(w, "parent_a", url)
    assert status == 200 and "Tiến bộ rõ, tích cực giúp bạn" in section(parent, "record-conduct-comments")


@pytest.fixture
def primary(w, klass):
    """Grade 3 class 3A (TT27) of 2026–2027, homeroom_a its homeroom teacher, with one pupil."""
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["primary"])
    three = class_create(access=system, year=year, name="3A", grade=3, homeroom_teacher_id=w.accounts["homeroom_a"])
    assignment_set(
        access=system,
        school_class=three,
        subject=Subject.objects.get(level="primary", code="tieng_viet"),
        teacher_id=w.accounts["teacher_a"],
    )
    pupil = student_enrol(
        access=system,
        school_class=three,
        today=dt.date(2026, 9, 10),
        profile={"full_name": "Lý Thị Mai", "date_of_birth": "05/03/2018", "gender": "F"},
    ).pk
    return three, pupil


def test_the_quality_comments_show_in_a_primary_book_by_term(w, klass, primary):
    three, pupil = primary
    rules = primary_rules(three)
    first, competency = rules.qualities[0], rules.competencies[-1]
    homeroom = klass.access(w, "homeroom_a")
    qualities_save(
        access=homeroom,
        school_class=three,
        term=1,
        checkpoint="end",
        entries=[{"student": pupil, "code": first.code, "level": "T", "text": "Yêu quý bạn bè, kính trọng thầy cô"}],
    )
    qualities_save(
        access=homeroom,
        school_class=three,
        term=2,
        checkpoint="end",
        entries=[
            {"student": pupil, "code": first.code, "level": "T", "text": "Luôn nhường nhịn em nhỏ"},
            {"student": pupil, "code": competency.code, "level": "D", "text": "Vận động tốt hơn đầu năm"},
        ],
    )
    qualities_save(  # a mid-term comment is the assessment book's, not the record book's
        access=homeroom,
        school_class=three,
        term=1,
        checkpoint="mid",
        entries=[{"student": pupil, "code": first.code, "level": "D", "text": "Nhận xét giữa kì"}],
    )
    status, html = html_of(w, "homeroom_a", f"/students/{pupil}/record/?year=2026")
    block = html[html.index('id="record-quality-comments"') :]
    block = block[: block.index("</dl>")]
    assert status == 200
    assert "Cuối học kì I" in block and "Cuối năm học" in block
    assert block.index("Cuối học kì I") < block.index("Yêu quý bạn bè") < block.index("Cuối năm học")
    assert block.index("Cuối năm học") < block.index("Luôn nhường nhịn em nhỏ")
    assert f"{first.label_vi}:" in block and f"{competency.label_vi}:" in block and "Vận động tốt hơn" in block
    assert "Nhận xét giữa kì" not in html
    results = api(w, "homeroom_a").get(f"/api/v1/students/{pupil}/record/?year=2026").json()["results"]
    assert results["quality_comments"] == {
        "term1": {first.code: "Yêu quý bạn bè, kính trọng thầy cô"},
        "term2": {first.code: "Luôn nhường nhịn em nhỏ", competency.code: "Vận động tốt hơn đầu năm"},
    }
    assert results["qualities"][first.code] == "T"  # the year's levels are still the end of year's


def test_after_a_reopen_the_parent_reads_the_last_approved_version(w, klass, book):
    url, api_url = f"/students/{book}/record/", f"/api/v1/students/{book}/record/"
    submit_and_approve(w, klass, [book])
    approved_at = RecordBook.objects.get(student_id=book).approved_at
    approved_on = timezone.localdate(approved_at).strftime("%d/%m/%Y")
    reopen(w, klass, book)
    # The school corrects the draft: new scores, comments, conduct and an award.
    fill_math(klass, "9", [book])
    homeroom = klass.access(w, "homeroom_a")
    homeroom_comment_save(access=homeroom, school_class=klass.school_class, student_id=book, text="Bản nháp mới")
    conduct_save(
        access=homeroom,
        school_class=klass.school_class,
        term=2,
        entries=[{"student": book, "level": "K", "text": "Nháp"}],
    )
    award_add(
        access=homeroom,
        school_class=klass.school_class,
        student_id=book,
        kind="discipline",
        title="Kỉ luật trong bản nháp",
        decided_on=dt.date(2026, 3, 2),
    )

    status, parent = html_of(w, "parent_a", url)
    assert status == 200
    notice = section(parent, "record-approved-version")
    assert f"Học bạ đang được nhà trường điều chỉnh; đây là bản đã duyệt ngày {approved_on}." in notice
    assert "8,0" in parent and "9,0" not in parent
    assert "Bản đã duyệt: chăm" in parent and "Bản nháp mới" not in parent
    assert "Tiến bộ rõ, tích cực giúp bạn" in parent and "Nháp" not in section(parent, "record-conduct-comments")
    assert "Giấy khen học kì I" in parent and "Kỉ luật trong bản nháp" not in parent
    assert "Hiệu trưởng đã duyệt" in parent and "Đang nhập" not in parent
    assert "Sửa điểm Toán nhập nhầm" not in parent  # the reopening reason is the school's
    assert approved_at.astimezone(timezone.get_current_timezone()).strftime("%H:%M %d/%m/%Y") in parent

    data = api(w, "parent_a").get(api_url).json()
    assert data["being_corrected"] is True and data["state"] == "approved"
    assert data["homeroom_comment"] == "Bản đã duyệt: chăm"
    math = next(line for line in data["results"]["subjects"] if line["code"] == klass.math.code)
    assert math["term1"] == "8,0"
    assert data["results"]["conduct_comments"]["term2"] == "Tiến bộ rõ, tích cực giúp bạn"
    children = api(w, "parent_a").get("/api/v1/my-children/").json()
    assert [c["approved"] for c in children] == [True]
    _status, listing = html_of(w, "parent_a", "/my-children/")
    assert f'href="/students/{book}/record/"' in listing

    # Staff with edit rights read the working draft.
    _status, staff = html_of(w, "homeroom_a", url)
    assert "9,0" in staff and "Bản nháp mới" in staff and "Kỉ luật trong bản nháp" in staff
    assert 'id="record-approved-version"' not in staff and "Sửa điểm Toán nhập nhầm" in staff
    staff_data = api(w, "principal_a").get(api_url).json()
    assert staff_data["state"] == "draft" and staff_data["being_corrected"] is False
    assert staff_data["homeroom_comment"] == "Bản nháp mới"

    # Approved again: the parent reads the new version, without the notice.
    submit_and_approve(w, klass, [book])
    status, parent = html_of(w, "parent_a", url)
    assert status == 200 and 'id="record-approved-version"' not in parent
    assert "9,0" in parent and "Bản nháp mới" in parent and "Kỉ luật trong bản nháp" in parent
    data = api(w, "parent_a").get(api_url).json()
    assert data["being_corrected"] is False and data["homeroom_comment"] == "Bản nháp mới"


def test_a_book_never_approved_gives_the_parent_a_clear_page(w, klass, book):
    status, html = html_of(w, "parent_a", f"/students/{book}/record/")
    assert status == 200
    assert 'id="record-pending"' in html and "Học bạ của con bạn chưa được nhà trường duyệt." in html
    assert "Nguyễn Văn An" in html and "8,0" not in html and "Ngoan, lễ phép" not in html
    response = api(w, "parent_a").get(f"/api/v1/students/{book}/record/")
    assert response.status_code == 403 and response.json()["code"] == "records.not_yet_approved"
    assert "8,0" not in response.content.decode()
    # Submitted, not approved: the same.
    in_school(klass)
    records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class, student_ids=[book])
    status, html = html_of(w, "parent_a", f"/students/{book}/record/")
    assert status == 200 and 'id="record-pending"' in html and "8,0" not in html


def test_another_students_parent_and_another_school_are_refused(w, klass, book):
    submit_and_approve(w, klass)
    reopen(w, klass, book)
    new_parent(w, klass, "phu-huynh-khac", "Phụ Huynh Lớp Khác", klass.students[1])
    for name, host in (("phu-huynh-khac", SCHOOL_A_HOST), ("principal_b", SCHOOL_A_HOST), ("teacher_b", SCHOOL_A_HOST)):
        page = client_for(w.account(name), host).get(f"/students/{book}/record/")
        assert page.status_code in (403, 404), name
        assert "Nguyễn Văn An" not in page_text(page) and "8,0" not in page_text(page), name
        response = api(w, name, host).get(f"/api/v1/students/{book}/record/")
        assert response.status_code in (403, 404), name
        assert "Nguyễn Văn An" not in response.content.decode(), name
    # School A's record id asked on school B's site: nothing there by that id.
    for response in (
        client_for(w.account("principal_b"), SCHOOL_B_HOST).get(f"/students/{book}/record/"),
        api(w, "principal_b", SCHOOL_B_HOST).get(f"/api/v1/students/{book}/record/"),
    ):
        assert response.status_code == 404 and "Nguyễn Văn An" not in response.content.decode()
    assert client_for(w.account("parent_a"), SCHOOL_B_HOST).get(f"/students/{book}/record/").status_code in (403, 404)


def test_every_guardian_is_named_to_the_students_parents_and_profile_keepers_only(w, klass, book):
    new_parent(w, klass, "bo-cua-an", "Nguyễn Văn Phụ Thân", book, relation="Bố")
    submit_and_approve(w, klass, [book])
    url, api_url = f"/students/{book}/record/", f"/api/v1/students/{book}/record/"
    mother_account = w.account("parent_a").full_name
    for name in ("parent_a", "bo-cua-an", "homeroom_a", "principal_a"):
        status, html = html_of(w, name, url)
        guardians = section(html, "record-guardians")
        assert status == 200, name
        assert "Trần Thị Hiền Mẫu (Mẹ)" in guardians, name
        assert "Nguyễn Văn Phụ Thân (Bố)" in guardians and mother_account in guardians, name
        assert "0988111222" not in html, name  # phones are the profile's, not the book's
        listed = api(w, name).get(api_url).json()["guardians"]
        assert {g["name"] for g in listed} == {"Trần Thị Hiền Mẫu", "Nguyễn Văn Phụ Thân", mother_account}, name
        assert next(g for g in listed if g["name"] == "Trần Thị Hiền Mẫu")["relation"] == "Mẹ"
        assert next(g for g in listed if g["name"] == "Nguyễn Văn Phụ Thân") == {
            "name": "Nguyễn Văn Phụ Thân",
            "relation": "Bố",
            "account": True,
        }
        assert all("phone" not in g for g in listed)
    # A subject teacher of the class: no guardian, no phone, no address, on the page and in the API.
    status, teacher = html_of(w, "teacher_a", url)
    assert status == 200
    for secret in ("Trần Thị Hiền Mẫu", "Nguyễn Văn Phụ Thân", "0988111222", "17 Đường Riêng Tư"):
        assert secret not in teacher, secret
    data = api(w, "teacher_a").get(api_url)
    assert data.status_code == 200 and "guardians" not in data.json()
    assert "Nguyễn Văn Phụ Thân" not in data.content.decode() and "0988111222" not in data.content.decode()


def test_a_guardian_named_in_the_profile_and_linked_is_listed_once():
    from schools.selectors.students import _same_name

    assert _same_name("  Trần  Thị Hiền ") == _same_name("trần thị hiền")
    assert _same_name("Trần Thị Hiền") != _same_name("Tran Thi Hien")


def _statements(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])


def test_the_parents_reading_takes_the_same_statements_however_much_the_book_holds(w, klass, book):
    submit_and_approve(w, klass, [book])
    reopen(w, klass, book)
    parent = client_for(w.account("parent_a"), SCHOOL_A_HOST)
    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    urls = (f"/students/{book}/record/", f"/api/v1/students/{book}/record/")
    before = [_statements(client, url) for client in (parent, principal) for url in urls]
    # More of everything: awards, guardians, linked parents, classmates; approved again and reopened.
    in_school(klass)
    homeroom = klass.access(w, "homeroom_a")
    for i in range(4):
        award_add(
            access=homeroom,
            school_class=klass.school_class,
            student_id=book,
            kind="award",
            title=f"Khen thưởng thêm {i}",
            decided_on=dt.date(2026, 2, 1 + i),
        )
        new_parent(w, klass, f"phu-huynh-them-{i}", f"Phụ Huynh Thêm {i}", book)
    Student.objects.filter(pk=book).update(
        guardians=[{"name": f"Người Giám Hộ {i}", "relation": "Khác"} for i in range(5)]
    )
    for i in range(5):
        student_enrol(
            access=system_access(klass.school.pk),
            school_class=klass.school_class,
            today=dt.date(2025, 10, 1),
            profile={"full_name": f"Học Sinh Thêm {chr(65 + i)}", "date_of_birth": "01/01/2014", "gender": "M"},
        )
    submit_and_approve(w, klass, [book])
    reopen(w, klass, book)
    connection.set_schema_to_public()
    after = [_statements(client, url) for client in (parent, principal) for url in urls]
    assert after == before, (before, after)
    assert "Khen thưởng thêm 3" in page_text(parent.get(urls[0]))


def test_a_parents_account_is_linked_with_their_relation_to_the_student(w, klass, book):
    guardians_url = f"/students/{book}/guardians/"
    clerk = client_for(w.account("clerk_a"), SCHOOL_A_HOST)
    other = new_parent(w, klass, "ba-ngoai-an", "Phạm Thị Bà Ngoại", klass.students[1])
    connection.set_schema_to_public()
    too_long = clerk.post(guardians_url + "link/", {"account": other, "relation": "Người thân " * 6})
    assert too_long.status_code == 400 and "Quan hệ với học sinh dài quá 40 kí tự" in page_text(too_long)
    in_school(klass)
    assert not GuardianLink.objects.filter(student_id=book, account_id=other).exists()
    connection.set_schema_to_public()
    assert clerk.post(guardians_url + "link/", {"account": other, "relation": " Bà  ngoại "}).status_code == 302
    listing = page_text(clerk.get(guardians_url))
    assert "<td>Phạm Thị Bà Ngoại</td><td>Bà ngoại</td>" in listing
    # The API lists and links with the relation too; linking again changes it.
    api_url = f"/api/v1/students/{book}/guardians/"
    response = api(w, "clerk_a").post(api_url, {"account": other, "relation": "Bà"}, format="json")
    assert response.status_code == 201
    assert {"account": other, "username": "ba-ngoai-an", "full_name": "Phạm Thị Bà Ngoại", "relation": "Bà"} in (
        response.json()
    )
    refused = api(w, "clerk_a").post(api_url, {"account": other, "relation": ["Bà"]}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "relation"
    submit_and_approve(w, klass, [book])
    status, html = html_of(w, "ba-ngoai-an", f"/students/{book}/record/")
    assert status == 200 and "Phạm Thị Bà Ngoại (Bà)" in section(html, "record-guardians")
