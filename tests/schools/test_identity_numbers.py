"""A student's identity across years: the personal identification number checked against the date of birth and sex
(one check for the page, the API and the import), the MoET student code's form, both unique in the school."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from schools.models import Student
from schools.rules.identity import (
    PROVINCE_CODES,
    IdProblem,
    born_in_century,
    century_sex_digit,
    moet_code_valid,
    personal_id_problem,
)
from tests.schools.test_excel import client, students_urls, upload, workbook, xlsx
from tests.support import SCHOOL_A_HOST, client_for, page_text

BORN = dt.date(2014, 3, 5)

# --- the rule (no database) -----------------------------------------------------------------------------------


def test_the_63_province_codes_are_three_digits_of_001_to_096():
    assert len(PROVINCE_CODES) == 63
    assert all(len(code) == 3 and code.isdigit() and 1 <= int(code) <= 96 for code in PROVINCE_CODES)
    assert (
        PROVINCE_CODES["001"] == "Hà Nội" and PROVINCE_CODES["072"] == "Tây Ninh" and PROVINCE_CODES["096"] == "Cà Mau"
    )
    assert "003" not in PROVINCE_CODES and "097" not in PROVINCE_CODES


@pytest.mark.parametrize(
    ("value", "born", "sex", "problem"),
    [
        ("079214000123", BORN, "M", None),  # TP HCM, 21st century male, 2014
        ("079314000123", BORN, "F", None),  # female
        ("001099123456", dt.date(1999, 12, 31), "M", None),  # 20th century male
        ("001199123456", dt.date(1999, 12, 31), "F", None),
        ("096400123456", dt.date(2100, 1, 1), "M", None),  # 22nd century
        ("07921400012", BORN, "M", IdProblem.FORM),  # 11 digits
        ("07921400012a", BORN, "M", IdProblem.FORM),
        ("079 14000123", BORN, "M", IdProblem.FORM),
        ("003214000123", BORN, "M", IdProblem.PROVINCE),  # no province 003
        ("097214000123", BORN, "M", IdProblem.PROVINCE),
        ("000214000123", BORN, "M", IdProblem.PROVINCE),
        ("079014000123", BORN, "M", IdProblem.CENTURY),  # says born in 1914
        ("079414000123", BORN, "M", IdProblem.CENTURY),  # says born in 2114
        ("079314000123", BORN, "M", IdProblem.SEX),
        ("079214000123", BORN, "F", IdProblem.SEX),
        ("079213000123", BORN, "M", IdProblem.YEAR),
    ],
)
def test_personal_id_problems(value, born, sex, problem):
    assert personal_id_problem(value, born=born, sex=sex) == problem


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy machine draws slowly
@given(
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2399, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    province=st.sampled_from(sorted(PROVINCE_CODES)),
    rest=st.integers(min_value=0, max_value=999_999),
)
def test_a_number_built_from_the_birth_and_sex_is_accepted_and_the_other_sex_is_not(born, sex, province, rest):
    value = f"{province}{century_sex_digit(born, sex)}{born.year % 100:02d}{rest:06d}"
    assert personal_id_problem(value, born=born, sex=sex) is None
    assert personal_id_problem(value, born=born, sex="F" if sex == "M" else "M") is IdProblem.SEX
    assert born_in_century(int(value[3])).startswith(str(born.year // 100))


@pytest.mark.parametrize(
    ("value", "ok"),
    [("HS-7", True), ("hszeta7770", True), ("7900123456", True), ("AB", False), ("HỌC123", False), ("-AB1", False)],
)
def test_moet_code_form(value, ok):
    assert moet_code_valid(value) is ok


# --- the three paths ----------------------------------------------------------------------------------------------


def api(w, name):
    c = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    c.force_authenticate(w.account(name))
    return c


def enrol_over_api(w, k, **profile):
    body = {"full_name": "Ngô Bảo Châu", "date_of_birth": "05/03/2014", "gender": "M", **profile}
    return api(w, "homeroom_a").post(f"/api/v1/classes/{k.school_class.pk}/students/", body, format="json")


def test_api_refuses_a_number_that_contradicts_the_birth_or_sex_and_saves_nothing(w, klass):
    before = Student.objects.count()
    cases = {
        "079214000123": None,  # (female below)
        "079314000123": "students.personal_id_sex",
        "079213000123": "students.personal_id_birth_year",
        "079014000123": "students.personal_id_birth_year",
        "003214000123": "students.personal_id_province",
    }
    for value, code in cases.items():
        if code is None:
            continue
        response = enrol_over_api(w, klass, personal_id=value)
        assert response.status_code == 400, value
        body = response.json()
        assert (body["code"], body["field"]) == (code, "personal_id") and value in body["detail"], body
        assert body["detail_en"] != body["detail"] and value in body["detail_en"]
    response = enrol_over_api(w, klass, gender="F", personal_id="079214000123")
    assert response.json()["detail"] == (
        "Số định danh cá nhân 079214000123 không khớp giới tính: chữ số thứ tư (2) dành cho nam, học sinh là nữ."
    )
    assert response.json()["detail_en"] == (
        "Personal identification number 079214000123 does not match the sex: the fourth digit (2) is for a male, "
        "the student is female."
    )
    century = enrol_over_api(w, klass, personal_id="079014000123").json()
    assert "1900–1999" in century["detail"] and "2014" in century["detail"]
    assert Student.objects.count() == before
    # A right number is kept; the MoET code is kept in upper case and refused when malformed.
    bad = enrol_over_api(w, klass, personal_id="079214000123", moet_code="mã 12")
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (400, "students.bad_moet_code", "moet_code")
    assert Student.objects.count() == before
    ok = enrol_over_api(w, klass, personal_id="079214000123", moet_code=" hs-2014-07 ")
    assert ok.status_code == 201, ok.content
    saved = Student.objects.get(pk=ok.json()["id"])
    assert (saved.personal_id, saved.moet_code) == ("079214000123", "HS-2014-07")
    # Unique in the school, whatever the case the MoET code is written in.
    again = enrol_over_api(w, klass, full_name="Ngô Bảo Ngọc", personal_id="079214000124", moet_code="HS-2014-07")
    assert (again.status_code, again.json()["code"]) == (400, "students.moet_code_taken")
    twin = enrol_over_api(w, klass, full_name="Ngô Bảo Ngọc", personal_id="079214000123")
    assert (twin.status_code, twin.json()["code"]) == (400, "students.personal_id_taken")
    assert Student.objects.count() == before + 1


def test_api_change_of_sex_is_checked_against_the_stored_number(w, klass):
    student = klass.students[0]  # male, born 2014
    c = api(w, "homeroom_a")
    assert c.patch(f"/api/v1/students/{student}/", {"personal_id": "072214000777"}, format="json").status_code == 200
    response = c.patch(f"/api/v1/students/{student}/", {"gender": "F"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "students.personal_id_sex")
    assert Student.objects.get(pk=student).gender == "M"


def test_page_shows_the_mismatch_on_the_field_and_keeps_the_profile(w, klass):
    student = klass.students[2]  # Lê Hoàng Cường, male, 05/03/2014
    url = f"/students/{student}/edit/"
    form = {
        "full_name": "Lê Hoàng Cường",
        "date_of_birth": "05/03/2014",
        "gender": "M",
        "ethnicity": "Kinh",
        "nationality": "Việt Nam",
        "place_of_birth": "",
        "address": "",
        "personal_id": "072213000123",
        "moet_code": "",
    }
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    html = page_text(c.post(url, form))
    assert "không khớp năm sinh" in html and "(13)" in html and 'value="072213000123"' in html
    assert Student.objects.get(pk=student).personal_id is None
    html = page_text(c.post(url, {**form, "personal_id": "072214000123", "moet_code": "Mã số 1"}))
    assert "Mã học sinh của Bộ GD&amp;ĐT chỉ gồm" in html or "Mã học sinh của Bộ GD&ĐT chỉ gồm" in html
    assert Student.objects.get(pk=student).personal_id is None
    done = c.post(url, {**form, "personal_id": "072214000123", "moet_code": "hs-77"}, follow=True)
    assert done.status_code == 200
    saved = Student.objects.get(pk=student)
    assert (saved.personal_id, saved.moet_code) == ("072214000123", "HS-77")


def test_import_reports_the_mismatch_in_its_cell_and_saves_nothing(w, klass):
    template, url = students_urls(klass)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb["Danh sách học sinh"]
    ws.append(["Ngô Bảo Châu", "05/03/2014", "Nam", None, None, None, None, "001214000123", "hs-1"])  # row 2: fine
    ws.append(["Đặng Thùy Trâm", "26/11/2014", "Nữ", None, None, None, None, "079214000456"])  # row 3: male digit
    ws.append(["Lý Công Uẩn", "26/11/2014", "Nam", None, None, None, None, "079215000456"])  # row 4: year 2015
    ws.append(["Trần Nhân Tông", "31/02/2014", "Nam", None, None, None, None, "079214000789"])  # row 5: bad date only
    ws.append(["Lê Lợi", "01/01/2014", "Nam", None, None, None, None, "001214000123", "HS-1"])  # row 6: both taken
    ws.append(["Lê Lai", "01/01/2014", "Nam", None, None, None, None, None, "H"])  # row 7: MoET code too short
    before = Student.objects.count()
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400
    found = {(e["cell"], e["code"]) for e in response.json()["errors"]}
    assert found == {
        ("H3", "students.personal_id_sex"),
        ("H4", "students.personal_id_birth_year"),
        ("B5", "students.bad_dob"),  # and no word on its number, checked against no real date of birth
        ("H6", "students.duplicate_personal_id"),
        ("I6", "students.duplicate_moet_code"),
        ("I7", "students.bad_moet_code"),
    }
    assert Student.objects.count() == before
    # Fixed, the file goes in whole, with the code in upper case.
    ws.delete_rows(3, 5)
    assert upload(c, url, xlsx(wb)).status_code == 201
    assert Student.objects.get(full_name="Ngô Bảo Châu").moet_code == "HS-1"


def test_empty_numbers_repeat_and_given_ones_are_unique_in_the_database(w, klass):
    Student.objects.filter(pk__in=klass.students[:2]).update(personal_id=None, moet_code=None)
    Student.objects.filter(pk__in=klass.students[2:4]).update(moet_code="")  # empty, twice: allowed
    Student.objects.filter(pk=klass.students[0]).update(personal_id="072214000001", moet_code="HS-A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.filter(pk=klass.students[1]).update(personal_id="072214000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.filter(pk=klass.students[1]).update(moet_code="HS-A")
