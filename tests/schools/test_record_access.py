"""Who reads what of a student: the record book of any year, its subjects by scope, personal data by role."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from schools.models import Department, GuardianLink, RecordBook, RecordState, Subject
from schools.services.common import system_access
from schools.services.setup import class_create, school_year_open
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

WHOLE_RECORD = ("learning", "title", "promotion", "conduct", "absences")


def api(w, name, host=SCHOOL_A_HOST):
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def _scores(w, klass):
    cells = [
        {"student": s, "column": c, "value": "8"}
        for s in klass.students
        for c in ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
    ]
    for subject in (klass.math, klass.pe):
        values = (
            cells if subject.grading == "score" else [{**c, "value": "Đ"} for c in cells if c["column"] in ("gk", "ck")]
        )
        url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{subject.pk}/1/"
        assert api(w, "teacher_a").put(url, {"cells": values}, format="json").status_code == 200


def test_a_subject_teacher_reads_only_their_subjects_of_a_record(w, klass):
    _scores(w, klass)
    student = klass.students[0]
    own = api(w, "teacher_a").get(f"/api/v1/students/{student}/record/").json()["results"]
    assert {line["code"] for line in own["subjects"]} == {klass.math.code, klass.pe.code}
    assert not any(key in own for key in WHOLE_RECORD)
    whole = api(w, "homeroom_a").get(f"/api/v1/students/{student}/record/").json()["results"]
    assert len(whole["subjects"]) > 2 and all(key in whole for key in WHOLE_RECORD)
    page = client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(f"/students/{student}/record/")
    assert page.status_code == 200
    assert "Bạn chỉ xem được các môn thuộc phạm vi của mình." in page.content.decode()


def test_a_clerk_keeps_profiles_but_does_not_read_record_books(w, klass):
    student = klass.students[0]
    clerk = api(w, "clerk_a")
    assert clerk.get(f"/api/v1/students/{student}/").status_code == 200
    assert clerk.get(f"/api/v1/students/{student}/record/").status_code == 404
    assert client_for(w.account("clerk_a"), SCHOOL_A_HOST).get(f"/students/{student}/record/").status_code == 404


def test_a_department_head_reads_the_departments_sheets_and_writes_none(w, klass):
    Department.objects.filter(pk=klass.math.department_id).update(head_id=w.accounts["dept_a"])
    dept = api(w, "dept_a")
    base = f"/api/v1/classes/{klass.school_class.pk}/sheets"
    assert dept.get(f"{base}/{klass.math.pk}/1/").status_code == 200
    refused = dept.put(
        f"{base}/{klass.math.pk}/1/",
        {"cells": [{"student": klass.students[0], "column": "tx1", "value": "9"}]},
        format="json",
    )
    assert refused.status_code == 403
    other_subject = (
        Subject.objects.filter(level="lower_secondary").exclude(department_id=klass.math.department_id).first()
    )
    assert dept.get(f"{base}/{other_subject.pk}/1/").status_code in (403, 404)
    assert (
        dept.get(f"{base}/{klass.pe.pk}/1/").status_code in (403, 404)
        or klass.pe.department_id == klass.math.department_id
    )


def test_personal_data_only_for_those_who_keep_profiles(w, klass):
    from schools.models import Student

    Student.objects.filter(pk=klass.students[0]).update(personal_id="079214000123", address="12 Lê Lợi, Tây Ninh")
    url = f"/api/v1/classes/{klass.school_class.pk}/students/"
    teacher_rows = api(w, "teacher_a").get(url).json()
    assert teacher_rows and all(set(row) == {"id", "full_name", "date_of_birth", "gender"} for row in teacher_rows)
    assert "079214000123" not in api(w, "teacher_a").get(f"/api/v1/students/{klass.students[0]}/").content.decode()
    for name in ("homeroom_a", "principal_a", "clerk_a"):
        rows = api(w, name).get(url).json()
        assert next(r for r in rows if r["id"] == klass.students[0])["personal_id"] == "079214000123", name


@pytest.fixture
def two_years(w, klass):
    """The first student's 2025–2026 record approved, and a 2026–2027 record begun in a class of grade 7."""
    _scores(w, klass)
    student = klass.students[0]
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    RecordBook.objects.filter(student_id=student).update(state=RecordState.APPROVED)
    system = system_access(w.school_a)
    next_year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    seven = class_create(
        access=system, year=next_year, name="7A1", grade=7, homeroom_teacher_id=w.accounts["homeroom_a"]
    )
    RecordBook.objects.create(student_id=student, year=next_year, school_class=seven)
    return student


def test_a_parent_still_reads_last_years_approved_book_once_a_new_year_begins(w, two_years):
    parent = api(w, "parent_a")
    record = parent.get(f"/api/v1/students/{two_years}/record/")
    assert record.status_code == 200 and record.json()["state"] == "approved"
    assert parent.get(f"/api/v1/students/{two_years}/record/?year=2025").json()["state"] == "approved"
    assert parent.get(f"/api/v1/students/{two_years}/record/?year=2026").status_code == 403  # not approved yet
    assert parent.get(f"/api/v1/students/{two_years}/record/?year=2019").status_code == 404
    bad = parent.get(f"/api/v1/students/{two_years}/record/?year=hai")
    assert bad.status_code == 400 and bad.json()["code"] == "records.bad_year"
    children = parent.get("/api/v1/my-children/").json()
    assert [c["id"] for c in children] == [two_years]
    page = client_for(w.account("parent_a"), SCHOOL_A_HOST).get(f"/students/{two_years}/record/")
    assert page.status_code == 200 and "2025" in page.content.decode()


