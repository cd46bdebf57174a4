"""Students' movements: parents' accounts linked to a child, class moves, transfers out, carrying a class into the
next year — pages and API, bad input, who may and who may not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from rest_framework.test import APIClient

from schools.models import Enrolment, GuardianLink, RecordBook, SchoolClass, Student
from schools.services.carry_jobs import carry_over_class
from schools.services.common import system_access
from schools.services.setup import class_create, school_year_open
from tenants.models import Account, Membership
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text


def page(w, name, host=SCHOOL_A_HOST):
    return client_for(w.account(name), host)


def api(w, name, host=SCHOOL_A_HOST):
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def body(response) -> str:
    return page_text(response)


def enrolments(student_id: int) -> list[tuple]:
    return list(
        Enrolment.objects.filter(student_id=student_id)
        .order_by("starts_on", "pk")
        .values_list("school_class_id", "starts_on", "ends_on", "entry", "exit")
    )


def snapshot(k) -> tuple:
    ids = [*k.students, *k.other_students]
    return (
        list(
            Enrolment.objects.filter(student_id__in=ids)
            .order_by("pk")
            .values_list("pk", "school_class_id", "ends_on", "exit", "exit_note")
        ),
        list(
            RecordBook.objects.filter(student_id__in=ids).order_by("pk").values_list("pk", "school_class_id", "year_id")
        ),
        Student.objects.count(),
        GuardianLink.objects.count(),
    )


# --- parents linked to their child ---------------------------------------------------------------


def test_principal_links_an_existing_parent_on_the_page_and_the_parent_sees_the_child(w, klass):
    student = klass.students[0]
    assert "Nguyễn Văn An" not in body(page(w, "parent_a").get("/my-children/"))
    detail = body(page(w, "principal_a").get(f"/students/{student}/"))
    assert f"/students/{student}/guardians/" in detail
    form = body(page(w, "principal_a").get(f"/students/{student}/guardians/"))
    assert f'value="{w.accounts["parent_a"]}"' in form  # the school's parent accounts are offered
    response = page(w, "principal_a").post(f"/students/{student}/guardians/link/", {"account": w.accounts["parent_a"]})
    assert response.status_code == 302
    assert GuardianLink.objects.filter(student_id=student, account_id=w.accounts["parent_a"]).exists()
    children = body(page(w, "parent_a").get("/my-children/"))
    assert "Nguyễn Văn An" in children and "Trần Thị Bình" not in children
    assert "Parent A" in body(page(w, "principal_a").get(f"/students/{student}/"))


def test_principal_creates_the_parents_account_with_the_parent_role_and_links_it(w, klass):
    student = klass.students[1]
    response = page(w, "principal_a").post(
        f"/students/{student}/guardians/new/",
        {
            "username": "phuhuynh.binh",
            "full_name": "Trần Văn Ba",
            "email": "ba@example.vn",
            "password": "mat-khau-rat-dai-2026",
        },
    )
    assert response.status_code == 302, body(response)
    account = Account.objects.get(username="phuhuynh.binh")
    assert Membership.objects.filter(
        account=account, role="parent", school_id=w.school_a, valid_to__isnull=True
    ).exists()
    assert GuardianLink.objects.filter(student_id=student, account_id=account.pk).exists()
    children = body(client_for(account, SCHOOL_A_HOST).get("/my-children/"))
    assert "Trần Thị Bình" in children and "Nguyễn Văn An" not in children


def test_creating_a_parent_with_a_taken_username_names_the_field_and_changes_nothing(w, klass):
    before = snapshot(klass)
    response = page(w, "principal_a").post(
        f"/students/{klass.students[0]}/guardians/new/", {"username": "parent_a", "full_name": "Ai Đó"}
    )
    assert response.status_code == 400
    assert "Tên đăng nhập “parent_a” đã được dùng." in body(response)
    assert snapshot(klass) == before


def test_homeroom_teacher_links_on_the_api_but_cannot_grant_the_parent_role(w, klass):
    student = klass.students[0]
    client = api(w, "homeroom_a")
    response = client.post(f"/api/v1/students/{student}/guardians/", {"account": w.accounts["parent_a"]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == [
        {"account": w.accounts["parent_a"], "username": "parent_a", "full_name": "Parent A", "relation": ""}
    ]
    assert client.get(f"/api/v1/students/{student}/guardians/").json()[0]["username"] == "parent_a"
    # Only the principal and the school's IT admin may grant the role: nothing is created.
    refused = client.post(
        f"/api/v1/students/{student}/guardians/", {"username": "phuhuynh.moi", "full_name": "Lê Văn Mới"}, format="json"
    )
    assert refused.status_code == 403 and "Phụ huynh" in refused.json()["detail"]
    assert not Account.objects.filter(username="phuhuynh.moi").exists()


def test_an_account_that_is_not_a_parent_of_this_school_is_refused(w, klass):
    student = klass.students[0]
    before = snapshot(klass)
    for account in (w.accounts["teacher_a"], w.accounts["teacher_b"], 99999999):
        response = api(w, "principal_a").post(
            f"/api/v1/students/{student}/guardians/", {"account": account}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["field"] == "account"
        assert response.json()["detail"] == "Tài khoản này không có vai trò phụ huynh ở trường."
    missing = api(w, "principal_a").post(f"/api/v1/students/{student}/guardians/", {"account": "x"}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "account"
    on_page = page(w, "principal_a").post(f"/students/{student}/guardians/link/", {"account": w.accounts["teacher_a"]})
    assert on_page.status_code == 400 and "không có vai trò phụ huynh" in body(on_page)
    assert snapshot(klass) == before


def test_unlinking_hides_the_child_again(w, klass):
    student = klass.students[0]
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    assert "Nguyễn Văn An" in body(page(w, "parent_a").get("/my-children/"))
    response = page(w, "principal_a").post(f"/students/{student}/guardians/{w.accounts['parent_a']}/unlink/")
    assert response.status_code == 302
    assert "Nguyễn Văn An" not in body(page(w, "parent_a").get("/my-children/"))
    GuardianLink.objects.create(student_id=student, account_id=w.accounts["parent_a"])
    client = api(w, "clerk_a")
    assert client.delete(f"/api/v1/students/{student}/guardians/{w.accounts['parent_a']}/").status_code == 204
    assert client.delete(f"/api/v1/students/{student}/guardians/{w.accounts['parent_a']}/").status_code == 404
    assert not GuardianLink.objects.exists()


def test_guardians_refused_without_the_capability_outside_ones_class_and_across_schools(w, klass):
    student, other = klass.students[0], klass.other_students[0]
    parent = w.accounts["parent_a"]
    for name in ("teacher_a", "parent_a", "dept_a"):
        assert (
            api(w, name).post(f"/api/v1/students/{student}/guardians/", {"account": parent}, format="json").status_code
            == 403
        )
        assert page(w, name).get(f"/students/{student}/guardians/").status_code == 403
        assert page(w, name).post(f"/students/{student}/guardians/link/", {"account": parent}).status_code == 403
    # The homeroom teacher of 6A1 does not reach a student of 6A2.
    assert (
        api(w, "homeroom_a")
        .post(f"/api/v1/students/{other}/guardians/", {"account": parent}, format="json")
        .status_code
        == 404
    )
    assert page(w, "homeroom_a").get(f"/students/{other}/guardians/").status_code == 404
    assert page(w, "homeroom_a").post(f"/students/{other}/guardians/link/", {"account": parent}).status_code == 404
    # Another school's principal: refused on school A's address, and the id does not exist on their own.
    assert (
        api(w, "principal_b")
        .post(f"/api/v1/students/{student}/guardians/", {"account": parent}, format="json")
        .status_code
        == 403
    )
    assert (
        api(w, "principal_b", SCHOOL_B_HOST)
        .post(f"/api/v1/students/{student}/guardians/", {"account": parent}, format="json")
        .status_code
        == 404
    )
    assert page(w, "principal_b", SCHOOL_B_HOST).get(f"/students/{student}/guardians/").status_code == 404
    connection.set_tenant(klass.school)  # the requests on school B's address left the connection there
    assert not GuardianLink.objects.exists()


# --- class moves -----------------------------------------------------------------------------------


def test_move_on_the_page_asks_for_confirmation_then_moves_the_student_and_their_record(w, klass):
    student, six_a, six_b = klass.students[0], klass.school_class, klass.other_class
    client = page(w, "principal_a")
    detail = body(client.get(f"/students/{student}/"))
    assert f"/students/{student}/move/" in detail and f"/students/{student}/transfer-out/" in detail
    form = body(client.get(f"/students/{student}/move/"))
    assert f'value="{six_b.pk}"' in form and f'value="{six_a.pk}"' not in form
    asked = client.post(f"/students/{student}/move/", {"school_class": six_b.pk, "on": "15/01/2026"})
    assert asked.status_code == 200 and 'id="confirm-move"' in body(asked) and "15/01/2026" in body(asked)
    assert len(enrolments(student)) == 1  # nothing yet
    done = client.post(f"/students/{student}/move/", {"school_class": six_b.pk, "on": "15/01/2026", "confirm": "1"})
    assert done.status_code == 302
    assert enrolments(student) == [
        (six_a.pk, dt.date(2025, 10, 1), dt.date(2026, 1, 15), "new", "class_move"),
        (six_b.pk, dt.date(2026, 1, 15), None, "class_move", ""),
    ]
    assert RecordBook.objects.get(student_id=student).school_class_id == six_b.pk
    history = body(client.get(f"/students/{student}/"))
    assert "15/01/2026" in history and "6A2" in history
    # The old class lists the student as having left; the new one lists them.
    old = body(client.get(f"/classes/{six_a.pk}/"))
    assert "Nguyễn Văn An" in old and "Đã rời lớp" in old
    new = api(w, "principal_a").get(f"/api/v1/classes/{six_b.pk}/students/").json()
    assert student in [s["id"] for s in new]


def test_move_over_the_api_by_the_homeroom_teacher_of_the_class(w, klass):
    student = klass.students[1]
    response = api(w, "homeroom_a").post(
        f"/api/v1/students/{student}/move/", {"school_class": klass.other_class.pk, "on": "2026-02-02"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (
        data["school_class"] == klass.other_class.pk
        and data["class_name"] == "6A2"
        and data["starts_on"] == "2026-02-02"
    )
    history = api(w, "principal_a").get(f"/api/v1/students/{student}/enrolments/").json()
    assert [(e["class_name"], e["ends_on"], e["exit"]) for e in history] == [
        ("6A1", "2026-02-02", "class_move"),
        ("6A2", None, ""),
    ]


@pytest.fixture
def next_year(klass):
    """The school year 2026–2027 with 7A1 (one grade up), 6A1 and 6A3 (the same grade)."""
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["lower_secondary"])
    return {
        name: class_create(access=system, year=year, name=name, grade=grade, homeroom_teacher_id=None)
        for name, grade in (("7A1", 7), ("6A1", 6), ("6A3", 6), ("8A1", 8))
    }


@pytest.mark.parametrize(
    ("payload", "field", "detail"),
    [
        ({"on": "01/08/2025"}, "on", "Ngày 01/08/2025 nằm ngoài năm học 2025–2026 (05/09/2025 – 31/05/2026)."),
        ({"on": "15/06/2026"}, "on", "nằm ngoài năm học 2025–2026"),
        ({"on": "20/09/2025"}, "on", "trước ngày học sinh vào lớp 6A1 (01/10/2025)"),
        ({"on": "31/13/2025"}, "on", "Ngày phải theo dạng dd/mm/yyyy."),
        ({"on": ""}, "on", "Ngày phải theo dạng dd/mm/yyyy."),
        ({"school_class": "self"}, "school_class", "Học sinh đã ở lớp 6A1."),
        ({"school_class": "next_year"}, "school_class", "Chỉ chuyển sang lớp của cùng năm học 2025–2026."),
        ({"school_class": 987654}, "school_class", "Không tìm thấy lớp này ở trường."),
        ({"school_class": None}, "school_class", "Hãy chọn lớp."),
    ],
)
def test_bad_moves_name_the_field_and_change_nothing(w, klass, next_year, payload, field, detail):
    student = klass.students[0]
    data = {"school_class": klass.other_class.pk, "on": "15/01/2026", **payload}
    data["school_class"] = {"self": klass.school_class.pk, "next_year": next_year["6A1"].pk}.get(
        data["school_class"], data["school_class"]
    )
    before = snapshot(klass)
    response = api(w, "principal_a").post(f"/api/v1/students/{student}/move/", data, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and detail in response.json()["detail"]
    assert response.json()["detail_en"]
    on_page = page(w, "principal_a").post(
        f"/students/{student}/move/", {**{k: v or "" for k, v in data.items()}, "confirm": "1"}
    )
    assert on_page.status_code == 400 and detail in body(on_page)
    assert snapshot(klass) == before


def test_a_move_waits_for_an_approved_record_to_be_reopened(w, klass):
    student = klass.students[0]
    RecordBook.objects.filter(student_id=student).update(state="approved")
    before = snapshot(klass)
    response = api(w, "principal_a").post(
        f"/api/v1/students/{student}/move/", {"school_class": klass.other_class.pk, "on": "15/01/2026"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "students.record_final"
    assert "mở lại" in response.json()["detail"]
    assert snapshot(klass) == before


def test_moves_refused_without_the_capability_outside_ones_class_and_across_schools(w, klass):
    own, other = klass.students[0], klass.other_students[0]
    payload = {"school_class": klass.other_class.pk, "on": "15/01/2026"}
    before = snapshot(klass)
    for name in ("teacher_a", "parent_a", "dept_a"):
        assert api(w, name).post(f"/api/v1/students/{own}/move/", payload, format="json").status_code == 403
        assert (
            api(w, name).post(f"/api/v1/students/{own}/transfer-out/", {"on": "15/01/2026"}, format="json").status_code
            == 403
        )
        assert page(w, name).get(f"/students/{own}/move/").status_code == 403
        assert (
            page(w, name).post(f"/students/{own}/transfer-out/", {"on": "15/01/2026", "confirm": "1"}).status_code
            == 403
        )
    # The homeroom teacher of 6A1 cannot move nor transfer a student of 6A2.
    back = {"school_class": klass.school_class.pk, "on": "15/01/2026"}
    assert api(w, "homeroom_a").post(f"/api/v1/students/{other}/move/", back, format="json").status_code == 404
    assert (
        api(w, "homeroom_a")
        .post(f"/api/v1/students/{other}/transfer-out/", {"on": "15/01/2026"}, format="json")
        .status_code
        == 404
    )
    assert page(w, "homeroom_a").get(f"/students/{other}/move/").status_code == 404
    assert page(w, "homeroom_a").post(f"/students/{other}/move/", {**back, "confirm": "1"}).status_code == 404
    # School B cannot reach school A's student or class ids.
    assert api(w, "principal_b").post(f"/api/v1/students/{own}/move/", payload, format="json").status_code == 403
    assert (
        api(w, "principal_b", SCHOOL_B_HOST).post(f"/api/v1/students/{own}/move/", payload, format="json").status_code
        == 404
    )
    assert page(w, "principal_b", SCHOOL_B_HOST).get(f"/students/{own}/transfer-out/").status_code == 404
    connection.set_tenant(klass.school)
    assert snapshot(klass) == before


# --- transfers out ---------------------------------------------------------------------------------


DESTINATION = "Trường THCS Lê Lợi, quyết định số 15/QĐ-PGDĐT"


def test_transfer_out_on_the_page_with_confirmation(w, klass):
    student = klass.students[2]
    client = page(w, "homeroom_a")
    form = body(client.get(f"/students/{student}/transfer-out/"))
    assert 'name="on"' in form and 'name="destination"' in form
    assert "Chuyển đến trường (và số quyết định, nếu có)" in form
    asked = client.post(f"/students/{student}/transfer-out/", {"on": "20/12/2025", "destination": f"  {DESTINATION} "})
    assert asked.status_code == 200 and 'id="confirm-transfer"' in body(asked)
    assert f"Chuyển đến: {DESTINATION}" in body(asked) and f'name="destination" value="{DESTINATION}"' in body(asked)
    assert enrolments(student)[0][2] is None
    done = client.post(
        f"/students/{student}/transfer-out/", {"on": "20/12/2025", "destination": DESTINATION, "confirm": "1"}
    )
    assert done.status_code == 302
    assert enrolments(student) == [
        (klass.school_class.pk, dt.date(2025, 10, 1), dt.date(2025, 12, 20), "new", "transfer_out")
    ]
    assert Enrolment.objects.get(student_id=student).exit_note == DESTINATION
    detail = body(page(w, "principal_a").get(f"/students/{student}/"))
    assert "20/12/2025" in detail and "Chuyển đi" in detail and f"/students/{student}/move/" not in detail
    assert f"Chuyển đi — đến {DESTINATION}" in detail
    assert "Đã rời lớp" in body(page(w, "principal_a").get(f"/classes/{klass.school_class.pk}/"))
    # The record stays with the class.
    assert RecordBook.objects.get(student_id=student).school_class_id == klass.school_class.pk


def test_transfer_out_without_a_destination_keeps_it_empty(w, klass):
    student = klass.students[5]
    done = page(w, "principal_a").post(f"/students/{student}/transfer-out/", {"on": "20/12/2025", "confirm": "1"})
    assert done.status_code == 302
    assert Enrolment.objects.get(student_id=student).exit_note == ""
    detail = body(page(w, "principal_a").get(f"/students/{student}/"))
    assert "Chuyển đi" in detail and "Chuyển đi — đến" not in detail


def test_transfer_out_over_the_api_keeps_the_destination(w, klass):
    student = klass.students[4]
    response = api(w, "homeroom_a").post(
        f"/api/v1/students/{student}/transfer-out/",
        {"on": "2026-01-05", "destination": f" {DESTINATION}  "},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["exit"] == "transfer_out" and response.json()["exit_note"] == DESTINATION
    history = api(w, "principal_a").get(f"/api/v1/students/{student}/enrolments/").json()
    assert [(e["class_name"], e["ends_on"], e["exit"], e["exit_note"]) for e in history] == [
        ("6A1", "2026-01-05", "transfer_out", DESTINATION)
    ]
    assert f"đến {DESTINATION}" in body(page(w, "principal_a").get(f"/students/{student}/"))
    # A class move leaves no note.
    other = klass.students[0]
    moved = api(w, "principal_a").post(
        f"/api/v1/students/{other}/move/", {"school_class": klass.other_class.pk, "on": "2026-01-05"}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["exit_note"] == ""
    assert [e["exit_note"] for e in api(w, "principal_a").get(f"/api/v1/students/{other}/enrolments/").json()] == [
        "",
        "",
    ]


def test_a_destination_longer_than_300_characters_is_refused_and_changes_nothing(w, klass):
    student = klass.students[0]
    before = snapshot(klass)
    too_long = "Trường THCS " + "x" * 289
    assert len(too_long) == 301
    detail = "Nơi chuyển đến (trường và số quyết định) dài quá 300 kí tự."
    response = api(w, "principal_a").post(
        f"/api/v1/students/{student}/transfer-out/", {"on": "15/01/2026", "destination": too_long}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "destination" and response.json()["detail"] == detail
    assert response.json()["code"] == "students.destination_too_long"
    not_text = api(w, "principal_a").post(
        f"/api/v1/students/{student}/transfer-out/",
        {"on": "15/01/2026", "destination": ["Trường THCS X"]},
        format="json",
    )
    assert not_text.status_code == 400 and not_text.json()["field"] == "destination"
    for data in (
        {"on": "15/01/2026", "destination": too_long},
        {"on": "15/01/2026", "destination": too_long, "confirm": "1"},
    ):
        on_page = page(w, "principal_a").post(f"/students/{student}/transfer-out/", data)
        assert on_page.status_code == 400 and detail in body(on_page) and 'id="confirm-transfer"' not in body(on_page)
    assert snapshot(klass) == before
    # Exactly 300 characters is kept whole.
    done = api(w, "principal_a").post(
        f"/api/v1/students/{student}/transfer-out/", {"on": "15/01/2026", "destination": too_long[:300]}, format="json"
    )
    assert done.status_code == 200 and done.json()["exit_note"] == too_long[:300]


def test_an_already_transferred_student_cannot_move_nor_leave_again(w, klass):
    student = klass.students[3]
    client = api(w, "principal_a")
    first = client.post(f"/api/v1/students/{student}/transfer-out/", {"on": "01/12/2025"}, format="json")
    assert first.status_code == 200 and first.json()["exit"] == "transfer_out"
    before = snapshot(klass)
    again = client.post(f"/api/v1/students/{student}/transfer-out/", {"on": "02/12/2025"}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "students.not_enrolled"
    assert "Phạm Thu Dung" in again.json()["detail"]
    moved = client.post(
        f"/api/v1/students/{student}/move/", {"school_class": klass.other_class.pk, "on": "02/12/2025"}, format="json"
    )
    assert moved.status_code == 400 and moved.json()["code"] == "students.not_enrolled"
    assert page(w, "principal_a").get(f"/students/{student}/move/").status_code == 400
    assert snapshot(klass) == before


def test_bad_transfer_dates_name_the_field(w, klass):
    student = klass.students[0]
    before = snapshot(klass)
    for value, detail in (("01/07/2026", "nằm ngoài năm học"), ("2025-13-01", "dd/mm/yyyy")):
        response = api(w, "principal_a").post(f"/api/v1/students/{student}/transfer-out/", {"on": value}, format="json")
        assert response.status_code == 400 and response.json()["field"] == "on" and detail in response.json()["detail"]
    on_page = page(w, "principal_a").post(f"/students/{student}/transfer-out/", {"on": "1/7/26"})
    assert on_page.status_code == 400 and "Ngày phải theo dạng dd/mm/yyyy." in body(on_page)
    assert snapshot(klass) == before


# --- carrying a class into the next year ---------------------------------------------------------


def carry_over_by_api(w, klass, name: str, payload: dict, *, state: str = "done") -> dict:
    """POST the carry-over on the API (202 with the job), run the job as the worker would; the job's status."""
    client = api(w, name)
    response = client.post(f"/api/v1/classes/{klass.school_class.pk}/carry-over/", payload, format="json")
    assert response.status_code == 202, response.content
    reference = response.json()
    job_id = reference["job"]
    assert reference["url"] == f"/jobs/{job_id}/" and reference["status_url"] == f"/api/v1/jobs/{job_id}/"
    queued = client.get(reference["status_url"]).json()
    assert queued["state"] == "queued" and queued["rows"] is None
    carry_over_class.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)  # the task left the connection on public
    status = client.get(reference["status_url"]).json()
    assert status["state"] == state, status
    return status


