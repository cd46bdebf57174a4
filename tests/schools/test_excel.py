"""Excel: templates, all-or-nothing imports with a report per row and cell, the class export."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hocba.kernel.spreadsheets import cell_text

from schools.models import Assessment, Conduct, Enrolment, Student, Subject
from schools.services.sheets import sheet_save
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = {"HTTP_ACCEPT": "application/json"}


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


def upload(c, url, content: bytes, *, json=True, name="bang.xlsx"):
    return c.post(url, {"file": SimpleUploadedFile(name, content, content_type=XLSX)}, **(JSON if json else {}))


def headers(ws, row) -> dict[str, int]:
    return {c.value: c.column for c in ws[row] if c.value}


def cells_of(response) -> list[str]:
    return [e["cell"] for e in response.json()["errors"]]


# --------------------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value,text",
    [
        (7.5, "7.5"),
        (8.0, "8"),
        (7.1000000000000005, "7.1"),
        (7.499999999999, "7.5"),
        (7.25, "7.25"),
        ("  7,5 ", "7,5"),
        (9, "9"),
        (None, ""),
        (dt.datetime(2014, 3, 5), "05/03/2014"),
    ],
)
def test_cell_values_read_as_a_person_wrote_them(value, text):
    assert cell_text(value) == text


# --------------------------------------------------------------------------------------- students


def students_urls(k):
    base = f"/excel/classes/{k.school_class.pk}"
    return f"{base}/students-template.xlsx", f"{base}/students-import/"


def test_student_template_has_the_headers_lists_and_a_guide(w, klass):
    template, _ = students_urls(klass)
    wb = workbook(client(w, "homeroom_a").get(template))
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["Danh sách học sinh", "Hướng dẫn"]
    ws = wb["Danh sách học sinh"]
    assert [c.value for c in ws[1]] == [
        "Họ và tên",
        "Ngày sinh (dd/mm/yyyy)",
        "Giới tính (Nam/Nữ)",
        "Dân tộc",
        "Quốc tịch",
        "Nơi sinh",
        "Nơi ở",
        "Số định danh cá nhân",
        "Mã học sinh",
        "Họ tên cha/mẹ/người giám hộ",
        "Quan hệ",
        "Số điện thoại",
    ]
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"Nam,Nữ"' in lists and any("Cha" in f for f in lists if f)
    assert ws.column_dimensions["H"].number_format == "@"


def test_student_list_round_trip(w, klass):
    template, url = students_urls(klass)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb["Danh sách học sinh"]
    ws.append(
        [
            "Ngô  Bảo Châu",
            "05/03/2014",
            "Nam",
            None,
            None,
            "Hà Nội",
            "Số 1 Tràng Tiền",
            "001214000123",
            None,
            "Ngô Văn Bố",
            "Cha",
            "0912345678",
        ]
    )
    ws.append(
        [
            "Đặng Thùy Trâm",
            dt.datetime(2014, 11, 26),
            "Nữ",
            "Tày",
            "Việt Nam",
            None,
            None,
            79314000456,
            "HS-7",
            None,
            None,
            None,
        ]
    )  # a real date; an id that Excel made a number
    before = Student.objects.count()
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2
    assert Student.objects.count() == before + 2
    chau = Student.objects.get(full_name="Ngô Bảo Châu")
    assert chau.date_of_birth == dt.date(2014, 3, 5) and chau.gender == "M" and chau.personal_id == "001214000123"
    assert chau.guardians == [{"name": "Ngô Văn Bố", "relation": "Cha", "phone": "0912345678"}]
    tram = Student.objects.get(full_name="Đặng Thùy Trâm")
    assert (tram.date_of_birth, tram.gender, tram.ethnicity, tram.personal_id) == (
        dt.date(2014, 11, 26),
        "F",
        "Tày",
        "079314000456",
    )
    assert Enrolment.objects.filter(student__in=[chau, tram], school_class=klass.school_class).count() == 2
    # The audit trail says the rows came from an import, by whom.
    from schools.models import AuditEntry

    entry = AuditEntry.objects.filter(table_name="schools_student").order_by("-id").first()
    assert (entry.source, entry.account_id) == ("import", w.accounts["homeroom_a"])
    # The same file again: both are already in the class, nothing is added.
    again = upload(c, url, xlsx(wb))
    assert again.status_code == 400
    assert {(e["cell"], e["code"]) for e in again.json()["errors"]} == {
        ("A2", "students.already_in_class"),
        ("H2", "students.personal_id_taken"),
        ("A3", "students.already_in_class"),
        ("H3", "students.personal_id_taken"),
        ("I3", "students.moet_code_taken"),
    }
    assert Student.objects.count() == before + 2


def test_student_import_reports_every_bad_cell_and_saves_nothing(w, klass):
    Student.objects.filter(pk=klass.students[0]).update(personal_id="001314999999")
    template, url = students_urls(klass)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb["Danh sách học sinh"]
    ws.append(["Ngô Bảo Châu", "05/03/2014", "Nam"])  # row 2: fine
    ws.append(["Lý Thường Kiệt", "31/02/2014", "X"])  # row 3: no such date, no such gender
    ws.append(["Một", "01/01/2014", "Nữ", None, None, None, None, "001314999999"])  # row 4: one word; id taken
    ws.append(["Trần Hưng Đạo", "01/01/2014", "Nam", None, None, None, None, "0012149", None, None, "Cha"])  # row 5
    ws.append(["Ngô Bảo Châu", "05/03/2014", "Nam"])  # row 6: same as row 2
    before = Student.objects.count()
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "excel.invalid" and "chưa lưu gì" in body["detail"]
    found = {(e["cell"], e["code"]) for e in body["errors"]}
    assert found == {
        ("B3", "students.bad_dob"),
        ("C3", "students.bad_gender"),
        ("A4", "students.bad_name"),
        ("H4", "students.personal_id_taken"),
        ("H5", "students.bad_personal_id"),
        ("J5", "students.guardian_without_name"),
        ("A6", "students.duplicate_in_file"),
    }
    error = next(e for e in body["errors"] if e["cell"] == "C3")
    assert error["row"] == 3 and error["header"] == "Giới tính (Nam/Nữ)" and error["detail"].startswith("Ô C3")
    assert error["detail_en"].startswith("Cell C3") and error["message_en"]
    assert Student.objects.count() == before
    # The page: 400, the cells named.
    page = upload(c, url, xlsx(wb), json=False)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-cell="C3"' in html and "Giới tính phải là Nam hoặc Nữ." in html


def test_student_import_without_a_required_column(w, klass):
    template, url = students_urls(klass)
    c = client(w, "clerk_a")  # the clerk edits profiles without reading records
    wb = workbook(c.get(template))
    ws = wb["Danh sách học sinh"]
    ws.append(["Ngô Bảo Châu", "05/03/2014", "Nam"])
    ws.delete_cols(3)
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "students.missing_column" and error["header"] == "Giới tính (Nam/Nữ)"
    assert "Giới tính" in error["detail"]


@pytest.mark.parametrize("content", [b"Ho va ten;Ngay sinh\nAn;01/01/2014\n", b"", b"PK\x03\x04broken"])
def test_a_file_that_is_not_a_workbook_is_a_400(w, klass, content):
    _, url = students_urls(klass)
    response = upload(client(w, "homeroom_a"), url, content, name="danh-sach.csv")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "excel.not_a_workbook"
    sheet = upload(
        client(w, "teacher_a"), f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/import/", content
    )
    assert sheet.status_code == 400 and sheet.json()["errors"][0]["code"] == "excel.not_a_workbook"


def test_no_file_is_a_400(w, klass):
    _, url = students_urls(klass)
    response = client(w, "homeroom_a").post(url, {}, **JSON)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "excel.no_file"


def test_who_may_import_students(w, klass):
    template, url = students_urls(klass)
    assert client(w, "homeroom_a").get(url).status_code == 200
    assert client(w, "clerk_a").get(template).status_code == 200
    for name in ("teacher_a", "parent_a", "dept_a"):
        assert client(w, name).get(template).status_code in (403, 404), name
        assert upload(client(w, name), url, b"x").status_code in (403, 404), name
    # The homeroom teacher of 6A1 may not fill 6A2's list; another school's people never reach it.
    other = f"/excel/classes/{klass.other_class.pk}/students-import/"
    assert client(w, "homeroom_a").get(other).status_code == 404
    assert client(w, "principal_b", SCHOOL_A_HOST).get(url).status_code == 403
    assert client(w, "principal_b", SCHOOL_B_HOST).get(url).status_code == 404


# --------------------------------------------------------------------------------------- grade sheets


def sheet_urls(k, subject=None, term=1):
    base = f"/excel/classes/{k.school_class.pk}/sheets/{(subject or k.math).pk}/{term}"
    return f"{base}.xlsx", f"{base}/import/"


def fill(ws, values=("8", 7.5, 6, "6,5", 7, 9.5)):
    """Every student row: ĐĐGtx 1–4, ĐĐGgk, ĐĐGck; a comment for the first."""
    cols = headers(ws, 3)
    keys = ["ĐĐGtx 1", "ĐĐGtx 2", "ĐĐGtx 3", "ĐĐGtx 4", "ĐĐGgk", "ĐĐGck"]
    for row in range(4, ws.max_row + 1):
        for key, value in zip(keys, values, strict=True):
            ws.cell(row=row, column=cols[key], value=value)
    ws.cell(row=4, column=cols["Nhận xét"], value="Chăm chỉ, tiến bộ")
    return cols


def test_sheet_template_lists_the_class_in_vietnamese_order_with_hidden_ids(w, klass):
    sheet_save(
        access=klass.access(w, "teacher_a"),
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[1], "column": "gk", "value": "7,5"}],
    )
    template, _ = sheet_urls(klass)
    ws = workbook(client(w, "teacher_a").get(template)).active
    cols = headers(ws, 3)
    assert list(cols) == [
        "Mã HS (không sửa)",
        "STT",
        "Họ và tên",
        "Ngày sinh",
        "ĐĐGtx 1",
        "ĐĐGtx 2",
        "ĐĐGtx 3",
        "ĐĐGtx 4",
        "ĐĐGgk",
        "ĐĐGck",
        "Nhận xét",
    ]
    assert ws.column_dimensions["A"].hidden
    ids = [ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)]
    names = [ws.cell(row=r, column=3).value.split()[-1] for r in range(4, ws.max_row + 1)]
    assert set(ids) == set(klass.students) and names == ["An", "Bình", "Cường", "Dung", "Đức", "Hà"]
    binh = ws.cell(row=4 + ids.index(klass.students[1]), column=cols["ĐĐGgk"])
    assert binh.value == 7.5 and binh.number_format == "0.0"


def test_sheet_round_trip(w, klass):
    template, url = sheet_urls(klass)
    c = client(w, "teacher_a")
    wb = workbook(c.get(template))
    fill(wb.active)
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 6, "changed": 37, "written": 37, "cleared": 0}
    assert Assessment.objects.filter(subject=klass.math, term=1).count() == 37
    an = klass.students[0]
    scores = dict(Assessment.objects.filter(student_id=an, kind="tx", term=1).values_list("seq", "score"))
    assert scores == {1: Decimal("8.0"), 2: Decimal("7.5"), 3: Decimal("6.0"), 4: Decimal("6.5")}
    assert Assessment.objects.get(student_id=an, kind="nx").text == "Chăm chỉ, tiến bộ"
    # Downloaded again: the values are there; uploaded unchanged, nothing is rewritten.
    wb = workbook(c.get(template))
    ws = wb.active
    assert ws.cell(row=4, column=headers(ws, 3)["ĐĐGtx 2"]).value == 7.5
    again = upload(c, url, xlsx(wb))
    assert again.json() == {"rows": 6, "changed": 0, "written": 0, "cleared": 0}
    # Clearing a cell deletes it; the page answers 200.
    ws.cell(row=4, column=headers(ws, 3)["Nhận xét"]).value = None
    page = upload(c, url, xlsx(wb), json=False)
    assert page.status_code == 200 and not Assessment.objects.filter(student_id=an, kind="nx").exists()


def test_comment_graded_sheet_round_trip(w, klass):
    template, url = sheet_urls(klass, klass.pe)
    c = client(w, "teacher_a")
    wb = workbook(c.get(template))
    ws = wb.active
    cols = headers(ws, 3)
    assert list(cols)[4:] == ["ĐĐGtx 1", "ĐĐGtx 2", "ĐĐGtx 3", "ĐĐGgk", "ĐĐGck", "Nhận xét"]
    for key in ("ĐĐGtx 1", "ĐĐGgk", "ĐĐGck"):
        ws.cell(row=4, column=cols[key], value="Đ")
    ws.cell(row=5, column=cols["ĐĐGck"], value="cđ")
    assert upload(c, url, xlsx(wb)).json()["written"] == 4
    assert (
        Assessment.objects.get(subject=klass.pe, kind="ck", student_id=ws.cell(row=5, column=1).value).verdict == "CD"
    )


def _break(case, ws, klass, cols):
    """Spoil one row of a filled sheet; the cell or header the report must name."""
    row = 6  # the third student
    if case == "score_11":
        ws.cell(row=row, column=cols["ĐĐGck"], value=11)
        return "sheet.score_out_of_range", f"{openpyxl.utils.get_column_letter(cols['ĐĐGck'])}{row}"
    if case == "text_in_score":
        ws.cell(row=row, column=cols["ĐĐGgk"], value="bảy")
        return "sheet.not_a_number", f"{openpyxl.utils.get_column_letter(cols['ĐĐGgk'])}{row}"
    if case == "other_class":
        ws.cell(row=row, column=1, value=klass.other_students[0])
        return "sheet.student_not_in_class", f"A{row}"
    if case == "name_mismatch":
        ws.cell(row=row, column=3, value="Người Lạ Mặt")
        return "sheet.name_mismatch", f"C{row}"
    if case == "missing_id":
        ws.cell(row=row, column=1).value = None
        return "sheet.missing_student_id", f"A{row}"
    if case == "duplicate_row":
        for col in range(1, 5):
            ws.cell(row=row, column=col, value=ws.cell(row=4, column=col).value)
        return "sheet.duplicate_student", f"A{row}"
    if case == "missing_column":
        ws.delete_cols(cols["ĐĐGgk"])
        return "sheet.missing_column", "ĐĐGgk"
    if case == "id_column_deleted":
        ws.delete_cols(1)
        return "sheet.missing_id_column", "Mã HS (không sửa)"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "score_11",
        "text_in_score",
        "other_class",
        "name_mismatch",
        "missing_id",
        "duplicate_row",
        "missing_column",
        "id_column_deleted",
    ],
)
def test_a_broken_row_is_a_400_naming_the_cell_and_nothing_is_saved(w, klass, case):
    access = klass.access(w, "teacher_a")
    sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": s, "column": "tx1", "value": "5"} for s in klass.students],
    )
    before = list(Assessment.objects.order_by("pk").values_list("pk", "score", "text"))
    template, url = sheet_urls(klass)
    c = client(w, "teacher_a")
    wb = workbook(c.get(template))
    cols = fill(wb.active)
    code, where = _break(case, wb.active, klass, cols)
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    error = next(e for e in errors if e["code"] == code)
    assert where in (error["cell"], error["header"]) and where in error["detail"]
    assert error["detail"] and error["detail_en"] and error["detail"] != error["detail_en"]
    assert list(Assessment.objects.order_by("pk").values_list("pk", "score", "text")) == before


def test_the_report_page_names_every_bad_cell(w, klass):
    template, url = sheet_urls(klass)
    c = client(w, "teacher_a")
    wb = workbook(c.get(template))
    ws = wb.active
    cols = fill(ws)
    ws.cell(row=5, column=cols["ĐĐGtx 1"], value=11)  # Bình
    ws.cell(row=6, column=3, value="Người Lạ Mặt")  # Cường's row: a structural problem
    ws.cell(row=7, column=cols["ĐĐGck"], value="7,25")  # Dung
    response = upload(c, url, xlsx(wb), json=False)
    assert response.status_code == 400
    html = response.content.decode()
    tx1 = openpyxl.utils.get_column_letter(cols["ĐĐGtx 1"])
    ck = openpyxl.utils.get_column_letter(cols["ĐĐGck"])
    for cell in (f"{tx1}5", "C6", f"{ck}7"):
        assert f'data-cell="{cell}"' in html, cell
    assert "Trần Thị Bình" in html and "Chưa lưu gì" in html
    assert not Assessment.objects.exists()


def test_a_sheet_for_another_subject_term_or_kind_is_refused(w, klass):
    c = client(w, "teacher_a")
    template, _ = sheet_urls(klass, term=1)
    _, term2 = sheet_urls(klass, term=2)
    response = upload(c, term2, c.get(template).content)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "excel.wrong_sheet"
    assert "học kì I" in response.json()["errors"][0]["detail"]
    students = client(w, "homeroom_a").get(students_urls(klass)[0]).content
    _, url = sheet_urls(klass)
    assert upload(c, url, students).json()["errors"][0]["code"] == "excel.wrong_kind"
    assert not Assessment.objects.exists()


def test_who_may_download_and_import_a_sheet(w, klass):
    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    template, url = sheet_urls(klass, literature)
    teacher = client(w, "teacher_a")
    assert teacher.get(url).status_code == 403  # assigned to the class, not to the subject
    assert upload(teacher, url, b"x").status_code == 403
    other = f"/excel/classes/{klass.other_class.pk}/sheets/{klass.math.pk}/1"
    assert teacher.get(f"{other}.xlsx").status_code == 404  # not assigned to the class at all
    assert upload(teacher, f"{other}/import/", b"x").status_code == 404
    assert client(w, "principal_a").get(url).status_code == 200
    assert client(w, "teacher_b", SCHOOL_B_HOST).get(sheet_urls(klass)[0]).status_code == 404
    assert client(w, "parent_a").get(sheet_urls(klass)[0]).status_code in (403, 404)


# --------------------------------------------------------------------------------------- export


def test_export_holds_the_values_averages_and_the_year_summary(w, klass):
    access = klass.access(w, "teacher_a")
    cells = {1: ["8", "8", "8", "8", "8", "8"], 2: ["9", "9", "9", "9", "9", "9,5"]}
    for term, values in cells.items():
        sheet_save(
            access=access,
            school_class=klass.school_class,
            subject=klass.math,
            term=term,
            cells=[
                {"student": s, "column": k, "value": v}
                for s in klass.students
                for k, v in zip(["tx1", "tx2", "tx3", "tx4", "gk", "ck"], values, strict=True)
            ],
        )
    sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.pe,
        term=1,
        cells=[{"student": klass.students[0], "column": k, "value": "Đ"} for k in ("tx1", "tx2", "tx3", "gk", "ck")],
    )
    for term in (1, 2):
        Conduct.objects.create(student_id=klass.students[0], year=klass.school_class.year, term=term, level="T")
    wb = workbook(client(w, "principal_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx"))
    assert wb.sheetnames[0] == "Tổng hợp" and {"Toán", "Giáo dục thể chất"} <= set(wb.sheetnames)
    math = wb["Toán"]
    assert math.freeze_panes == "C5"
    cols = headers(math, 4)
    first = 5
    assert math.cell(row=first, column=2).value == "Nguyễn Văn An"
    average = math.cell(row=first, column=cols["ĐTBmhk I"])
    assert average.value == 8.0 and average.number_format == "0.0"
    # (5 + 2·... ) term II: (4·9 + 2·9 + 3·9.5) / 9 = 9.2; year (8 + 2·9.2) / 3 = 8.8
    assert math.cell(row=first, column=cols["ĐTBmhk II"]).value == 9.2
    assert math.cell(row=first, column=cols["ĐTBmcn"]).value == 8.8
    assert math.cell(row=3, column=cols["ĐTBmhk I"] - 6).value == "Học kì I"
    pe = wb["Giáo dục thể chất"]
    assert pe.cell(row=first, column=headers(pe, 4)["KQ HK I"]).value == "Đạt"
    summary = wb["Tổng hợp"]
    scols = headers(summary, 4)
    assert summary.cell(row=5, column=scols["Toán"]).value == 8.8
    assert summary.cell(row=5, column=scols["Rèn luyện cả năm"]).value == "Tốt"
    assert summary.column_dimensions["B"].width == 26 and summary.freeze_panes == "C5"


def test_a_subject_teacher_exports_only_their_subjects(w, klass):
    wb = workbook(client(w, "teacher_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx"))
    assert sorted(wb.sheetnames) == ["Giáo dục thể chất", "Toán"]
    assert client(w, "teacher_a").get(f"/excel/classes/{klass.other_class.pk}/export.xlsx").status_code == 404
    assert client(w, "clerk_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx").status_code in (
        403,
        404,
    )  # sees the class for profiles, no subject


def test_primary_levels_and_periodic_tests_round_trip_and_export(w, klass):
    from schools.services.common import system_access
    from schools.services.setup import class_create, school_year_open
    from schools.services.students import student_enrol

    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["primary"])
    four = class_create(access=system, year=year, name="4A", grade=4, homeroom_teacher_id=w.accounts["homeroom_a"])
    pupil = student_enrol(
        access=system,
        school_class=four,
        today=dt.date(2026, 10, 1),
        profile={"full_name": "Lò Thị Mai", "date_of_birth": "02/02/2017", "gender": "F"},
    )
    maths = Subject.objects.get(level="primary", code="toan")
    c = client(w, "principal_a")
    base = f"/excel/classes/{four.pk}/sheets/{maths.pk}/1"
    wb = workbook(c.get(f"{base}.xlsx"))
    ws = wb.active
    cols = headers(ws, 3)
    assert list(cols)[4:] == ["Mức giữa kì", "Mức cuối kì", "KTĐK giữa kì", "KTĐK cuối kì", "Nhận xét"]
    for key, value in (("Mức giữa kì", "h"), ("Mức cuối kì", "T"), ("KTĐK giữa kì", 8), ("KTĐK cuối kì", 9.0)):
        ws.cell(row=4, column=cols[key], value=value)
    assert upload(c, f"{base}/import/", xlsx(wb)).json()["written"] == 4
    assert {a.kind: (a.verdict, a.score) for a in Assessment.objects.filter(student=pupil)} == {
        "mgk": ("H", None),
        "mck": ("T", None),
        "kgk": ("", Decimal("8.0")),
        "kck": ("", Decimal("9.0")),
    }
    ws.cell(row=4, column=cols["KTĐK cuối kì"], value=8.5)
    bad = upload(c, f"{base}/import/", xlsx(wb))
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "sheet.test_score_not_integer"
    export = workbook(c.get(f"/excel/classes/{four.pk}/export.xlsx"))
    sheet = export["Toán"]
    row = [cell.value for cell in sheet[5]]
    assert "Lò Thị Mai" in row and "T" in row and 9 in row
    assert "Đánh giá cuối năm" in headers(export["Tổng hợp"], 4)
