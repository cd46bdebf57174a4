"""Setting a school up through its pages and the API: years, classes, teaching assignments, curriculum, departments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from rest_framework.test import APIClient

from schools.models import Department, SchoolClass, SchoolYear, Subject, TeachingAssignment
from schools.services.common import system_access
from schools.services.setup import school_year_open, subject_create
from schools.services.sheets import sheet_save
from tenants.models import School
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

SETUP_ROLES = ["principal_a", "vice_a", "it_a"]
NOT_SETUP = ["homeroom_a", "teacher_a", "dept_a", "clerk_a", "parent_a"]


def page(w, name: str, host: str = SCHOOL_A_HOST):
    return client_for(w.account(name), host)


def api(w, name: str, host: str = SCHOOL_A_HOST) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def body(response) -> str:
    return page_text(response)


def in_school_a(w) -> None:
    """ORM reads of the test run in school A's schema (a request to school B's address switches it)."""
    connection.set_tenant(School.objects.get(pk=w.school_a))


@pytest.fixture
def school_a(w):
    """School A with no year yet."""
    in_school_a(w)
    yield School.objects.get(pk=w.school_a)
    connection.set_schema_to_public()


def khmer(k) -> Subject:
    """A subject of the school's own, taught in grades 7 and 8 only (not in 6A1)."""
    return subject_create(
        access=system_access(k.school.pk),
        level="lower_secondary",
        data={"name": "Tiếng Khmer", "grades": [7, 8], "periods_per_year": 70, "grading": "score"},
    )


# --- the way in, and who may use it --------------------------------------------------------------------------------


def test_school_home_links_setup_for_those_who_set_the_school_up(w, klass):
    for name in SETUP_ROLES:
        assert 'href="/setup/"' in body(page(w, name).get("/")), name
    for name in NOT_SETUP:
        assert 'href="/setup/"' not in body(page(w, name).get("/")), name


@pytest.mark.parametrize("name", NOT_SETUP)
def test_without_school_setup_pages_and_api_are_refused(w, klass, name):
    c, a = page(w, name), api(w, name)
    pk = klass.school_class.pk
    for url in (
        "/setup/",
        "/setup/subjects/",
        "/setup/departments/",
        f"/setup/classes/{pk}/",
        f"/setup/years/{klass.school_class.year_id}/",
        f"/setup/subjects/{klass.math.pk}/",
    ):
        assert c.get(url).status_code == 403, url
    assert c.post("/setup/years/new/", {"open-start_year": "2026", "open-levels": "lower_secondary"}).status_code == 403
    assert c.post(f"/setup/classes/{pk}/edit/", {"class-name": "6X", "class-homeroom_teacher": ""}).status_code == 403
    assert c.post(f"/setup/classes/{pk}/assignments/{klass.math.pk}/clear/").status_code == 403
    for url in (
        "/api/v1/years/",
        "/api/v1/subjects/",
        "/api/v1/departments/",
        "/api/v1/teachers/",
        f"/api/v1/classes/{pk}/assignments/",
    ):
        assert a.get(url).status_code == 403, url
    assert a.post("/api/v1/years/", {"start_year": 2026}, format="json").status_code == 403
    assert a.patch(f"/api/v1/classes/{pk}/", {"name": "6X"}, format="json").status_code == 403
    assert a.delete(f"/api/v1/classes/{pk}/assignments/{klass.math.pk}/").status_code == 403
    in_school_a(w)
    assert not SchoolYear.objects.filter(start_year=2026).exists()
    assert SchoolClass.objects.get(pk=pk).name == "6A1"
    assert TeachingAssignment.objects.filter(school_class_id=pk, subject=klass.math).exists()


def test_another_schools_principal_cannot_reach_this_schools_classes(w, klass):
    pk, math = klass.school_class.pk, klass.math.pk
    # On school A's address they hold no role there.
    assert page(w, "principal_b").get(f"/setup/classes/{pk}/").status_code == 403
    assert api(w, "principal_b").get(f"/api/v1/classes/{pk}/assignments/").status_code == 403
    # On their own school's address the id does not exist (each school is its own schema).
    b_page, b_api = page(w, "principal_b", SCHOOL_B_HOST), api(w, "principal_b", SCHOOL_B_HOST)
    assert b_page.get(f"/setup/classes/{pk}/").status_code == 404
    assert (
        b_page.post(f"/setup/classes/{pk}/edit/", {"class-name": "Lạ", "class-homeroom_teacher": ""}).status_code == 404
    )
    assert b_api.get(f"/api/v1/classes/{pk}/").status_code == 404
    assert b_api.patch(f"/api/v1/classes/{pk}/", {"name": "Lạ"}, format="json").status_code == 404
    assert (
        b_api.put(
            f"/api/v1/classes/{pk}/assignments/", {"assignments": [{"subject": math, "teacher": None}]}, format="json"
        ).status_code
        == 404
    )
    assert b_api.get(f"/api/v1/years/{klass.school_class.year_id}/classes/").status_code == 404
    in_school_a(w)
    assert SchoolClass.objects.get(pk=pk).name == "6A1"
    assert TeachingAssignment.objects.filter(school_class_id=pk, subject_id=math).exists()