def test_carry_over_on_the_api_runs_as_a_job_keeping_the_same_students_and_opening_their_next_record(
    w, klass, next_year
):
    seven = next_year["7A1"]
    status = carry_over_by_api(w, klass, "principal_a", {"to_class": seven.pk})
    rows = status["rows"]
    assert sorted(r["data"]["student_id"] for r in rows) == sorted(klass.students)
    assert {(r["outcome"], r["message"], r["group"]) for r in rows} == {("moved", "Lên lớp 7A1.", "6A1")}
    for sid in klass.students:
        assert enrolments(sid) == [
            (klass.school_class.pk, dt.date(2025, 10, 1), dt.date(2026, 5, 31), "new", "year_end"),
            (seven.pk, dt.date(2026, 9, 5), None, "promoted", ""),
        ]
        assert sorted(
            RecordBook.objects.filter(student_id=sid).values_list("year__start_year", "school_class_id", "state")
        ) == [(2025, klass.school_class.pk, "draft"), (2026, seven.pk, "draft")]
    assert Student.objects.filter(pk__in=klass.students).count() == 6  # the same students, none created
    # The other class is untouched; a second carry finds nobody left: refused in the request, no job.
    assert enrolments(klass.other_students[0])[0][2] is None
    again = api(w, "principal_a").post(
        f"/api/v1/classes/{klass.school_class.pk}/carry-over/", {"to_class": seven.pk}, format="json"
    )
    assert again.status_code == 400 and again.json()["code"] == "students.carry_empty"


