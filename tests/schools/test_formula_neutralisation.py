"""Formula injection: text that starts like a formula leaves HọcBạ as the same text, never as a live formula.

Names, addresses and comments come from people; a name ``=HYPERLINK(…)`` or a comment ``=cmd|' /C calc'!A0`` must
come back from every export and template as a string cell holding exactly that text, and a template carrying one
must be accepted unchanged when uploaded again.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from hocba.kernel.spreadsheets import open_workbook, xlsx_bytes
from openpyxl import Workbook

from schools.models import Assessment, Student
from schools.services.sheets import sheet_save
from tenants.windows_import import template_bytes
from tests.schools.test_excel import client, headers, sheet_urls, students_urls, upload, workbook, xlsx

HOSTILE_NAME = '=HYPERLINK("http://evil.example/","Bấm vào đây")'
HOSTILE_ADDRESS = "=cmd|' /C calc'!A0"
HOSTILE_COMMENT = "@SUM(1+1)*cmd|' /C calc'!A0"
TRIGGERS = ["=1+2", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "＝1+1", "- Tiến bộ", "=", "-"]


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))


def _assert_text(cell, value):
    assert cell.value == value
    assert cell.data_type == "s", (cell.coordinate, cell.value, cell.data_type)


def test_the_one_writer_keeps_formula_like_text_as_text_and_numbers_as_numbers():
    wb = Workbook()
    ws = wb.active
    texts = [HOSTILE_NAME, HOSTILE_ADDRESS, HOSTILE_COMMENT, *TRIGGERS, "Nguyễn Văn An", "7,5"]
    numbers = [-7.5, -3, 0, 7.5, 10]
    ws.append(texts)
    ws.append(numbers)
    ws.cell(row=3, column=1, value="=SUM(A2:E2)")  # even a formula written on purpose leaves as its text
    content = xlsx_bytes(wb)
    assert "<f>" not in _sheet_xml(content)
    back = openpyxl.load_workbook(io.BytesIO(content)).active
    for col, value in enumerate(texts, start=1):
        _assert_text(back.cell(row=1, column=col), value)
    assert back.cell(row=1, column=1).quotePrefix  # Excel keeps it a text when the cell is edited
    assert not back.cell(row=1, column=len(texts) - 1).quotePrefix  # an ordinary name is left alone
    for col, value in enumerate(numbers, start=1):
        cell = back.cell(row=2, column=col)
        assert cell.value == value and cell.data_type == "n"
    _assert_text(back.cell(row=3, column=1), "=SUM(A2:E2)")
    # HọcBạ's own reader reads the same texts back.
    sheet = open_workbook(content).values.worksheets[0]
    assert [sheet.cell(1, c).value for c in range(1, len(texts) + 1)] == texts
    assert [sheet.cell(2, c).value for c in range(1, len(numbers) + 1)] == numbers


def _hostile_class(w, klass):
    """The first student named like a formula, with an address like one; a comment like one in math term I."""
    an = klass.students[0]
    Student.objects.filter(pk=an).update(full_name=HOSTILE_NAME, address=HOSTILE_ADDRESS)
    sheet_save(
        access=klass.access(w, "teacher_a"),
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[
            {"student": an, "column": "nx", "value": HOSTILE_COMMENT},
            {"student": an, "column": "gk", "value": "7,5"},
        ],
    )
    return an


def test_the_class_export_writes_hostile_names_and_comments_as_text(w, klass):
    _hostile_class(w, klass)
    response = client(w, "principal_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx")
    assert "<f>" not in _sheet_xml(response.content)
    wb = workbook(response)
    for title in ("Tổng hợp", "Toán"):
        ws = wb[title]
        names = [c for c in ws["B"] if c.value == HOSTILE_NAME]
        assert names, title
        for cell in names:
            _assert_text(cell, HOSTILE_NAME)
    math = wb["Toán"]
    cols: dict[str, int] = {}
    for c in math[4]:
        cols.setdefault(c.value, c.column)  # term I's columns come first
    row = next(c.row for c in math["B"] if c.value == HOSTILE_NAME)
    _assert_text(math.cell(row=row, column=cols["Nhận xét"]), HOSTILE_COMMENT)
    score = math.cell(row=row, column=cols["ĐĐGgk"])
    assert score.value == 7.5 and score.data_type == "n"


def test_the_sheet_template_round_trips_with_a_hostile_name_and_comment(w, klass):
    an = _hostile_class(w, klass)
    template, url = sheet_urls(klass)
    c = client(w, "teacher_a")
    response = c.get(template)
    assert "<f>" not in _sheet_xml(response.content)
    wb = workbook(response)
    ws = wb.active
    cols = headers(ws, 3)
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=1).value == an)
    _assert_text(ws.cell(row=row, column=cols["Họ và tên"]), HOSTILE_NAME)
    _assert_text(ws.cell(row=row, column=cols["Nhận xét"]), HOSTILE_COMMENT)
    # Uploaded again unchanged: accepted, nothing to change (before, the name came back as a formula and the
    # whole class's import was refused).
    before = list(Assessment.objects.filter(student_id=an).values_list("kind", "score", "text").order_by("kind"))
    again = upload(c, url, response.content)
    assert again.status_code == 200, again.content
    assert again.json()["changed"] == 0
    # Saved by openpyxl (as a teacher's Excel would), still accepted unchanged.
    again = upload(c, url, xlsx(wb))
    assert again.status_code == 200, again.content
    assert again.json()["changed"] == 0
    after = list(Assessment.objects.filter(student_id=an).values_list("kind", "score", "text").order_by("kind"))
    assert after == before


def test_a_student_list_with_hostile_text_is_stored_as_text_and_exported_as_text(w, klass):
    template, url = students_urls(klass)
    c = client(w, "homeroom_a")
    wb = workbook(c.get(template))
    ws = wb["Danh sách học sinh"]
    ws.append(["Ngô Bảo Châu", "05/03/2014", "Nam", None, None, "+84 Hà Nội", HOSTILE_ADDRESS])
    cell = ws.cell(row=2, column=7)
    cell.data_type = "s"  # as Excel saves a text typed with a leading apostrophe
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 201, response.content
    chau = Student.objects.get(full_name="Ngô Bảo Châu")
    assert (chau.place_of_birth, chau.address) == ("+84 Hà Nội", HOSTILE_ADDRESS)
    export = client(w, "principal_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx")
    assert export.status_code == 200 and "<f>" not in _sheet_xml(export.content)


@pytest.mark.parametrize("scope", ['=HYPERLINK("http://evil.example/","x")', "Phòng GD&ĐT An Thạnh"])
def test_the_window_calendar_template_holds_no_formula(scope):
    content = template_bytes(scope_name=scope, year_start=2025)
    assert "<f>" not in _sheet_xml(content)
    wb = openpyxl.load_workbook(io.BytesIO(content))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate)


def test_dates_and_numbers_in_templates_are_untouched(w, klass):
    sheet_save(
        access=klass.access(w, "teacher_a"),
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "gk", "value": "7,5"}],
    )
    template, _url = sheet_urls(klass)
    ws = workbook(client(w, "teacher_a").get(template)).active
    cols = headers(ws, 3)
    values = [ws.cell(row=r, column=cols["ĐĐGgk"]) for r in range(4, ws.max_row + 1)]
    assert any(c.value == 7.5 and c.data_type == "n" for c in values)
    assert all(isinstance(ws.cell(row=r, column=1).value, int) for r in range(4, ws.max_row + 1))