# --- years ---------------------------------------------------------------------------------------------------------


def test_open_a_year_on_the_page(w, school_a):
    c = page(w, "vice_a")
    html = body(c.get("/setup/"))
    assert "Trường chưa mở năm học nào." in html and 'name="open-start_year"' in html
    response = c.post(
        "/setup/years/new/",
        {
            "open-start_year": "2026",
            "open-levels": ["lower_secondary"],
            "open-starts_on": "04/09/2026",
            "open-term2_starts_on": "11/01/2027",
            "open-ends_on": "29/05/2027",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/setup/?year=2026"
    in_school_a(w)
    year = SchoolYear.objects.get(start_year=2026)
    assert (year.starts_on, year.term2_starts_on, year.ends_on) == (
        dt.date(2026, 9, 4),
        dt.date(2027, 1, 11),
        dt.date(2027, 5, 29),
    )
    assert Subject.objects.filter(level="lower_secondary").count() == 13 and Department.objects.exists()
    html = body(c.get("/setup/?year=2026"))
    assert (
        "2026–2027" in html and "04/09/2026" in html and "29/05/2027" in html and "Năm học này chưa có lớp nào." in html
    )


def test_opening_a_year_with_default_dates(w, school_a):
    response = page(w, "it_a").post(
        "/setup/years/new/", {"open-start_year": "2026", "open-levels": ["lower_secondary"]}
    )
    assert response.status_code == 302
    in_school_a(w)
    year = SchoolYear.objects.get(start_year=2026)
    assert (year.starts_on, year.term2_starts_on, year.ends_on) == (
        dt.date(2026, 9, 5),
        dt.date(2027, 1, 12),
        dt.date(2027, 5, 31),
    )


@pytest.mark.parametrize(
    "data,message",
    [
        ({"open-start_year": "2026", "open-starts_on": "10/01/2027"}, "Ngày bắt đầu năm học phải trong năm 2026."),
        (
            {"open-start_year": "2026", "open-starts_on": "05/09/2026", "open-term2_starts_on": "01/09/2026"},
            "Ngày bắt đầu học kì II phải sau ngày bắt đầu năm học.",
        ),
        (
            {"open-start_year": "2026", "open-term2_starts_on": "12/01/2027", "open-ends_on": "10/01/2027"},
            "Ngày kết thúc năm học phải sau ngày bắt đầu học kì II.",
        ),
        ({"open-start_year": "2026", "open-starts_on": "2026-09-05"}, "Ngày phải theo dạng dd/mm/yyyy."),
        ({"open-start_year": "hai nghìn"}, "Năm bắt đầu phải là một số từ 2000 đến 2100."),
        ({"open-start_year": "2026", "open-levels": ["primary"]}, "Hãy chọn cấp học trong các cấp học của trường."),
        ({"open-start_year": "2026", "open-levels": []}, "Hãy chọn cấp học trong các cấp học của trường."),
        ({"open-start_year": "2025"}, "Năm học 2025–2026 đã được mở."),
    ],
)
def test_opening_a_year_refuses_bad_input_and_changes_nothing(w, klass, data, message):
    data = {"open-levels": ["lower_secondary"], **data}
    response = page(w, "principal_a").post("/setup/years/new/", data)
    html = body(response)
    assert response.status_code == 200 and message in html and "Chưa lưu được: hãy sửa các ô báo lỗi." in html
    assert 'class="field-error"' in html
    in_school_a(w)
    assert list(SchoolYear.objects.values_list("start_year", flat=True)) == [2025]
    assert not Subject.objects.filter(level="primary").exists()


def test_edit_a_years_dates(w, klass):
    year = klass.school_class.year
    c = page(w, "principal_a")
    html = body(c.get(f"/setup/years/{year.pk}/"))
    assert 'value="05/09/2025"' in html and 'value="12/01/2026"' in html and 'value="31/05/2026"' in html
    response = c.post(
        f"/setup/years/{year.pk}/",
        {"starts_on": "08/09/2025", "term2_starts_on": "19/01/2026", "ends_on": "30/05/2026"},
    )
    assert response.status_code == 302 and response["Location"] == "/setup/?year=2025"
    in_school_a(w)
    year.refresh_from_db()
    assert (year.starts_on, year.term2_starts_on, year.ends_on) == (
        dt.date(2025, 9, 8),
        dt.date(2026, 1, 19),
        dt.date(2026, 5, 30),
    )
    bad = c.post(
        f"/setup/years/{year.pk}/",
        {"starts_on": "08/09/2025", "term2_starts_on": "31/05/2026", "ends_on": "30/05/2026"},
    )
    assert bad.status_code == 200 and "Ngày kết thúc năm học phải sau ngày bắt đầu học kì II." in body(bad)
    missing = c.post(
        f"/setup/years/{year.pk}/", {"starts_on": "", "term2_starts_on": "19/01/2026", "ends_on": "30/05/2026"}
    )
    assert missing.status_code == 200 and 'class="field-error"' in body(missing)
    in_school_a(w)
    year.refresh_from_db()
    assert year.term2_starts_on == dt.date(2026, 1, 19)


def test_setup_pages_choose_the_year(w, klass):
    school_year_open(access=system_access(klass.school.pk), start_year=2026, levels=["lower_secondary"])
    c = page(w, "principal_a")
    newest = body(c.get("/setup/"))
    assert "Các lớp của năm học 2026–2027" in newest and "6A1" not in newest
    older = body(c.get("/setup/?year=2025"))
    assert "Các lớp của năm học 2025–2026" in older and "6A1" in older and "6A2" in older and "Homeroom A" in older
    assert c.get("/setup/?year=1999").status_code == 404
    assert c.get("/setup/years/999999/").status_code == 404
    # The rest of the app keeps showing the newest year.
    assert "6A1" not in body(c.get("/classes/"))


# --- classes -------------------------------------------------------------------------------------------------------


def test_create_a_class_on_the_page(w, klass):
    year = klass.school_class.year
    c = page(w, "principal_a")
    html = body(c.get("/setup/?year=2025"))
    assert 'name="class-grade"' in html and "Homeroom A" in html and "Parent A" not in html
    response = c.post(
        f"/setup/years/{year.pk}/classes/new/",
        {"class-name": " 7A1 ", "class-grade": "7", "class-homeroom_teacher": str(w.accounts["teacher_a"])},
    )
    assert response.status_code == 302 and response["Location"] == "/setup/?year=2025#lop"
    in_school_a(w)
    created = SchoolClass.objects.get(year=year, name="7A1")
    assert created.grade == 7 and created.homeroom_teacher_id == w.accounts["teacher_a"]


@pytest.mark.parametrize(
    "data,message",
    [
        ({"class-name": "  "}, "Cần có tên lớp."),
        ({"class-grade": "13"}, "Khối lớp phải từ 1 đến 12."),
        ({"class-grade": "mười"}, "Khối lớp phải từ 1 đến 12."),
        ({"class-grade": "3"}, "Trường chưa có chương trình học của khối 3."),
        ({"class-name": "6a1"}, "Lớp 6a1 đã có trong năm học này."),
        ({"class-homeroom_teacher": "teacher_b"}, "Người được phân công không phải giáo viên của trường."),
        ({"class-homeroom_teacher": "parent_a"}, "Người được phân công không phải giáo viên của trường."),
    ],
)
def test_creating_a_class_refuses_bad_input(w, klass, data, message):
    year = klass.school_class.year
    data = {"class-name": "6A9", "class-grade": "6", "class-homeroom_teacher": "", **data}
    if data["class-homeroom_teacher"] in w.accounts:
        data["class-homeroom_teacher"] = str(w.accounts[data["class-homeroom_teacher"]])
    response = page(w, "principal_a").post(f"/setup/years/{year.pk}/classes/new/", data)
    html = body(response)
    assert response.status_code == 200 and message in html and 'class="field-error"' in html
    in_school_a(w)
    assert SchoolClass.objects.filter(year=year).count() == 2


def test_rename_a_class_and_change_its_homeroom_teacher(w, klass):
    pk = klass.school_class.pk
    c = page(w, "principal_a")
    html = body(c.get(f"/setup/classes/{pk}/"))
    assert 'value="6A1"' in html and "Lớp 6A1 — khối 6, năm học 2025–2026" in html
    assert page(w, "homeroom_a").get(f"/classes/{pk}/").status_code == 200
    response = c.post(
        f"/setup/classes/{pk}/edit/",
        {"class-name": "6A1 Chuyên", "class-homeroom_teacher": str(w.accounts["teacher_a"])},
    )
    assert response.status_code == 302 and response["Location"] == f"/setup/classes/{pk}/"
    in_school_a(w)
    school_class = SchoolClass.objects.get(pk=pk)
    assert (school_class.name, school_class.grade, school_class.homeroom_teacher_id) == (
        "6A1 Chuyên",
        6,
        w.accounts["teacher_a"],
    )
    # The new homeroom teacher manages the class; the old one no longer sees it as theirs.
    assert "Chủ nhiệm" in body(page(w, "teacher_a").get("/classes/"))
    assert page(w, "homeroom_a").get(f"/classes/{pk}/").status_code == 404
    # And back again, later.
    assert (
        c.post(
            f"/setup/classes/{pk}/edit/", {"class-name": "6A1", "class-homeroom_teacher": str(w.accounts["homeroom_a"])}
        ).status_code
        == 302
    )
    assert page(w, "homeroom_a").get(f"/classes/{pk}/").status_code == 200
    # No homeroom teacher at all.
    assert c.post(f"/setup/classes/{pk}/edit/", {"class-name": "6A1", "class-homeroom_teacher": ""}).status_code == 302
    in_school_a(w)
    assert SchoolClass.objects.get(pk=pk).homeroom_teacher_id is None


@pytest.mark.parametrize(
    "data,message",
    [
        ({"class-name": ""}, "Cần có tên lớp."),
        ({"class-name": "6A2"}, "Lớp 6A2 đã có trong năm học này."),
        ({"class-homeroom_teacher": "principal_b"}, "Người được phân công không phải giáo viên của trường."),
    ],
)
def test_editing_a_class_refuses_bad_input(w, klass, data, message):
    pk = klass.school_class.pk
    data = {"class-name": "6A7", "class-homeroom_teacher": str(w.accounts["homeroom_a"]), **data}
    if data["class-homeroom_teacher"] in w.accounts:
        data["class-homeroom_teacher"] = str(w.accounts[data["class-homeroom_teacher"]])
    response = page(w, "principal_a").post(f"/setup/classes/{pk}/edit/", data)
    assert response.status_code == 200 and message in body(response)
    in_school_a(w)
    school_class = SchoolClass.objects.get(pk=pk)
    assert (school_class.name, school_class.homeroom_teacher_id) == ("6A1", w.accounts["homeroom_a"])


# --- teaching assignments ------------------------------------------------------------------------------------------


def _assignment_post(k, w, **teachers) -> dict[str, str]:
    """Every subject of grade 6 as the page posts it; ``teachers``: subject code → account name or ''."""
    current = dict(
        TeachingAssignment.objects.filter(school_class=k.school_class).values_list("subject_id", "teacher_id")
    )
    data = {}
    for subject in Subject.objects.filter(level="lower_secondary", grades__contains=[6]):
        value = teachers.get(subject.code)
        if value is None:
            data[f"assign-teacher_{subject.pk}"] = str(current.get(subject.pk) or "")
        else:
            data[f"assign-teacher_{subject.pk}"] = str(w.accounts[value]) if value else ""
    return data


def test_assignments_page_saves_every_subject_at_once(w, klass):
    pk = klass.school_class.pk
    c = page(w, "vice_a")
    html = body(c.get(f"/setup/classes/{pk}/"))
    assert "Khoa học tự nhiên" in html and f'name="assign-teacher_{klass.math.pk}"' in html
    assert f'<option value="{w.accounts["teacher_a"]}" selected>' in html
    data = _assignment_post(klass, w, toan="dept_a", ngu_van="teacher_a", giao_duc_the_chat="")
    response = c.post(f"/setup/classes/{pk}/assignments/", data)
    assert response.status_code == 302, body(response)
    in_school_a(w)
    got = {
        a.subject.code: a.teacher_id
        for a in TeachingAssignment.objects.filter(school_class_id=pk).select_related("subject")
    }
    assert got == {"toan": w.accounts["dept_a"], "ngu_van": w.accounts["teacher_a"]}
    # The subject teacher now enters Ngữ văn, no longer Toán.
    assert page(w, "dept_a").get(f"/classes/{pk}/sheets/{klass.math.pk}/1/").status_code == 200


@pytest.mark.parametrize("bad", ["teacher_b", "parent_a", "nobody"])
def test_assignments_page_is_all_or_nothing(w, klass, bad):
    pk = klass.school_class.pk
    data = _assignment_post(klass, w, toan="dept_a", ngu_van="teacher_a")
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    data[f"assign-teacher_{literature.pk}"] = "987654" if bad == "nobody" else str(w.accounts[bad])
    response = page(w, "principal_a").post(f"/setup/classes/{pk}/assignments/", data)
    html = body(response)
    assert response.status_code == 200
    assert "Giáo viên dạy môn Ngữ văn không phải giáo viên của trường." in html
    assert "Có 1 dòng phân công không hợp lệ; chưa lưu gì." in html
    in_school_a(w)
    got = {a.subject_id: a.teacher_id for a in TeachingAssignment.objects.filter(school_class_id=pk)}
    assert got == {klass.math.pk: w.accounts["teacher_a"], klass.pe.pk: w.accounts["teacher_a"]}


def test_clear_one_assignment_on_the_page(w, klass):
    pk = klass.school_class.pk
    c = page(w, "it_a")
    assert "Bỏ phân công" in body(c.get(f"/setup/classes/{pk}/"))
    response = c.post(f"/setup/classes/{pk}/assignments/{klass.math.pk}/clear/")
    assert response.status_code == 302
    in_school_a(w)
    assert list(TeachingAssignment.objects.filter(school_class_id=pk).values_list("subject_id", flat=True)) == [
        klass.pe.pk
    ]
    assert page(w, "teacher_a").get(f"/classes/{pk}/sheets/{klass.math.pk}/1/").status_code in (403, 404)


# --- curriculum and departments ------------------------------------------------------------------------------------


def test_curriculum_page_lists_edits_and_adds_subjects(w, klass):
    c = page(w, "principal_a")
    html = body(c.get("/setup/subjects/"))
    assert "Khoa học tự nhiên" in html and "Hoạt động trải nghiệm, hướng nghiệp" in html and "THCS" in html
    department = Department.objects.get(code="to-khtn")
    response = c.post(
        f"/setup/subjects/{klass.math.pk}/",
        {
            "name": "Toán học",
            "periods_per_year": "150",
            "grading": "score",
            "department": str(department.pk),
            "grades": ["6", "7", "8", "9"],
        },
    )
    assert response.status_code == 302, body(response)
    in_school_a(w)
    math = Subject.objects.get(pk=klass.math.pk)
    assert (math.name, math.periods_per_year, math.department_id, math.code) == ("Toán học", 150, department.pk, "toan")
    response = c.post(
        "/setup/subjects/new/",
        {
            "new-level": "lower_secondary",
            "new-name": "Tiếng Khmer",
            "new-periods_per_year": "70",
            "new-grading": "comment",
            "new-grades": ["6", "7"],
            "new-department": "",
        },
    )
    assert response.status_code == 302, body(response)
    in_school_a(w)
    added = Subject.objects.get(level="lower_secondary", name="Tiếng Khmer")
    assert (added.code, added.grades, added.grading, added.department_id) == ("tieng_khmer", [6, 7], "comment", None)
    assert "Tiếng Khmer" in body(c.get(f"/setup/classes/{klass.school_class.pk}/"))


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": " "}, "Cần có tên môn học."),
        ({"periods_per_year": "0"}, "Số tiết cả năm phải là số nguyên từ 1 đến 1000."),
        ({"periods_per_year": "nhiều"}, "Số tiết cả năm phải là số nguyên từ 1 đến 1000."),
        ({"grading": "level"}, "Cách đánh giá level không dùng cho cấp học này."),
        ({"grades": ["6", "13"]}, "Khối học phải chọn trong các khối 6–9."),
        ({"grades": []}, "Khối học phải chọn trong các khối 6–9."),
        ({"grades": ["7", "8", "9"]}, "Môn Toán đang được phân công dạy ở lớp 6A1; không bỏ được khối đó."),
        ({"department": "999999"}, "Không tìm thấy tổ chuyên môn."),
        ({"has_periodic_test": "on"}, "Chỉ môn học ở tiểu học mới có bài kiểm tra định kì (TT27)."),
        ({"name": "Ngữ văn"}, "Môn Ngữ văn đã có ở cấp học này."),
    ],
)
def test_editing_a_subject_refuses_bad_input(w, klass, data, message):
    data = {
        "name": "Toán",
        "periods_per_year": "140",
        "grading": "score",
        "department": "",
        "grades": ["6", "7", "8", "9"],
        **data,
    }
    response = page(w, "principal_a").post(f"/setup/subjects/{klass.math.pk}/", data)
    assert response.status_code == 200 and message in body(response)
    in_school_a(w)
    math = Subject.objects.get(pk=klass.math.pk)
    assert (math.name, math.periods_per_year, math.grades, math.department_id is not None) == (
        "Toán",
        140,
        [6, 7, 8, 9],
        True,
    )