def test_students_held_back_go_to_a_class_of_the_same_grade_or_stay(w, klass, next_year):
    held = klass.students[0]
    RecordBook.objects.filter(student_id=held).update(state="approved", results={"promotion": "Ở lại lớp"})
    payload = {"to_class": next_year["7A1"].pk, "repeat_class": next_year["6A3"].pk}
    rows = {r["data"]["student_id"]: r for r in carry_over_by_api(w, klass, "principal_a", payload)["rows"]}
    assert rows[held]["outcome"] == "moved" and rows[held]["message"] == "Ở lại lớp: vào lớp 6A3 năm học sau."
    assert enrolments(held)[-1][:2] == (next_year["6A3"].pk, dt.date(2026, 9, 5))
    assert RecordBook.objects.get(student_id=held, year__start_year=2026).school_class_id == next_year["6A3"].pk


def test_without_a_repeat_class_held_back_students_stay_and_are_reported(w, klass, next_year):
    held = klass.students[1]
    RecordBook.objects.filter(student_id=held).update(state="approved", results={"promotion": "Ở lại lớp"})
    status = carry_over_by_api(w, klass, "vice_a", {"to_class": next_year["7A1"].pk})
    rows = {r["data"]["student_id"]: r for r in status["rows"]}
    assert rows[held]["outcome"] == "stayed" and "Ở lại lớp" in rows[held]["message"]
    assert enrolments(held) == [(klass.school_class.pk, dt.date(2025, 10, 1), None, "new", "")]
    assert sum(r["outcome"] == "moved" for r in rows.values()) == 5


