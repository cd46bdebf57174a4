"""Forged, empty, duplicate, huge or non-integer lists on the record workflow (submit, withdraw, approve) and on the
month's attendance marks: a clear refusal in both languages, and nothing written."""

from __future__ import annotations

import pytest

from schools.models import Absence, RecordBook
from tests.schools.test_completeness import api, states


def _snapshot(klass) -> tuple:
    return (states(klass), list(Absence.objects.order_by("pk").values_list("student_id", "date", "excused")))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"student_ids": []}, 400, "records.no_students"),
        ({"student_ids": ["abc"]}, 400, "records.bad_students"),
        ({"student_ids": [1.5]}, 400, "records.bad_students"),
        ({"student_ids": [True]}, 400, "records.bad_students"),
        ({"student_ids": {"a": 1}}, 400, "records.bad_students"),
        ({"student_ids": [10**30]}, 400, "records.bad_students"),
        ({"student_ids": [-3]}, 400, "records.bad_students"),
        ({"student_ids": list(range(1, 1002))}, 400, "records.too_many_students"),
    ],
)
def test_bad_student_ids_are_refused_and_change_nothing(w, klass, body, status, code):
    before = _snapshot(klass)
    for name, action in (("homeroom_a", "submit"), ("homeroom_a", "withdraw"), ("principal_a", "approve")):
        response = api(w, name).post(f"/api/v1/classes/{klass.school_class.pk}/{action}/", body, format="json")
        assert response.status_code == status, (action, response.content)
        data = response.json()
        assert data["code"] == code and data["detail"] and data["detail_en"], data
    assert _snapshot(klass) == before


def test_duplicates_count_once_and_a_forged_id_refuses_the_whole_request(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/submit/"
    a, b = klass.students[0], klass.students[1]
    before = _snapshot(klass)
    for forged in (klass.other_students[0], 999_999):  # another class's student, an unknown one
        refused = api(w, "homeroom_a").post(url, {"student_ids": [a, forged]}, format="json")
        assert refused.status_code == 404 and refused.json()["code"] == "records.student_not_in_class"
    assert _snapshot(klass) == before
    done = api(w, "homeroom_a").post(url, {"student_ids": [a, a, str(a)]}, format="json")
    assert done.status_code == 200 and done.json()["count"] == 1
    assert states(klass)[a] == "submitted" and states(klass)[b] == "draft"
    assert RecordBook.objects.filter(state="submitted").count() == 1


@pytest.mark.parametrize(
    ("marks", "status", "code"),
    [
        ([], 400, "class.no_marks"),
        ([{"student": 1, "date": "13/10/2025", "mark": "P"}] * 3001, 400, "class.too_many_marks"),
        ([{"student": "abc", "date": "13/10/2025", "mark": "P"}], 400, None),
        ([{"student": 1, "date": "2025-13-45", "mark": "P"}], 400, None),
    ],
)
def test_bad_attendance_marks_are_refused_and_change_nothing(w, klass, marks, status, code):
    before = _snapshot(klass)
    url = f"/api/v1/classes/{klass.school_class.pk}/absences/marks/"
    response = api(w, "homeroom_a").put(url, {"marks": marks}, format="json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code and response.json()["detail_en"]
    assert _snapshot(klass) == before


def test_another_class_student_in_the_marks_is_refused(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/absences/marks/"
    mark = {"student": klass.other_students[0], "date": "13/10/2025", "mark": "K"}
    response = api(w, "homeroom_a").put(url, {"marks": [mark]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "class.student_not_in_class"
    assert not Absence.objects.exists()