def test_staff_choose_the_year_of_a_record(w, two_years):
    homeroom = api(w, "homeroom_a")
    assert homeroom.get(f"/api/v1/students/{two_years}/record/").json()["state"] == "draft"  # the latest
    assert homeroom.get(f"/api/v1/students/{two_years}/record/?year=2025").json()["state"] == "approved"
    page = client_for(w.account("principal_a"), SCHOOL_A_HOST).get(f"/students/{two_years}/record/?year=2025")
    assert page.status_code == 200
    years = [y.start_year for y in page.context["years"]]
    assert years == [2026, 2025]


def test_another_schools_people_never_see_a_record(w, two_years):
    for name, host in (("teacher_b", SCHOOL_A_HOST), ("principal_b", SCHOOL_A_HOST), ("principal_b", SCHOOL_B_HOST)):
        response = api(w, name, host).get(f"/api/v1/students/{two_years}/record/?year=2025")
        assert response.status_code in (403, 404), name
        assert "Nguyễn Văn An" not in response.content.decode()


def test_every_school_api_endpoint_is_in_the_school_sites_openapi_schema(w, klass):
    import re

    from django.urls import get_resolver

    from tests.tenants.test_security import _walk

    response = api(w, "principal_a").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    documented = {re.sub(r"\{\w+\}", "{}", path) for path in response.json()["paths"]}
    routes = {
        "/" + re.sub(r"<(?:\w+:)?\w+>", "{}", route)
        for route, _cb in _walk(get_resolver("hocba.urls_school").url_patterns)
        if route.startswith("api/v1/") and "schema" not in route and "docs" not in route
    }
    assert len(routes) >= 15
    assert routes <= documented, sorted(routes - documented)
    record = next(
        v for k, v in response.json()["paths"].items() if re.fullmatch(r"/api/v1/students/\{\w+\}/record/", k)
    )["get"]
    assert any(p["name"] == "year" for p in record.get("parameters", []))
    # The refusals: one body for all, a write on a school's site may also meet a window (423).
    sheet = next(
        v
        for k, v in response.json()["paths"].items()
        if re.fullmatch(r"/api/v1/classes/\{\w+\}/sheets/\{\w+\}/\{\w+\}/", k)
    )
    assert {"400", "403", "404", "423"} <= set(sheet["put"]["responses"]) and "423" not in sheet["get"]["responses"]
    ref = sheet["put"]["responses"]["423"]["content"]["application/json"]["schema"]["$ref"]
    refusal = response.json()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"code", "detail", "detail_en", "errors", "window"} <= set(refusal["properties"])


def test_the_sheet_page_links_to_its_excel_template_and_import(w, klass):
    path = f"/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    template = f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1.xlsx"
    imports = f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/import/"
    body = client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(path).content.decode()
    assert f'href="{template}"' in body and f'href="{imports}"' in body
    Department.objects.filter(pk=klass.math.department_id).update(head_id=w.accounts["dept_a"])
    body = client_for(w.account("dept_a"), SCHOOL_A_HOST).get(path).content.decode()
    assert f'href="{template}"' in body and f'href="{imports}"' not in body


def test_the_profile_page_hides_personal_data_from_a_subject_teacher(w, klass):
    from schools.models import Student

    Student.objects.filter(pk=klass.students[0]).update(
        personal_id="079214000123",
        address="12 Lê Lợi, Tây Ninh",
        guardians=[{"name": "Nguyễn Văn Bố", "relation": "Cha"}],
    )
    path = f"/students/{klass.students[0]}/"
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(path).content.decode()
    assert "Nguyễn Văn An" in teacher
    assert not any(secret in teacher for secret in ("079214000123", "12 Lê Lợi", "Nguyễn Văn Bố"))
    homeroom = client_for(w.account("homeroom_a"), SCHOOL_A_HOST).get(path).content.decode()
    assert all(secret in homeroom for secret in ("079214000123", "12 Lê Lợi", "Nguyễn Văn Bố"))


def test_the_class_page_links_to_excel_and_the_carry_over_for_those_who_may(w, klass):
    pk = klass.school_class.pk
    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST).get(f"/classes/{pk}/").content.decode()
    for href in (
        f"/excel/classes/{pk}/export.xlsx",
        f"/excel/classes/{pk}/students-import/",
        f"/excel/classes/{pk}/students-template.xlsx",
        f"/students/classes/{pk}/carry-over/",
    ):
        assert f'href="{href}"' in principal, href
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(f"/classes/{pk}/").content.decode()
    assert f'href="/excel/classes/{pk}/export.xlsx"' in teacher
    assert "students-import" not in teacher and "carry-over" not in teacher


def test_the_record_page_switches_between_years(w, two_years):
    body = client_for(w.account("principal_a"), SCHOOL_A_HOST).get(f"/students/{two_years}/record/").content.decode()
    assert (
        f'href="/students/{two_years}/record/?year=2025"' in body
        and f'href="/students/{two_years}/record/?year=2026"' in body
    )


def test_the_class_list_and_api_show_any_year(w, two_years):
    principal = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    latest = page_text(principal.get("/classes/"))
    assert "7A1" in latest and "6A1" not in latest and 'href="/classes/?year=2025"' in latest
    earlier = page_text(principal.get("/classes/?year=2025"))
    assert "6A1" in earlier and "7A1" not in earlier
    assert principal.get("/classes/?year=2019").status_code == 404
    assert principal.get("/classes/?year=abc").status_code == 400
    names = {c["name"] for c in api(w, "principal_a").get("/api/v1/classes/?year=2025").json()}
    assert names == {"6A1", "6A2"}
    assert {c["name"] for c in api(w, "principal_a").get("/api/v1/classes/").json()} == {"7A1"}