@pytest.mark.parametrize(
    ("payload", "field", "detail"),
    [
        ({"to_class": "6A2"}, "to_class", "Lớp 6A2 không thuộc năm học tiếp theo (2026–2027)."),
        ({"to_class": "6A3"}, "to_class", "Lớp 6A3 thuộc khối 6, thấp hơn khối 7 mà học sinh phải vào."),
        ({"to_class": "8A1"}, "to_class", "Lớp 8A1 thuộc khối 8; học sinh phải vào một lớp khối 7."),
        ({"repeat_class": "7A1"}, "repeat_class", "Lớp 7A1 thuộc khối 7; học sinh phải vào một lớp khối 6."),
        ({"to_class": 987654}, "to_class", "Không tìm thấy lớp này ở trường."),
        ({"to_class": None}, "to_class", "Hãy chọn lớp."),
    ],
)
def test_bad_carry_overs_name_the_field_and_change_nothing(w, klass, next_year, payload, field, detail):
    classes = {**next_year, "6A2": klass.other_class}
    data = {"to_class": "7A1", **payload}
    data = {k: (classes[v].pk if isinstance(v, str) else v) for k, v in data.items()}
    before = snapshot(klass)
    response = api(w, "principal_a").post(f"/api/v1/classes/{klass.school_class.pk}/carry-over/", data, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and response.json()["detail"] == detail
    on_page = page(w, "principal_a").post(
        f"/students/classes/{klass.school_class.pk}/carry-over/",
        {**{k: v or "" for k, v in data.items()}, "confirm": "1"},
    )
    assert on_page.status_code == 400 and detail in body(on_page)
    assert snapshot(klass) == before
    assert not RecordBook.objects.filter(year__start_year=2026).exists()


def test_carry_over_is_all_or_nothing(w, klass, next_year):
    """One student already holding a record of the next year stops the whole class."""
    late = klass.students[4]
    RecordBook.objects.create(student_id=late, year=next_year["7A1"].year, school_class=next_year["7A1"])
    before = snapshot(klass)
    status = carry_over_by_api(w, klass, "principal_a", {"to_class": next_year["7A1"].pk}, state="failed")
    assert status["error"]["code"] == "students.carry_already" and "Hoàng Minh Đức" in status["error"]["detail"]
    assert status["rows"] == []
    assert snapshot(klass) == before


def test_carry_over_on_the_page_with_confirmation(w, klass, next_year, django_capture_on_commit_callbacks):
    client = page(w, "principal_a")
    url = f"/students/classes/{klass.school_class.pk}/carry-over/"
    form = body(client.get(url))
    assert f'value="{next_year["7A1"].pk}"' in form and f'value="{next_year["6A3"].pk}"' in form
    assert f'value="{next_year["8A1"].pk}"' not in form
    asked = client.post(url, {"to_class": next_year["7A1"].pk, "repeat_class": ""})
    assert asked.status_code == 200 and 'id="confirm-carry"' in body(asked)
    assert not Enrolment.objects.filter(school_class=next_year["7A1"]).exists()
    with django_capture_on_commit_callbacks(execute=False):
        done = client.post(url, {"to_class": next_year["7A1"].pk, "repeat_class": "", "confirm": "1"})
    assert done.status_code == 302 and done["Location"].startswith("/jobs/")  # a background job carries it over
    job_id = int(done["Location"].strip("/").rsplit("/", 1)[1])
    carry_over_class.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)  # the task left the connection on public
    assert Enrolment.objects.filter(school_class=next_year["7A1"], entry="promoted").count() == 6