def test_adding_a_subject_refuses_bad_input(w, klass):
    c = page(w, "principal_a")
    before = Subject.objects.count()
    for data, message in [
        ({"new-level": "primary"}, "Hãy chọn cấp học trong các cấp học của trường."),
        ({"new-name": ""}, "Cần có tên môn học."),
        ({"new-grades": ["5"]}, "Khối học phải chọn trong các khối 6–9."),
        ({"new-name": "toán"}, "Môn toán đã có ở cấp học này."),
    ]:
        response = c.post(
            "/setup/subjects/new/",
            {
                "new-level": "lower_secondary",
                "new-name": "Tiếng Chăm",
                "new-periods_per_year": "35",
                "new-grading": "score",
                "new-grades": ["6"],
                **data,
            },
        )
        assert response.status_code == 200 and message in body(response), message
    in_school_a(w)
    assert Subject.objects.count() == before


def test_a_subjects_grading_cannot_change_once_marks_exist(w, klass):
    sheet_save(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "tx1", "value": "8"}],
    )
    response = api(w, "principal_a").patch(f"/api/v1/subjects/{klass.math.pk}/", {"grading": "comment"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "subjects.grading_in_use" and response.json()["field"] == "grading"
    in_school_a(w)
    assert Subject.objects.get(pk=klass.math.pk).grading == "score"


def test_departments_page_renames_and_sets_the_head(w, klass):
    department = Department.objects.get(code="to-toan-tin")
    c = page(w, "principal_a")
    html = body(c.get("/setup/departments/"))
    assert "Tổ Toán – Tin học" in html and "Dept A" in html and "Parent A" not in html
    response = c.post(
        f"/setup/departments/{department.pk}/",
        {f"d{department.pk}-name": "Tổ Toán", f"d{department.pk}-head": str(w.accounts["dept_a"])},
    )
    assert response.status_code == 302
    in_school_a(w)
    department.refresh_from_db()
    assert (department.name, department.head_id) == ("Tổ Toán", w.accounts["dept_a"])
    # The head now reads the records of the department's subjects.
    assert page(w, "dept_a").get(f"/classes/{klass.school_class.pk}/").status_code == 200
    for head, name, message in [
        (str(w.accounts["teacher_b"]), "Tổ Toán", "Tổ trưởng phải là cán bộ, giáo viên của trường."),
        (str(w.accounts["parent_a"]), "Tổ Toán", "Tổ trưởng phải là cán bộ, giáo viên của trường."),
        ("", " ", "Cần có tên tổ chuyên môn."),
    ]:
        response = c.post(
            f"/setup/departments/{department.pk}/", {f"d{department.pk}-name": name, f"d{department.pk}-head": head}
        )
        assert response.status_code == 200 and message in body(response), message
    in_school_a(w)
    department.refresh_from_db()
    assert (department.name, department.head_id) == ("Tổ Toán", w.accounts["dept_a"])


# --- the API -------------------------------------------------------------------------------------------------------


def test_api_years(w, klass):
    a = api(w, "principal_a")
    years = a.get("/api/v1/years/").json()
    assert [(y["label"], y["starts_on"], y["ends_on"]) for y in years] == [("2025–2026", "05/09/2025", "31/05/2026")]
    response = a.post(
        "/api/v1/years/",
        {"start_year": 2026, "starts_on": "07/09/2026", "term2_starts_on": "18/01/2027", "ends_on": "2027-05-28"},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["starts_on"], created["term2_starts_on"], created["ends_on"]) == (
        "07/09/2026",
        "18/01/2027",
        "28/05/2027",
    )
    response = a.patch(f"/api/v1/years/{created['id']}/", {"ends_on": "31/05/2027"}, format="json")
    assert response.status_code == 200 and response.json()["ends_on"] == "31/05/2027"
    assert a.get(f"/api/v1/years/{created['id']}/").json()["label"] == "2026–2027"


@pytest.mark.parametrize(
    "payload,status,code,field",
    [
        ({"start_year": 2025}, 400, "years.exists", "start_year"),
        ({"start_year": 1990}, 400, "years.bad_start_year", "start_year"),
        ({"start_year": 2026, "levels": ["upper_secondary"]}, 400, "years.bad_levels", "levels"),
        ({"start_year": 2026, "starts_on": "20/01/2027"}, 400, "years.bad_start", "starts_on"),
        ({"start_year": 2026, "term2_starts_on": "01/06/2027"}, 400, "years.dates_order", "ends_on"),
    ],
)
def test_api_year_bad_input(w, klass, payload, status, code, field):
    response = api(w, "principal_a").post("/api/v1/years/", payload, format="json")
    assert response.status_code == status, response.content
    data = response.json()
    assert (data["code"], data["field"]) == (code, field) and data["detail"] and data["detail_en"]
    in_school_a(w)
    assert SchoolYear.objects.count() == 1


def test_api_year_dates_out_of_order_change_nothing(w, klass):
    year = klass.school_class.year
    response = api(w, "vice_a").patch(f"/api/v1/years/{year.pk}/", {"term2_starts_on": "01/09/2025"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "term2_starts_on"
    response = api(w, "vice_a").patch(f"/api/v1/years/{year.pk}/", {"ends_on": "không phải ngày"}, format="json")
    assert response.status_code == 400 and "ends_on" in response.json()
    in_school_a(w)
    year.refresh_from_db()
    assert year.term2_starts_on == dt.date(2026, 1, 12) and year.ends_on == dt.date(2026, 5, 31)


def test_api_classes(w, klass):
    a = api(w, "it_a")
    year = klass.school_class.year
    listed = a.get(f"/api/v1/years/{year.pk}/classes/").json()
    assert [c["name"] for c in listed] == ["6A1", "6A2"]
    response = a.post(
        f"/api/v1/years/{year.pk}/classes/",
        {"name": "8A1", "grade": 8, "homeroom_teacher_id": w.accounts["teacher_a"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["grade"], created["homeroom_teacher_id"], created["year"]) == (8, w.accounts["teacher_a"], year.pk)
    response = a.patch(
        f"/api/v1/classes/{created['id']}/", {"homeroom_teacher_id": w.accounts["homeroom_a"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["homeroom_teacher_id"] == w.accounts["homeroom_a"]
    assert response.json()["name"] == "8A1"
    response = a.patch(f"/api/v1/classes/{created['id']}/", {"name": "8A2", "homeroom_teacher_id": None}, format="json")
    assert response.status_code == 200 and response.json()["homeroom_teacher_id"] is None
    assert a.get(f"/api/v1/classes/{created['id']}/").json()["name"] == "8A2"


@pytest.mark.parametrize(
    "payload,field,code",
    [
        ({"name": "", "grade": 6}, "name", "classes.missing_name"),
        ({"name": "6B", "grade": 13}, "grade", "classes.bad_grade"),
        ({"name": "6B", "grade": 0}, "grade", "classes.bad_grade"),
        ({"name": "6A2", "grade": 6}, "name", "classes.exists"),
        (
            {"name": "6B", "grade": 6, "homeroom_teacher_id": "teacher_b"},
            "homeroom_teacher",
            "assignments.not_a_teacher",
        ),
        ({"name": "6B", "grade": 6, "homeroom_teacher_id": "clerk_a"}, "homeroom_teacher", "assignments.not_a_teacher"),
    ],
)
def test_api_class_bad_input(w, klass, payload, field, code):
    if payload.get("homeroom_teacher_id") in w.accounts:
        payload = {**payload, "homeroom_teacher_id": w.accounts[payload["homeroom_teacher_id"]]}
    year = klass.school_class.year
    response = api(w, "principal_a").post(f"/api/v1/years/{year.pk}/classes/", payload, format="json")
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == (field, code)
    in_school_a(w)
    assert SchoolClass.objects.filter(year=year).count() == 2


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"name": " "}, "name"),
        ({"name": "6a1"}, "name"),
        ({"homeroom_teacher_id": "teacher_b"}, "homeroom_teacher"),
        ({"homeroom_teacher_id": 987654}, "homeroom_teacher"),
    ],
)
def test_api_class_edit_bad_input(w, klass, payload, field):
    if payload.get("homeroom_teacher_id") in w.accounts:
        payload = {**payload, "homeroom_teacher_id": w.accounts[payload["homeroom_teacher_id"]]}
    response = api(w, "principal_a").patch(f"/api/v1/classes/{klass.other_class.pk}/", payload, format="json")
    assert response.status_code == 400 and response.json()["field"] == field, response.content
    in_school_a(w)
    other = SchoolClass.objects.get(pk=klass.other_class.pk)
    assert (other.name, other.homeroom_teacher_id) == ("6A2", None)


def test_api_assignments(w, klass):
    a = api(w, "principal_a")
    url = f"/api/v1/classes/{klass.school_class.pk}/assignments/"
    rows = a.get(url).json()
    assert (
        len(rows) == 13
        and {"subject": klass.math.pk, "subject_name": "Toán", "teacher": w.accounts["teacher_a"], "parts": []} in rows
    )
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    response = a.put(
        url,
        {
            "assignments": [
                {"subject": literature.pk, "teacher": w.accounts["homeroom_a"]},
                {"subject": klass.pe.pk, "teacher": None},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    teachers = {r["subject"]: r["teacher"] for r in response.json()}
    assert teachers[literature.pk] == w.accounts["homeroom_a"] and teachers[klass.pe.pk] is None
    assert teachers[klass.math.pk] == w.accounts["teacher_a"]  # not listed: unchanged
    assert a.delete(f"{url}{klass.math.pk}/").status_code == 204
    assert a.delete(f"{url}{klass.math.pk}/").status_code == 404
    in_school_a(w)
    assert list(
        TeachingAssignment.objects.filter(school_class=klass.school_class).values_list("subject_id", "teacher_id")
    ) == [(literature.pk, w.accounts["homeroom_a"])]


def test_api_assignments_are_all_or_nothing(w, klass):
    other_grade = khmer(klass)
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    url = f"/api/v1/classes/{klass.school_class.pk}/assignments/"
    response = api(w, "principal_a").put(
        url,
        {
            "assignments": [
                {"subject": literature.pk, "teacher": w.accounts["homeroom_a"]},
                {"subject": klass.math.pk, "teacher": w.accounts["principal_b"]},
                {"subject": other_grade.pk, "teacher": w.accounts["teacher_a"]},
                {"subject": 999999, "teacher": w.accounts["teacher_a"]},
                {"subject": klass.pe.pk, "teacher": None},
            ]
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "assignments.invalid" and data["detail"] == "Có 3 dòng phân công không hợp lệ; chưa lưu gì."
    assert [(e["index"], e["field"], e["code"]) for e in data["errors"]] == [
        (1, "teacher", "assignments.not_a_teacher"),
        (2, "subject", "assignments.subject_not_taught"),
        (3, "subject", "assignments.no_subject"),
    ]
    assert data["errors"][1]["detail"] == "Môn Tiếng Khmer không học ở lớp 6A1." and data["errors"][1]["detail_en"]
    in_school_a(w)
    got = {a.subject_id: a.teacher_id for a in TeachingAssignment.objects.filter(school_class=klass.school_class)}
    assert got == {klass.math.pk: w.accounts["teacher_a"], klass.pe.pk: w.accounts["teacher_a"]}
    malformed = api(w, "principal_a").put(url, {"assignments": "Toán"}, format="json")
    assert malformed.status_code == 400 and "assignments" in malformed.json()


def test_api_curriculum(w, klass):
    a = api(w, "vice_a")
    subjects = a.get("/api/v1/subjects/?level=lower_secondary").json()
    assert len(subjects) == 13 and subjects[0]["code"] == "ngu_van"
    math = a.get(f"/api/v1/subjects/{klass.math.pk}/").json()
    assert (math["grading"], math["grades"], math["periods_per_year"]) == ("score", [6, 7, 8, 9], 140)
    response = a.patch(
        f"/api/v1/subjects/{klass.math.pk}/", {"periods_per_year": 175, "department": None}, format="json"
    )
    assert (
        response.status_code == 200
        and response.json()["periods_per_year"] == 175
        and response.json()["department"] is None
    )
    assert response.json()["name"] == "Toán"
    response = a.post(
        "/api/v1/subjects/",
        {
            "level": "lower_secondary",
            "name": "Giáo dục STEM",
            "grades": [8, 9],
            "periods_per_year": 35,
            "grading": "comment",
            "code": "stem",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["code"], response.json()["order"]) == ("stem", 13)
    for payload, field in [
        ({"name": "STEM 2", "code": "stem"}, "code"),
        ({"name": "X", "code": "Không hợp lệ"}, "code"),
        ({"name": "X", "grades": [13]}, "grades"),
        ({"name": "", "grades": [6]}, "name"),
        ({"name": "X", "level": "upper_secondary"}, "level"),
    ]:
        response = a.post(
            "/api/v1/subjects/",
            {"level": "lower_secondary", "grades": [6], "periods_per_year": 35, "grading": "score", **payload},
            format="json",
        )
        assert response.status_code == 400 and response.json()["field"] == field, (payload, response.content)
    response = a.patch(f"/api/v1/subjects/{klass.math.pk}/", {"grades": [6, 7, 8, 9, 10]}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "grades"
    assert a.get("/api/v1/subjects/999999/").status_code == 404
    in_school_a(w)
    assert Subject.objects.filter(level="lower_secondary").count() == 14


def test_api_departments(w, klass):
    a = api(w, "principal_a")
    departments = a.get("/api/v1/departments/").json()
    assert "Tổ Toán – Tin học" in [d["name"] for d in departments]
    department = Department.objects.get(code="to-khtn")
    response = a.patch(f"/api/v1/departments/{department.pk}/", {"head_id": w.accounts["dept_a"]}, format="json")
    assert response.status_code == 200 and response.json()["head_id"] == w.accounts["dept_a"]
    assert response.json()["name"] == "Tổ Khoa học tự nhiên – Công nghệ"
    for payload, field in [
        ({"head_id": w.accounts["principal_b"]}, "head"),
        ({"head_id": w.accounts["parent_a"]}, "head"),
        ({"name": ""}, "name"),
    ]:
        response = a.patch(f"/api/v1/departments/{department.pk}/", payload, format="json")
        assert response.status_code == 400 and response.json()["field"] == field, payload
    assert a.get("/api/v1/departments/999999/").status_code == 404
    in_school_a(w)
    department.refresh_from_db()
    assert department.head_id == w.accounts["dept_a"] and department.name == "Tổ Khoa học tự nhiên – Công nghệ"
    people = a.get("/api/v1/teachers/").json()
    names = {p["full_name"] for p in people}
    assert {"Teacher A", "Homeroom A"} <= names and "Parent A" not in names and "Teacher B" not in names
    assert "Clerk A" in {p["full_name"] for p in a.get("/api/v1/teachers/?staff=1").json()}


def test_openapi_lists_the_setup_endpoints(w, klass):
    response = api(w, "principal_a").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/years/",
        "/api/v1/years/{id}/",
        "/api/v1/years/{id}/classes/",
        "/api/v1/classes/{id}/",
        "/api/v1/classes/{id}/assignments/",
        "/api/v1/classes/{id}/assignments/{subject}/",
        "/api/v1/subjects/",
        "/api/v1/subjects/{id}/",
        "/api/v1/departments/",
        "/api/v1/departments/{id}/",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/v1/years/{id}/"] and "put" in paths["/api/v1/classes/{id}/assignments/"]
