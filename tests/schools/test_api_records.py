"""School API: sheet save over HTTP, workflow, parent view, foreign school ids."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from schools.models import Assessment, GuardianLink, RecordBook
from tenants.models import SchoolRollup
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST


def api(w, name, host=SCHOOL_A_HOST):
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def _cells(k, value="8"):
    return [
        {"student": s, "column": c, "value": value}
        for s in k.students
        for c in ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
    ]


def test_sheet_round_trip_over_http(w, klass):
    client = api(w, "teacher_a")
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    response = client.put(url, {"cells": _cells(klass)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["written"] == 36
    assert body["sheet"]["rows"][0]["computed"]["term1"] == "8,0"
    assert client.get(url).json()["rows"][0]["values"]["gk"] == "8,0"
    rollup = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert rollup.entries == 36 and rollup.students == 7


def test_bad_cell_over_http_is_a_400_naming_the_cell(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    cells = _cells(klass) + [{"student": klass.students[2], "column": "ck", "value": "11"}]
    response = api(w, "teacher_a").put(url, {"cells": cells[:-2] + cells[-1:]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "sheet.invalid" and body["errors"][0]["column"] == "ck"
    assert "Lê Hoàng Cường" in body["errors"][0]["detail"] and body["errors"][0]["detail_en"]
    assert not Assessment.objects.exists()


def test_another_schools_teacher_cannot_open_the_sheet(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    assert api(w, "teacher_b", SCHOOL_A_HOST).get(url).status_code == 403
    # On their own school's address the id does not exist there.
    assert api(w, "teacher_b", SCHOOL_B_HOST).get(url).status_code == 404


def test_workflow_submit_approve_reopen_and_parent_view(w, klass):

    homeroom, principal, teacher = api(w, "homeroom_a"), api(w, "principal_a"), api(w, "teacher_a")
    student = klass.students[0]
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    parent = api(w, "parent_a")
    assert parent.get(f"/api/v1/students/{student}/record/").status_code == 403  # not approved yet
    teacher.put(
        f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/", {"cells": _cells(klass)}, format="json"
    )
    assert teacher.post(f"/api/v1/classes/{klass.school_class.pk}/submit/").status_code == 403
    assert homeroom.post(f"/api/v1/classes/{klass.school_class.pk}/submit/").json()["count"] == 6
    assert homeroom.post(f"/api/v1/classes/{klass.school_class.pk}/approve/").status_code == 403
    approve = f"/api/v1/classes/{klass.school_class.pk}/approve/"
    assert principal.post(approve).status_code == 409  # only math is entered: approving needs a reason
    assert principal.post(approve, {"reason": "Duyệt theo kế hoạch cuối năm; bổ sung sau"}).json()["count"] == 6
    record = parent.get(f"/api/v1/students/{student}/record/").json()
    assert record["state"] == "approved"
    assert any(line["code"] == "toan" and line["term1"] == "8,0" for line in record["results"]["subjects"])
    # Someone else's child stays hidden.
    assert parent.get(f"/api/v1/students/{klass.students[1]}/record/").status_code == 404
    # After approval, scores cannot change until the principal reopens with a reason.
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    refused = teacher.put(url, {"cells": [{"student": student, "column": "tx1", "value": "9"}]}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "sheet.record_approved"
    rec = RecordBook.objects.get(student_id=student)
    assert (
        api(w, "vice_a").post(f"/api/v1/records/{rec.pk}/reopen/", {"reason": "Sửa điểm"}, format="json").status_code
        == 403
    )
    assert principal.post(f"/api/v1/records/{rec.pk}/reopen/", {"reason": ""}, format="json").status_code == 400
    assert (
        principal.post(f"/api/v1/records/{rec.pk}/reopen/", {"reason": "Sửa điểm nhập nhầm"}, format="json").status_code
        == 200
    )
    assert (
        teacher.put(url, {"cells": [{"student": student, "column": "tx1", "value": "9"}]}, format="json").status_code
        == 200
    )


def test_enrol_with_bad_profile_changes_nothing(w, klass):
    from schools.models import Student

    before = Student.objects.count()
    response = api(w, "homeroom_a").post(
        f"/api/v1/classes/{klass.school_class.pk}/students/",
        {"full_name": "Một", "date_of_birth": "01/01/2014", "gender": "M"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["field"] == "full_name"
    response = api(w, "homeroom_a").post(
        f"/api/v1/classes/{klass.school_class.pk}/students/",
        {"full_name": "Ngô Bảo Châu", "date_of_birth": "01/01/2014", "gender": "M", "personal_id": "12345"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "students.bad_personal_id"
    assert Student.objects.count() == before


@pytest.mark.parametrize("name", ["teacher_a", "clerk_a", "parent_a", "dept_a"])
def test_who_may_not_enter_conduct(w, klass, name):
    response = api(w, name).put(
        f"/api/v1/classes/{klass.school_class.pk}/conduct/1/",
        {"entries": [{"student": klass.students[0], "level": "T"}]},
        format="json",
    )
    assert response.status_code in (403, 404)


def test_homeroom_enters_conduct_and_absences(w, klass):
    client = api(w, "homeroom_a")
    entries = [{"student": s, "level": "T"} for s in klass.students]
    assert (
        client.put(f"/api/v1/classes/{klass.school_class.pk}/conduct/1/", {"entries": entries}, format="json").json()[
            "count"
        ]
        == 6
    )
    bad = client.put(
        f"/api/v1/classes/{klass.school_class.pk}/conduct/1/",
        {"entries": [{"student": klass.other_students[0], "level": "T"}]},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "class.student_not_in_class"
    response = client.put(
        f"/api/v1/classes/{klass.school_class.pk}/absences/",
        {"date": "06/10/2025", "entries": [{"student": klass.students[0], "excused": True}]},
        format="json",
    )
    assert response.json()["count"] == 1


def test_malformed_sheet_body_is_a_400_and_saves_nothing(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    cells = _cells(klass)
    cells[3] = {"student": "Nguyễn", "column": "tx1", "value": "8"}
    response = api(w, "teacher_a").put(url, {"cells": cells}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "sheet.malformed" and "4" in body["detail"] and "4" in body["detail_en"]
    assert not Assessment.objects.exists()


def test_class_sheets_over_http_all_or_nothing(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/terms/1/sheets/"
    pe = [{"student": s, "column": "gk", "value": "Đ"} for s in klass.students]
    client = api(w, "teacher_a")
    bad = client.put(
        url,
        {
            "sheets": [
                {"subject": klass.math.pk, "cells": _cells(klass)},
                {"subject": klass.pe.pk, "cells": pe[:-1] + [{**pe[-1], "value": "7"}]},
            ]
        },
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["subject"] == klass.pe.pk
    assert not Assessment.objects.exists()
    ok = client.put(
        url,
        {"sheets": [{"subject": klass.math.pk, "cells": _cells(klass)}, {"subject": klass.pe.pk, "cells": pe}]},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["written"] == len(_cells(klass)) + len(pe)
    assert [s["subject"] for s in body["sheets"]] == [klass.math.pk, klass.pe.pk]
    assert body["sheets"][0]["rows"][0]["values"]["gk"] == "8,0"
    # Another school's teacher, on her own school's address, cannot reach this class.
    assert (
        api(w, "teacher_b", SCHOOL_B_HOST)
        .put(url, {"sheets": [{"subject": klass.math.pk, "cells": []}]}, format="json")
        .status_code
        == 404
    )


def test_token_authentication_refusals(w, klass):
    from tests.support import api_token_for

    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    teacher = w.account("teacher_a")
    key = api_token_for(teacher, f"school:{w.school_a}", write=False)
    client = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    refused = client.get(url, HTTP_AUTHORIZATION=f"Token {key[:-1]}x")
    # 403, not 401: session authentication comes first and sends no WWW-Authenticate challenge (DRF's rule).
    assert refused.status_code == 403 and refused.json()["code"] == "authentication_failed"
    assert refused.json()["detail"] == "Mã truy cập (token) không hợp lệ."
    teacher.is_active = False
    teacher.save(update_fields=["is_active"])
    gone = client.get(url, HTTP_AUTHORIZATION=f"Token {key}")
    assert gone.status_code == 403 and gone.json()["code"] == "authentication_failed"


def test_a_body_that_is_not_json_is_a_400(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    client = api(w, "teacher_a")
    for body in (b'{"cells": [', b'{"cells": NaN}', b"\xff\xfe"):
        response = client.put(url, body, content_type="application/json")
        assert response.status_code == 400 and "Nội dung JSON không hợp lệ" in response.json()["detail"], body
    english = client.put(url, b'{"cells": [', content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert "JSON" in english.json()["detail"] and "Nội dung" not in english.json()["detail"]
    assert not Assessment.objects.exists()
