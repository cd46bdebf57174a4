"""No one of school A (nor of its unit) ever sees school B's classes, students, sheets or record books: every
school-data page, download and API of school B's address refuses them, and no name or score of B shows."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from schools.models import Subject
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.sheets import sheet_save
from schools.services.students import student_enrol
from tenants.models import School
from tests.support import ACCOUNTS, SCHOOL_B_HOST, client_for, page_text

SECRET_NAME = "Quách Bí Mật"
SECRET_COMMENT = "Nhận xét riêng của trường B"
OUTSIDERS = [name for name, _role, scope in ACCOUNTS if scope in ("unit_a", "school_a")]


@pytest.fixture
def school_b_data(w):
    school = School.objects.get(pk=w.school_b)
    connection.set_tenant(school)
    system = system_access(school.pk)
    year = school_year_open(access=system, start_year=2025, levels=["lower_secondary"])
    klass = class_create(access=system, year=year, name="9Ư1", grade=9, homeroom_teacher_id=w.accounts["teacher_b"])
    math = Subject.objects.get(level="lower_secondary", code="toan")
    assignment_set(access=system, school_class=klass, subject=math, teacher_id=w.accounts["teacher_b"])
    import datetime as dt

    student = student_enrol(access=system, school_class=klass, today=dt.date(2025, 10, 1),
                            profile={"full_name": SECRET_NAME, "date_of_birth": "05/03/2011", "gender": "F",
                                     "personal_id": "079211000999"})
    sheet_save(access=system, school_class=klass, subject=math, term=1,
               cells=[{"student": student.pk, "column": "gk", "value": "9,5"},
                      {"student": student.pk, "column": "nx", "value": SECRET_COMMENT}])
    connection.set_schema_to_public()
    return {"class": klass.pk, "subject": math.pk, "student": student.pk}


PAGES = [
    "/classes/", "/classes/{class}/", "/classes/{class}/sheets/{subject}/1/", "/classes/{class}/conduct/1/",
    "/classes/{class}/attendance/", "/students/{student}/", "/students/{student}/record/", "/history/",
    "/history/?student={student}", "/excel/classes/{class}/export.xlsx", "/excel/classes/{class}/sheets/{subject}/1.xlsx",
    "/excel/classes/{class}/students-template.xlsx",
]
APIS = [
    "/api/v1/classes/", "/api/v1/classes/{class}/students/", "/api/v1/classes/{class}/sheets/{subject}/1/",
    "/api/v1/students/{student}/", "/api/v1/students/{student}/record/", "/api/v1/my-children/",
]


def _check(response, name, path):
    body = page_text(response) if response.get("Content-Type", "").startswith("text/html") else response.content.decode(
        errors="replace")
    assert response.status_code in (302, 403, 404), (name, path, response.status_code)
    for secret in (SECRET_NAME, SECRET_COMMENT, "079211000999", "9Ư1", "9,5"):
        assert secret not in body, (name, path, secret)


@pytest.mark.parametrize("name", OUTSIDERS)
def test_school_b_pages_refuse_school_a_and_its_unit(w, school_b_data, name):
    client = client_for(w.account(name), SCHOOL_B_HOST)
    for path in PAGES:
        path = path.format(**school_b_data)
        _check(client.get(path), name, path)


@pytest.mark.parametrize("name", OUTSIDERS)
def test_school_b_api_refuses_school_a_and_its_unit(w, school_b_data, name):
    client = APIClient(HTTP_HOST=SCHOOL_B_HOST)
    client.force_authenticate(w.account(name))
    for path in APIS:
        path = path.format(**school_b_data)
        _check(client.get(path), name, path)
    path = "/api/v1/classes/{class}/sheets/{subject}/1/".format(**school_b_data)
    response = client.put(path, {"cells": [{"student": school_b_data["student"], "column": "gk", "value": "1"}]},
                          format="json")
    _check(response, name, path)


def test_school_b_sees_its_own_data(w, school_b_data):
    """The same requests by school B's own teacher succeed: the refusals above are about the school, not the paths."""
    client = client_for(w.account("teacher_b"), SCHOOL_B_HOST)
    page = client.get("/classes/{class}/sheets/{subject}/1/".format(**school_b_data))
    assert page.status_code == 200 and SECRET_NAME in page.content.decode()
