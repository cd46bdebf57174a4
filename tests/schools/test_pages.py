"""The school's pages: classes, the grade entry page, conduct, attendance, students, records, parents."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from schools.models import Absence, GuardianLink, RecordBook, Student
from schools.services.classwork import absences_record, conduct_save
from schools.services.common import system_access
from schools.services.sheets import sheet_save
from schools.services.students import student_enrol
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

TODAY = dt.date(2025, 10, 1)
STATIC = Path(__file__).resolve().parents[2] / "schools" / "static" / "schools"
MATH_COLUMNS = ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
APPROVAL_REASON = "Duyệt theo kế hoạch cuối năm; bổ sung sau"  # the fixtures' books miss most subjects


def page(w, name: str, host: str = SCHOOL_A_HOST) -> Client:
    return client_for(w.account(name), host)


def body(response) -> str:
    return page_text(response)


def sheet_url(k, term: int = 1, subject=None) -> str:
    return f"/classes/{k.school_class.pk}/sheets/{(subject or k.math).pk}/{term}/"


def sheet_config(html: str) -> dict:
    match = re.search(r'<script id="sheet-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration as JSON"
    return json.loads(match.group(1))


def fill_math(k, value: str = "8", students=None) -> None:
    cells = [{"student": s, "column": c, "value": value} for s in (students or k.students) for c in MATH_COLUMNS]
    sheet_save(access=system_access(k.school.pk), school_class=k.school_class, subject=k.math, term=1, cells=cells)


def submit_and_approve(w, k) -> None:
    assert page(w, "homeroom_a").post(f"/classes/{k.school_class.pk}/submit/").status_code == 302
    approve = page(w, "principal_a").post(f"/classes/{k.school_class.pk}/approve/", {"reason": APPROVAL_REASON})
    assert approve.status_code == 302


def more_students(k, n: int) -> None:
    system = system_access(k.school.pk)
    for i in range(n):
        student_enrol(
            access=system,
            school_class=k.school_class,
            today=TODAY,
            profile={"full_name": f"Ngô Thêm Người {chr(65 + i)}", "date_of_birth": "02/02/2014", "gender": "F"},
        )


# --- the JavaScript ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["grade_sheet.js", "class_entry.js"])
def test_javascript_parses(name):
    node = shutil.which("node")
    assert node, "node is needed to check the pages' JavaScript"
    result = subprocess.run([node, "--check", str(STATIC / name)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_live_average_matches_the_rules_in_node():
    """The page's integer-tenths rounding gives the rule engine's numbers (half up, one decimal)."""
    from decimal import Decimal

    from schools.rules import tt22

    source = (STATIC / "grade_sheet.js").read_text(encoding="utf-8")
    functions = "\n".join(
        re.search(rf"  function {name}\(.*?\n  }}\n", source, re.S).group(0)
        for name in ("tenths", "showTenths", "roundedTenths")
    )
    cases = [
        (["7,5", "8", "6,5", "9"], "7,3", "8,5"),
        (["5", "5", "5", "5"], "5", "6,1"),
        (["10", "9,9", "0", "3,3"], "4,4", "0"),
        (["8,25", "8", "8", "8"], "8", "8"),
    ]
    script = (
        functions
        + "\nvar out = [];\n"
        + "".join(
            f"out.push((function(){{ var tx = {json.dumps(tx)}.map(tenths); if (tx.some(isNaN)) return 'NaN';"
            f" var t = tx.reduce(function(a,b){{return a+b;}},0) + 2*tenths({json.dumps(gk)})"
            f" + 3*tenths({json.dumps(ck)});"
            f" return showTenths(roundedTenths(t, 9)); }})());\n"
            for tx, gk, ck in cases
        )
        + "console.log(JSON.stringify(out));"
    )
    result = subprocess.run([shutil.which("node"), "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    for (tx, gk, ck), live in zip(cases, got, strict=True):
        try:
            scores = tt22.SubjectScores(
                tuple(Decimal(x.replace(",", ".")) for x in tx),
                Decimal(gk.replace(",", ".")),
                Decimal(ck.replace(",", ".")),
            )
        except Exception:
            assert live == "NaN"
            continue
        expected = tt22.semester_average(scores, periods_per_year=140)
        assert live == f"{expected:.1f}".replace(".", ","), (tx, gk, ck)


# --- the school's home and the class list -------------------------------------------------------


def test_school_home_links_the_pages_by_capability(w, klass):
    assert "/classes/" in body(page(w, "homeroom_a").get("/"))
    parent = body(page(w, "parent_a").get("/"))
    assert "/my-children/" in parent and 'href="/classes/"' not in parent
    assert "/my-children/" not in body(page(w, "teacher_a").get("/"))


def test_class_list_shows_the_classes_one_may_see(w, klass):
    html = body(page(w, "homeroom_a").get("/classes/"))
    assert "6A1" in html and "6A2" not in html and "Chủ nhiệm" in html
    assert "Homeroom A" in html  # the homeroom teacher's name
    principal = body(page(w, "principal_a").get("/classes/"))
    assert "6A1" in principal and "6A2" in principal
    assert "6A1" not in body(page(w, "parent_a").get("/classes/"))


# --- the class page -------------------------------------------------------------------------------


def test_class_page_for_the_homeroom_teacher(w, klass):
    html = body(page(w, "homeroom_a").get(f"/classes/{klass.school_class.pk}/"))
    positions = [
        html.index(name)
        for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Đức", "Vũ Thị Hà")
    ]
    assert positions == sorted(positions), "students in Vietnamese order (given name first)"
    assert "Trình học bạ" in html and "Duyệt học bạ" not in html
    assert "Kết quả cả năm" in html and 'id="class-results"' in html
    assert (
        f"/classes/{klass.school_class.pk}/conduct/1/" in html
        and f"/classes/{klass.school_class.pk}/attendance/" in html
    )
    assert "Đang nhập" in html
    assert "Nhập học cho học sinh mới" in html
    # The homeroom teacher reads every subject's sheet but enters none without an assignment.
    assert sheet_url(klass) in html and "Nhập điểm" not in html


def test_class_page_for_a_subject_teacher(w, klass):
    html = body(page(w, "teacher_a").get(f"/classes/{klass.school_class.pk}/"))
    assert "Nhập điểm" in html and sheet_url(klass) in html and sheet_url(klass, 2, klass.pe) in html
    assert "Trình học bạ" not in html and "Duyệt học bạ" not in html
    assert 'id="class-results"' not in html, "a subject teacher does not see the other subjects' results"
    assert "Nhập học cho học sinh mới" not in html


def test_class_page_refuses_outsiders(w, klass):
    url = f"/classes/{klass.school_class.pk}/"
    assert page(w, "teacher_b", SCHOOL_A_HOST).get(url).status_code == 403
    assert page(w, "teacher_b", SCHOOL_B_HOST).get(url).status_code == 404
    assert page(w, "parent_a").get(url).status_code == 404
    other = page(w, "teacher_a").get(f"/classes/{klass.other_class.pk}/")
    assert other.status_code == 404 and "Không tìm thấy" in body(other)


def test_submit_approve_and_reopen_from_the_class_page(w, klass):
    fill_math(klass)
    url = f"/classes/{klass.school_class.pk}/"
    assert page(w, "teacher_a").post(url + "submit/").status_code == 403
    response = page(w, "homeroom_a").post(url + "submit/", follow=True)
    assert "Đã trình 6 học bạ" in body(response)
    assert set(RecordBook.objects.filter(school_class=klass.school_class).values_list("state", flat=True)) == {
        "submitted"
    }
    again = page(w, "homeroom_a").post(url + "submit/", follow=True)
    assert "Không có học bạ nào đang nhập để trình." in body(again)

    principal = page(w, "principal_a")
    html = body(principal.get(url))
    assert "Duyệt học bạ" in html and "Mở lại" in html
    assert page(w, "homeroom_a").post(url + "approve/").status_code == 403
    assert "chưa duyệt học bạ nào" in body(principal.post(url + "approve/", follow=True))  # incomplete: a reason
    assert "Đã duyệt 6 học bạ" in body(principal.post(url + "approve/", {"reason": APPROVAL_REASON}, follow=True))
    record = RecordBook.objects.get(student_id=klass.students[0])
    assert record.state == "approved" and record.results["subjects"]

    assert page(w, "vice_a").post(f"/records/{record.pk}/reopen/", {"reason": "Sửa điểm nhập nhầm"}).status_code == 403
    short = principal.post(f"/records/{record.pk}/reopen/", {"reason": "x"}, follow=True)
    assert "Cần ghi rõ lý do mở lại học bạ." in body(short)
    done = principal.post(f"/records/{record.pk}/reopen/", {"reason": "Sửa điểm nhập nhầm"}, follow=True)
    assert "Đã mở lại học bạ của Nguyễn Văn An" in body(done)
    record.refresh_from_db()
    assert record.state == "draft" and record.reopened_reason == "Sửa điểm nhập nhầm"


def test_enrol_from_the_class_page(w, klass):
    url = f"/classes/{klass.school_class.pk}/students/new/"
    form = {
        "enrol-full_name": "Đinh Thị Yến",
        "enrol-date_of_birth": "07/08/2014",
        "enrol-gender": "F",
        "enrol-ethnicity": "Kinh",
        "enrol-nationality": "Việt Nam",
        "enrol-entry": "transfer_in",
        "enrol-starts_on": "",
        "enrol-guardian_0_name": "Đinh Văn Tâm",
        "enrol-guardian_0_relation": "Bố",
    }
    assert page(w, "teacher_a").post(url, form).status_code == 403
    response = page(w, "homeroom_a").post(url, form, follow=True)
    assert "Đã nhập học cho Đinh Thị Yến" in body(response)
    student = Student.objects.get(full_name="Đinh Thị Yến")
    assert student.guardians == [{"name": "Đinh Văn Tâm", "relation": "Bố"}]
    assert student.enrolments.get().entry == "transfer_in"
    bad = page(w, "homeroom_a").post(
        url, {**form, "enrol-full_name": "Đinh Văn Lộc", "enrol-date_of_birth": "31/02/2014"}
    )
    html = body(bad)
    assert bad.status_code == 200 and "Ngày sinh phải theo dạng dd/mm/yyyy." in html
    assert 'value="Đinh Văn Lộc"' in html, "the person's input is kept"
    assert not Student.objects.filter(full_name="Đinh Văn Lộc").exists()


# --- the grade entry page --------------------------------------------------------------------------


def test_grade_page_carries_what_the_script_needs(w, klass):
    fill_math(klass, "7,5", klass.students[:1])
    response = page(w, "teacher_a").get(sheet_url(klass))
    assert response.status_code == 200
    html = body(response)
    config = sheet_config(html)
    assert config["api"] == f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    assert config["term"] == 1 and config["editable"] is True and config["grading"] == "score"
    assert [c["key"] for c in config["columns"]] == [*MATH_COLUMNS, "nx"]
    assert config["rules"] == {
        "code": "TT22/2021",
        "regular_count": 4,
        "regular_weight": 1,
        "midterm_weight": 2,
        "final_weight": 3,
        "semester_i_weight": 1,
        "semester_ii_weight": 2,
    }
    assert config["messages"]["saving"] == "Đang lưu…"
    first = klass.students[0]
    assert f'data-student="{first}" data-column="tx1" data-type="score" data-original="7,5"' in html
    assert 'data-computed="term1" data-server="7,5"' in html
    assert 'name="csrfmiddlewaretoken"' in html and "/static/schools/grade_sheet.js" in html
    assert "<colgroup>" in html and 'class="sheet"' in html and "Lưu bảng điểm" in html
    assert "Học kì I" in html and sheet_url(klass, 2) in html
    positions = [html.index(f'<tr data-student="{s}"') for s in klass.students]
    assert positions == sorted(positions)


def test_grade_page_of_a_comment_graded_subject(w, klass):
    html = body(page(w, "teacher_a").get(sheet_url(klass, 2, klass.pe)))
    config = sheet_config(html)
    assert config["grading"] == "comment" and config["rules"]["regular_count"] == 3
    assert {c["type"] for c in config["columns"]} == {"passfail", "text"}
    assert "Đ (hoặc D)" in html


def test_grade_page_is_read_only_for_readers_and_for_approved_records(w, klass):
    reader = body(page(w, "homeroom_a").get(sheet_url(klass)))
    assert sheet_config(reader)["editable"] is False
    assert '<input type="text"' not in reader and "Lưu bảng điểm" not in reader and "Chỉ xem" in reader
    fill_math(klass)
    submit_and_approve(w, klass)
    html = body(page(w, "teacher_a").get(sheet_url(klass)))
    assert html.count(' readonly tabindex="-1"') == 6 * 7
    assert "Hiệu trưởng đã duyệt" in html and "cần Hiệu trưởng mở lại" in html


def test_grade_page_refusals(w, klass):
    from schools.models import Subject

    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    assert page(w, "teacher_a").get(sheet_url(klass, 1, literature)).status_code == 403
    assert page(w, "teacher_a").get(sheet_url(klass, 3)).status_code == 400
    primary = Subject.objects.filter(level="primary").first()
    if primary is not None:
        assert page(w, "principal_a").get(sheet_url(klass, 1, primary)).status_code == 404
    assert page(w, "teacher_b", SCHOOL_A_HOST).get(sheet_url(klass)).status_code == 403
    assert page(w, "teacher_b", SCHOOL_B_HOST).get(sheet_url(klass)).status_code == 404
    assert page(w, "parent_a").get(sheet_url(klass)).status_code == 404


def test_the_page_token_saves_the_sheet_through_the_api(w, klass):
    """What the script does: read the page's CSRF token and PUT only the changed cells, decimal comma included."""
    client = Client(HTTP_HOST=SCHOOL_A_HOST, enforce_csrf_checks=True)
    client.force_login(w.account("teacher_a"), backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(sheet_url(klass)).content.decode()  # with its CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    config = sheet_config(html)
    cells = [{"student": klass.students[0], "column": c, "value": "7,5"} for c in MATH_COLUMNS]
    refused = client.put(config["api"], json.dumps({"cells": cells}), content_type="application/json")
    assert refused.status_code == 403
    response = client.put(
        config["api"], json.dumps({"cells": cells}), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["sheet"]["rows"][0]["computed"]["term1"] == "7,5"
    bad = client.put(
        config["api"],
        json.dumps({"cells": [{"student": klass.students[1], "column": "gk", "value": "12"}]}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert bad.status_code == 400
    error = bad.json()["errors"][0]
    assert error["student"] == klass.students[1] and error["column"] == "gk" and "Trần Thị Bình" in error["detail"]


# --- conduct and attendance ---------------------------------------------------------------------------


def test_conduct_page_for_the_homeroom_teacher(w, klass):
    system = system_access(klass.school.pk)
    conduct_save(
        access=system,
        school_class=klass.school_class,
        term=1,
        entries=[{"student": klass.students[0], "level": "K", "text": "Cần chăm chỉ hơn"}],
    )
    response = page(w, "homeroom_a").get(f"/classes/{klass.school_class.pk}/conduct/1/")
    html = body(response)
    assert response.status_code == 200 and "Đánh giá rèn luyện" in html
    assert 'data-original="K"' in html and "Cần chăm chỉ hơn" in html
    config = json.loads(
        re.search(r'<script id="entry-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert config["api"] == f"/api/v1/classes/{klass.school_class.pk}/conduct/1/" and config["kind"] == "conduct"
    term2 = body(page(w, "homeroom_a").get(f"/classes/{klass.school_class.pk}/conduct/2/"))
    assert "HK I" in term2 and ">K<" in term2
    assert page(w, "teacher_a").get(f"/classes/{klass.school_class.pk}/conduct/1/").status_code == 403
    assert page(w, "homeroom_a").get(f"/classes/{klass.school_class.pk}/conduct/3/").status_code == 404


def test_attendance_page_shows_the_day_and_monthly_sums(w, klass):
    system = system_access(klass.school.pk)
    absences_record(
        access=system,
        school_class=klass.school_class,
        date=dt.date(2025, 10, 15),
        entries=[{"student": klass.students[1], "excused": True, "reason": "Ốm"}],
    )
    absences_record(
        access=system,
        school_class=klass.school_class,
        date=dt.date(2025, 10, 16),
        entries=[{"student": klass.students[1], "excused": False}],
    )
    client = page(w, "homeroom_a")
    html = body(client.get(f"/classes/{klass.school_class.pk}/attendance/?date=15/10/2025"))
    assert 'value="2025-10-15"' in html and "15/10/2025" in html and "Ốm" in html and "checked" in html
    assert "T9" in html and "T10" in html and "T5" in html
    assert re.search(r"Trần Thị Bình</td>.*?<td class=\"num\">2 <span class=\"muted\">\(1\)</span>", html, re.S)
    config = json.loads(
        re.search(r'<script id="entry-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert config["api"] == f"/api/v1/classes/{klass.school_class.pk}/absences/" and config["date"] == "15/10/2025"
    wrong = body(client.get(f"/classes/{klass.school_class.pk}/attendance/?date=31/13/2025"))
    assert "không hợp lệ" in wrong
    assert client.get(f"/classes/{klass.school_class.pk}/attendance/?date=16/10/2025&saved=1").status_code == 200
    assert page(w, "teacher_a").get(f"/classes/{klass.school_class.pk}/attendance/").status_code == 403
    assert Absence.objects.count() == 2


# --- students and records ---------------------------------------------------------------------------


def test_student_profile_and_its_edit_form(w, klass):
    student = klass.students[2]
    url = f"/students/{student}/"
    html = body(page(w, "homeroom_a").get(url))
    assert "Lê Hoàng Cường" in html and "05/03/2014" in html and "Nhập học" in html and "Sửa lý lịch học sinh" in html
    teacher = body(page(w, "teacher_a").get(url))
    assert "Lê Hoàng Cường" in teacher and "Sửa lý lịch học sinh" not in teacher
    form = {
        "full_name": "Lê Hoàng Cường",
        "date_of_birth": "05/03/2014",
        "gender": "M",
        "ethnicity": "Tày",
        "nationality": "Việt Nam",
        "place_of_birth": "Tây Ninh",
        "address": "",
        "personal_id": "072214000123",
        "moet_code": "",
        "guardian_0_name": "Lê Văn Bảy",
        "guardian_0_relation": "Bố",
        "guardian_0_phone": "0912345678",
    }
    assert page(w, "teacher_a").post(url + "edit/", form).status_code == 403
    done = page(w, "homeroom_a").post(url + "edit/", form, follow=True)
    assert "Đã lưu hồ sơ của Lê Hoàng Cường" in body(done)
    saved = Student.objects.get(pk=student)
    assert saved.ethnicity == "Tày" and saved.personal_id == "072214000123"
    assert saved.guardians == [{"name": "Lê Văn Bảy", "relation": "Bố", "phone": "0912345678"}]
    bad = body(page(w, "homeroom_a").post(url + "edit/", {**form, "personal_id": "123"}))
    assert "Số định danh cá nhân phải gồm đúng 12 chữ số." in bad and 'value="123"' in bad
    assert page(w, "teacher_b", SCHOOL_B_HOST).get(url).status_code == 404


def test_record_page_for_the_homeroom_teacher(w, klass):
    fill_math(klass, "9")
    conduct_save(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        term=1,
        entries=[{"student": klass.students[0], "level": "T"}],
    )
    response = page(w, "homeroom_a").get(f"/students/{klass.students[0]}/record/")
    html = body(response)
    assert response.status_code == 200
    assert "Nguyễn Văn An" in html and "2025–2026" in html and "6A1" in html and "Homeroom A" in html
    assert "Toán" in html and "9,0" in html and "Kết quả rèn luyện" in html and "Tốt" in html
    assert "Đang nhập" in html and "chưa được duyệt" in html
    teacher = body(page(w, "teacher_a").get(f"/students/{klass.students[0]}/record/"))
    assert "Toán" in teacher and "Ngữ văn" not in teacher and "Kết quả học tập" not in teacher


def test_parent_sees_only_their_own_child_once_approved(w, klass):
    child, other = klass.students[0], klass.students[1]
    GuardianLink.objects.create(student_id=child, account_id=w.accounts["parent_a"])
    parent = page(w, "parent_a")
    listing = body(parent.get("/my-children/"))
    assert "Nguyễn Văn An" in listing and "Nhà trường chưa duyệt học bạ" in listing and "Trần Thị Bình" not in listing
    early = parent.get(f"/students/{child}/record/")
    assert early.status_code == 200 and "Học bạ của con bạn chưa được nhà trường duyệt." in body(early)
    fill_math(klass, "8")
    submit_and_approve(w, klass)
    record = parent.get(f"/students/{child}/record/")
    html = body(record)
    assert record.status_code == 200 and "Hiệu trưởng đã duyệt" in html and "8,0" in html and "Con của tôi" in html
    assert "/my-children/" in html and f"/classes/{klass.school_class.pk}/" not in html
    assert f"/students/{child}/record/" in body(parent.get("/my-children/"))
    assert parent.get(f"/students/{other}/record/").status_code == 404
    assert parent.get(f"/students/{other}/").status_code == 404
    assert page(w, "teacher_a").get("/my-children/").status_code == 403


# --- constant queries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/classes/{c}/", "/classes/{c}/sheets/{s}/1/", "/classes/{c}/conduct/1/", "/classes/{c}/attendance/", "/classes/"],
)
def test_page_queries_do_not_grow_with_students(w, klass, queries, path):
    fill_math(klass)
    url = path.format(c=klass.school_class.pk, s=klass.math.pk)
    client = page(w, "principal_a")
    client.get(url)  # warm the session and caches

    def count() -> int:
        with queries() as q:
            assert client.get(url).status_code == 200
        return len(q)

    before = count()
    more_students(klass, 5)
    assert count() == before