def test_carry_over_refused_without_the_capability_and_across_schools(w, klass, next_year):
    payload = {"to_class": next_year["7A1"].pk}
    url = f"/api/v1/classes/{klass.school_class.pk}/carry-over/"
    for name in ("homeroom_a", "clerk_a", "teacher_a", "parent_a"):
        assert api(w, name).post(url, payload, format="json").status_code == 403
        assert page(w, name).get(f"/students/classes/{klass.school_class.pk}/carry-over/").status_code == 403
    assert api(w, "principal_b").post(url, payload, format="json").status_code == 403
    assert api(w, "principal_b", SCHOOL_B_HOST).post(url, payload, format="json").status_code == 404
    connection.set_tenant(klass.school)
    assert not Enrolment.objects.filter(school_class__year__start_year=2026).exists()
    assert SchoolClass.objects.filter(year__start_year=2026).count() == 4


def test_the_movement_endpoints_are_documented(w, klass):
    response = api(w, "principal_a").get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for tail, method in (
        ("/move/", "post"),
        ("/transfer-out/", "post"),
        ("/guardians/", "post"),
        ("/guardians/", "get"),
        ("/enrolments/", "get"),
        ("/carry-over/", "post"),
    ):
        matches = [p for p in paths if p.endswith(tail) and method in paths[p]]
        assert matches, tail
        operation = paths[matches[0]][method]
        assert operation.get("summary")
        if method == "post":
            assert "requestBody" in operation, tail
    transfer = next(paths[p]["post"] for p in paths if p.endswith("/transfer-out/"))
    request_schema = transfer["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    components = response.json()["components"]["schemas"]
    assert "destination" in components[request_schema]["properties"]
    assert components[request_schema]["properties"]["destination"]["maxLength"] == 300
    assert "exit_note" in components["Enrolment"]["properties"]
    assert any("/guardians/{account}/" in p and "delete" in paths[p] for p in paths)
