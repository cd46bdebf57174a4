"""Every school import has a template to download — from its page and from the API — with a "Hướng dẫn" sheet naming
each column and its allowed values; the template, filled in, comes back through the importer accepted."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from schools.excel.students import EXAMPLE, FIELDS
from schools.models import Assessment, QualityAssessment, Student
from schools.services.sheets import sheet_columns
from tests.schools.test_excel_qualities import primary  # noqa: F401  (the fixture: a TT27 class)
from tests.support import SCHOOL_A_HOST, client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = {"HTTP_ACCEPT": "application/json"}


def download(c, url) -> openpyxl.Workbook:
    response = c.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX and "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def xlsx(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(c, url, wb, **extra):
    return c.post(url, {"file": SimpleUploadedFile("mau.xlsx", xlsx(wb), content_type=XLSX)}, **extra)


def guide(wb) -> dict[str, tuple[str, str]]:
    """The guide's lines: what → (Vietnamese, English)."""
    ws = wb["Hướng dẫn"]
    assert ws.sheet_state == "visible" and ws["A1"].value and ws["A2"].value
    return {r[0]: (r[1], r[2]) for r in ws.iter_rows(min_row=4, max_col=3, values_only=True) if r[0]}


def visible(wb) -> list[str]:
    return [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]


def test_the_student_list_template_explains_every_column_and_its_example_is_accepted(w, klass):
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    page = c.get(f"/excel/classes/{klass.school_class.pk}/students-import/").content.decode()
    assert f"/excel/classes/{klass.school_class.pk}/students-template.xlsx" in page  # “Tải mẫu Excel” by the form
    wb = download(c, f"/api/v1/classes/{klass.school_class.pk}/students/import/template/")
    assert visible(wb) == ["Danh sách học sinh", "Hướng dẫn"]
    lines = guide(wb)
    explains = {  # each column of the list → the guide's line that explains it
        "full_name": "Họ và tên (bắt buộc)",
        "date_of_birth": "Ngày sinh (bắt buộc)",
        "gender": "Giới tính (bắt buộc)",
        "ethnicity": "Dân tộc, Quốc tịch",
        "nationality": "Dân tộc, Quốc tịch",
        "place_of_birth": "Nơi sinh, Nơi ở",
        "address": "Nơi sinh, Nơi ở",
        "personal_id": "Số định danh cá nhân",
        "moet_code": "Mã học sinh",
        "guardian_name": "Cha/mẹ/người giám hộ",
        "guardian_relation": "Cha/mẹ/người giám hộ",
        "guardian_phone": "Cha/mẹ/người giám hộ",
    }
    assert sorted(explains) == sorted(f.key for f in FIELDS) and set(explains.values()) <= set(lines)
    assert "Nam hoặc Nữ" in lines["Giới tính (bắt buộc)"][0]
    assert {"Tất cả hoặc không", "Tệp lớn", "Ví dụ một hàng"} <= set(lines)
    assert "Ngày sinh (dd/mm/yyyy): 05/03/2014" in lines["Ví dụ một hàng"][0]
    assert all(vi and en for vi, en in lines.values())
    # The example, copied onto the list, is a valid row (the guide itself is never read as data).
    wb["Danh sách học sinh"].append(list(EXAMPLE))
    response = upload(c, f"/api/v1/classes/{klass.school_class.pk}/students/import/", wb)
    assert response.status_code == 201, response.content
    added = Student.objects.get(pk=response.json()["students"][0]["id"])
    assert (added.full_name, added.personal_id, added.guardians[0]["relation"]) == (EXAMPLE[0], EXAMPLE[7], "Cha")


def test_the_grade_sheet_template_explains_each_value_column_and_comes_back(w, klass):
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    base = f"/excel/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1"
    page = teacher.get(f"{base}/import/").content.decode()
    assert f"{base}.xlsx" in page
    wb = download(teacher, f"{base}.xlsx")
    assert len(visible(wb)) == 2 and visible(wb)[1] == "Hướng dẫn"
    lines = guide(wb)
    columns = sheet_columns(klass.math, klass.school_class, 1)
    for column in columns:
        assert column.label in lines, column.label
    assert "0–10" in lines["ĐĐGtx 1"][0] and "2000" in lines["Nhận xét"][0]
    assert "Mã HS (không sửa)" in lines and "Tất cả hoặc không" in lines
    ws = wb.worksheets[0]
    header = {cell.value: cell.column for cell in ws[3] if cell.value}
    ws.cell(row=4, column=header["ĐĐGtx 1"], value=8.5)
    ws.cell(row=5, column=header["Nhận xét"], value="Tiến bộ rõ.")
    response = upload(teacher, f"{base}/import/", wb, **JSON)
    assert response.status_code == 200 and response.json()["changed"] == 2
    # The same through the API: its template, then its upload.
    api = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/import/"
    again = download(teacher, f"{api}template/")
    again.worksheets[0].cell(row=6, column=header["ĐĐGgk"], value=7)
    response = upload(teacher, api, again)
    assert response.status_code == 200 and response.json() == {"rows": 6, "changed": 1, "written": 1, "cleared": 0}
    assert Assessment.objects.filter(student_id__in=klass.students, score__isnull=False).count() == 2


def test_the_qualities_template_explains_the_levels_and_comes_back(w, primary):  # noqa: F811
    three = primary["class"]
    c = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    base = f"/excel/classes/{three.pk}/qualities/1/mid"
    assert f"{base}.xlsx" in c.get(f"{base}/import/").content.decode()
    wb = download(c, f"/api/v1/classes/{three.pk}/qualities/1/mid/import/template/")
    lines = guide(wb)
    assert {"Phẩm chất", "Năng lực chung", "Năng lực đặc thù"} <= set(lines)
    assert "T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng)" in lines["Phẩm chất"][0]
    ws = wb.worksheets[0]
    traits = [cell.value for cell in ws[4][4:]]
    assert traits and all(
        t in lines["Phẩm chất"][0] + lines["Năng lực chung"][0] + lines["Năng lực đặc thù"][0] for t in traits
    )
    ws.cell(row=5, column=5, value="Tốt")
    ws.cell(row=6, column=5, value="Đ")
    response = upload(c, f"{base}/import/", wb, **JSON)
    assert response.status_code == 200 and response.json()["written"] == 2
    assert QualityAssessment.objects.filter(student_id__in=primary["pupils"]).count() == 2


@pytest.mark.parametrize("who", ["parent_a", "clerk_a"])
def test_the_api_imports_need_their_capability(w, klass, who):
    c = client_for(w.account(who), SCHOOL_A_HOST)
    sheet = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/import/"
    assert c.post(sheet, {}).status_code == 403  # no sheets.enter
    students = f"/api/v1/classes/{klass.school_class.pk}/students/import/template/"
    assert c.get(students).status_code == (403 if who == "parent_a" else 200)  # the clerk keeps the profiles
