"""Excel for TT27 qualities and competencies: the checkpoint's template with the class's pupils and levels, the
all-or-nothing import with a report per cell, the refusals (locked term, foreign school, not the class's
homeroom teacher) and the class's export."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from schools.models import QualityAssessment, RecordBook, Subject
from schools.rules import tt27
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol
from schools.services.yearend import qualities_save, quality_level
from tenants.models import School
from tenants.services import windows as window_services
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = {"HTTP_ACCEPT": "application/json"}
TRAITS = [q.code for q in (*tt27.RULES.qualities, *tt27.RULES.competencies)]
HEADER_ROW = 4


def client(w, name, host=SCHOOL_A_HOST):
    return client_for(w.account(name), host)


def workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == XLSX and "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def xlsx(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(c, url, content: bytes, *, json=True):
    return c.post(url, {"file": SimpleUploadedFile("pcnl.xlsx", content, content_type=XLSX)}, **(JSON if json else {}))


def headers(ws, row=HEADER_ROW) -> dict[str, int]:
    return {c.value: c.column for c in ws[row] if c.value}


def urls(school_class, term=1, checkpoint="mid"):
    base = f"/excel/classes/{school_class.pk}/qualities/{term}/{checkpoint}"
    return f"{base}.xlsx", f"{base}/import/"


def stored(pupils, term=1, checkpoint="mid") -> dict[tuple[int, str], tuple[str, str]]:
    return {
        (q.student_id, q.code): (q.level, q.text)
        for q in QualityAssessment.objects.filter(student_id__in=pupils, term=term, checkpoint=checkpoint)
    }


@pytest.fixture
def primary(w, klass):
    """A grade 3 class 3A (TT27) of the running school year in school A, homeroom_a its homeroom teacher, and
    3B whose homeroom teacher is someone else (homeroom_a teaches a subject there)."""
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=current_school_year(timezone.localdate()), levels=["primary"])
    three = class_create(access=system, year=year, name="3A", grade=3, homeroom_teacher_id=w.accounts["homeroom_a"])
    other = class_create(access=system, year=year, name="3B", grade=3, homeroom_teacher_id=None)
    today = timezone.localdate()
    pupils = [
        student_enrol(
            access=system,
            school_class=three,
            today=today,
            profile={"full_name": n, "date_of_birth": "05/03/2018", "gender": "F"},
        ).pk
        for n in ("Lý Thị Mai", "Đinh Văn Nam")
    ]
    student_enrol(
        access=system,
        school_class=other,
        today=today,
        profile={"full_name": "Cao Văn Khác", "date_of_birth": "01/01/2018", "gender": "M"},
    )
    assignment_set(
        access=system,
        school_class=other,
        subject=Subject.objects.get(level="primary", code="tieng_viet"),
        teacher_id=w.accounts["homeroom_a"],
    )
    return {"class": three, "other": other, "pupils": pupils, "year": year}


@pytest.mark.parametrize(
    "typed,level",
    [
        ("T", "T"),
        ("t", "T"),
        ("Tốt", "T"),
        ("tot", "T"),
        ("TỐT", "T"),
        ("Đ", "D"),
        ("đ", "D"),
        ("D", "D"),
        ("Đạt", "D"),
        ("dat", "D"),
        ("ĐẠT", "D"),
        ("C", "C"),
        ("c", "C"),
        ("Cần cố gắng", "C"),
        ("can co gang", "C"),
        ("  cần  cố gắng ", "C"),
        ("CCG", "C"),
        ("H", None),
        ("CĐ", None),
        ("Khá", None),
        ("7", None),
    ],
)
def test_levels_as_teachers_type_them(typed, level):
    assert quality_level(typed) == level


def test_template_lists_the_pupils_with_hidden_ids_and_the_levels_entered(w, primary):
    three, pupils = primary["class"], primary["pupils"]
    qualities_save(
        access=system_access(connection.tenant.pk),
        school_class=three,
        term=1,
        checkpoint="mid",
        entries=[{"student": pupils[0], "code": "nhan_ai", "level": "D", "text": "Cần quan tâm bạn bè"}],
    )
    template, _url = urls(three)
    ws = workbook(client(w, "homeroom_a").get(template)).active
    cols = headers(ws)
    assert list(cols)[:4] == ["Mã HS (không sửa)", "STT", "Họ và tên", "Ngày sinh"]
    assert list(cols)[4:] == [q.label_vi for q in (*tt27.RULES.qualities, *tt27.RULES.competencies)]
    assert ws.column_dimensions["A"].hidden
    assert [ws.cell(row=3, column=5).value, ws.cell(row=3, column=10).value, ws.cell(row=3, column=13).value] == [
        "Phẩm chất",
        "Năng lực chung",
        "Năng lực đặc thù",
    ]
    # Vietnamese order: Mai before Nam; the level entered shows as Đ.
    assert [ws.cell(row=r, column=cols["Họ và tên"]).value for r in (5, 6)] == ["Lý Thị Mai", "Đinh Văn Nam"]
    assert ws.cell(row=5, column=1).value == pupils[0] and ws.cell(row=5, column=4).value == "05/03/2018"
    assert ws.cell(row=5, column=cols["Nhân ái"]).value == "Đ" and ws.cell(row=6, column=cols["Nhân ái"]).value is None
    assert any(dv.formula1 == '"T,Đ,C"' for dv in ws.data_validations.dataValidation)


def test_round_trip_accepts_what_teachers_type_and_keeps_the_comments(w, primary):
    three, pupils = primary["class"], primary["pupils"]
    qualities_save(
        access=system_access(connection.tenant.pk),
        school_class=three,
        term=1,
        checkpoint="mid",
        entries=[{"student": pupils[0], "code": "nhan_ai", "level": "D", "text": "Cần quan tâm bạn bè"}],
    )
    template, url = urls(three)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb.active
    cols = headers(ws)
    typed = ["T", "tốt", "Đạt", "d", "C", "Cần cố gắng", "can co gang", "ĐẠT", "t", "Tot", "Đ", "c", "D", "T", "T"]
    for j, value in enumerate(typed):
        ws.cell(row=5, column=5 + j, value=value)
    ws.cell(row=6, column=cols["Yêu nước"], value="T")
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 2, "changed": 16, "written": 16, "cleared": 0}
    levels = stored(pupils)
    expected = ["T", "T", "D", "D", "C", "C", "C", "D", "T", "T", "D", "C", "D", "T", "T"]
    assert [levels[(pupils[0], code)][0] for code in TRAITS] == expected
    assert levels[(pupils[0], "nhan_ai")] == ("T", "Cần quan tâm bạn bè")  # the comment stays
    assert levels[(pupils[1], "yeu_nuoc")] == ("T", "")
    # The same file again changes nothing; an emptied cell clears the level.
    again = workbook(c.get(template))
    assert again.active.cell(row=5, column=cols["Chăm chỉ"]).value == "Đ"
    assert upload(c, url, xlsx(again)).json()["changed"] == 0
    again.active.cell(row=6, column=cols["Yêu nước"]).value = None
    assert upload(c, url, xlsx(again)).json() == {"rows": 2, "changed": 1, "written": 0, "cleared": 1}
    assert (pupils[1], "yeu_nuoc") not in stored(pupils)
    # The page's report, in the page's language.
    page = upload(c, url, xlsx(wb), json=False)
    assert page.status_code == 200 and "mức được ghi" in page.content.decode()


def test_bad_cells_are_reported_and_nothing_is_written(w, primary):
    three, pupils = primary["class"], primary["pupils"]
    template, url = urls(three)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb.active
    cols = headers(ws)
    ws.cell(row=5, column=cols["Yêu nước"], value="T")  # fine on its own
    ws.cell(row=5, column=cols["Nhân ái"], value="Khá")  # not a TT27 level
    ws.cell(row=6, column=cols["Chăm chỉ"], value=9)  # a number
    ws.cell(row=6, column=cols["Trung thực"], value="H")  # a subject's level, not a quality's
    ws.cell(row=6, column=cols["Họ và tên"], value="Đinh Văn Nam")
    ws.append([999999, 3, "Người Lạ", None, "T"])  # row 7: not in the class
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "excel.invalid" and "chưa lưu gì" in body["detail"]
    letter = {
        code: openpyxl.utils.get_column_letter(cols[label])
        for code, label in (("n", "Nhân ái"), ("c", "Chăm chỉ"), ("t", "Trung thực"))
    }
    assert {(e["cell"], e["code"]) for e in body["errors"]} == {
        (f"{letter['n']}5", "class.bad_quality_level"),
        (f"{letter['c']}6", "yearend.bad_quality_cell"),
        (f"{letter['t']}6", "class.bad_quality_level"),
        ("A7", "sheet.student_not_in_class"),
    }
    nhan_ai = next(e for e in body["errors"] if e["code"] == "class.bad_quality_level" and e["row"] == 5)
    assert "Lý Thị Mai" in nhan_ai["detail"] and "Khá" in nhan_ai["detail"]
    assert "Level “Khá” is not valid" in nhan_ai["detail_en"] and nhan_ai["detail_en"].startswith("Cell ")
    assert not QualityAssessment.objects.filter(student_id__in=pupils).exists()
    # The page names every bad cell, in the page's language.
    page = upload(c, url, xlsx(wb), json=False)
    html = page.content.decode()
    assert page.status_code == 400 and f'data-cell="{letter["n"]}5"' in html and "Khá" in html


def test_an_approved_record_and_a_wrong_file_are_refused(w, primary, klass):
    three, pupils = primary["class"], primary["pupils"]
    template, url = urls(three)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    wb.active.cell(row=5, column=5, value="T")
    RecordBook.objects.filter(student_id=pupils[0]).update(state="approved")
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "class.record_approved"
    assert response.json()["errors"][0]["cell"] == "E5"
    RecordBook.objects.filter(student_id=pupils[0]).update(state="draft")
    # A template of another checkpoint, or a grade sheet, is not this checkpoint's file.
    _t, end_url = urls(three, 2, "end")
    wrong = upload(c, end_url, xlsx(wb))
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "excel.wrong_sheet"
    grades = client(w, "principal_a").get(f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1.xlsx")
    kind = upload(c, url, grades.content)
    assert kind.status_code == 400 and kind.json()["errors"][0]["code"] == "excel.wrong_kind"
    assert not QualityAssessment.objects.exists()
    # Only the four checkpoints; a secondary class has no qualities (TT22).
    assert c.get(f"/excel/classes/{three.pk}/qualities/1/late.xlsx").status_code == 404
    assert client(w, "principal_a").get(urls(klass.school_class)[0]).status_code == 400


def test_a_locked_term_is_refused_and_nothing_is_written(w, primary):
    three, pupils = primary["class"], primary["pupils"]
    template, url = urls(three)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    wb.active.cell(row=5, column=5, value="Tốt")
    now = timezone.now()
    window_services.window_create(
        actor=None,
        category="scores_1",
        year_start=primary["year"].start_year,
        opens_at=now - dt.timedelta(hours=2),
        locks_at=now - dt.timedelta(minutes=1),
        school=School.objects.get(pk=w.school_a),
        reason="Khóa sổ học kì I",
    )
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 423 and response.json()["detail"]
    page = upload(c, url, xlsx(wb), json=False)
    assert page.status_code == 423 and "khóa" in page.content.decode().lower()
    assert not QualityAssessment.objects.filter(student_id__in=pupils).exists()


def test_who_may_download_import_and_export(w, primary):
    three, other = primary["class"], primary["other"]
    template, url = urls(three)
    # A subject teacher of the class, a homeroom teacher of another class: not theirs to enter.
    teacher = client(w, "teacher_a")
    assert teacher.get(template).status_code in (403, 404)
    assert upload(teacher, url, b"x").status_code in (403, 404)
    homeroom = client(w, "homeroom_a")
    other_template, other_url = urls(other)
    assert homeroom.get(other_template).status_code == 403  # teaches in 3B, is not its homeroom teacher
    assert homeroom.get(other_url).status_code == 403
    assert upload(homeroom, other_url, b"x").status_code == 403
    assert homeroom.get(f"/excel/classes/{other.pk}/qualities/year.xlsx").status_code == 403
    # A foreign school: its people on school A's address, and school A's class id on school B's address.
    assert client(w, "teacher_b").get(template).status_code in (403, 404)
    assert client(w, "principal_b", SCHOOL_B_HOST).get(template).status_code == 404
    assert upload(client(w, "principal_b", SCHOOL_B_HOST), url, b"x").status_code == 404
    assert (
        client(w, "principal_b", SCHOOL_B_HOST).get(f"/excel/classes/{three.pk}/qualities/year.xlsx").status_code == 404
    )
    connection.set_tenant(School.objects.get(pk=w.school_a))
    assert client(w, "parent_a").get(template).status_code in (403, 404)
    # The principal may (BGH), like on the qualities page.
    assert client(w, "principal_a").get(template).status_code == 200
    assert not QualityAssessment.objects.exists()


def test_export_has_every_checkpoint_with_levels_and_comments(w, primary):
    three, pupils = primary["class"], primary["pupils"]
    system = system_access(connection.tenant.pk)
    qualities_save(
        access=system,
        school_class=three,
        term=2,
        checkpoint="end",
        entries=[
            {"student": pupils[0], "code": "cham_chi", "level": "T", "text": "Chăm học"},
            {"student": pupils[1], "code": "the_chat", "level": "C"},
        ],
    )
    wb = workbook(client(w, "principal_a").get(f"/excel/classes/{three.pk}/qualities/year.xlsx"))
    assert wb.sheetnames == ["Giữa học kì I", "Cuối học kì I", "Giữa học kì II", "Cuối năm học"]
    ws = wb["Cuối năm học"]
    cols = {**headers(ws, 3), **headers(ws)}  # STT, Họ và tên, Ngày sinh, Nhận xét span both header rows
    assert ws.cell(row=5, column=cols["Họ và tên"]).value == "Lý Thị Mai"
    assert ws.cell(row=5, column=cols["Chăm chỉ"]).value == "T"
    assert ws.cell(row=5, column=ws.max_column).value == "Chăm chỉ: Chăm học"
    assert ws.cell(row=6, column=cols["Thể chất"]).value == "C"
    assert wb["Giữa học kì I"].cell(row=5, column=cols["Chăm chỉ"]).value in (None, "")
    assert ws.freeze_panes == "D5"
    # The homeroom teacher exports too; the qualities page links the three files.
    assert client(w, "homeroom_a").get(f"/excel/classes/{three.pk}/qualities/year.xlsx").status_code == 200
    html = client(w, "homeroom_a").get(f"/year-end/classes/{three.pk}/qualities/1/mid/").content.decode()
    template, url = urls(three)
    assert template in html and url in html and f"/excel/classes/{three.pk}/qualities/year.xlsx" in html
    import_page = client(w, "homeroom_a").get(url)
    assert import_page.status_code == 200 and template in import_page.content.decode()


def test_template_and_import_take_the_same_queries_for_any_class_size(w, primary):
    from django.test.utils import CaptureQueriesContext

    three = primary["class"]
    c = client(w, "homeroom_a")
    template, url = urls(three)

    def counts(level: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as read:
            wb = workbook(c.get(template))
        ws = wb.active
        for row in range(5, ws.max_row + 1):
            for col in range(5, 20):
                ws.cell(row=row, column=col, value=level)
        with CaptureQueriesContext(connection) as write:
            assert upload(c, url, xlsx(wb)).status_code == 200
        return len(read), len(write)

    small = counts("Tốt")
    system = system_access(connection.tenant.pk)
    for i in range(5):
        student_enrol(
            access=system,
            school_class=three,
            today=timezone.localdate(),
            profile={"full_name": f"Nguyễn Văn Số {i}", "date_of_birth": "01/01/2018", "gender": "M"},
        )
    assert counts("Đạt") == small
