"""Hostile uploads through every import: each bomb is a 400 naming the limit it broke, nothing is written, and the
web process neither spends 2 s nor grows 50 MB on it (the findings: 21–35 s and +415 MB before a 400 or a 200).

The bombs are built in ``hostile_files``; the reader is ``hocba.kernel.spreadsheets.open_workbook``/``read_table``.
Run with ``-s`` to see the measured time and peak memory of each upload.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hocba.kernel import spreadsheets
from rest_framework.test import APIClient

from schools.models import Assessment, QualityAssessment, Student
from tenants.models import School, Window
from tenants.services import schools as school_services
from tests.platform import hostile_files as bombs
from tests.schools.test_excel import client, sheet_urls, students_urls, upload
from tests.schools.test_excel_qualities import primary  # noqa: F401 - the fixture of the qualities import
from tests.schools.test_excel_qualities import upload as qualities_upload
from tests.support import client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = 2025
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 50 * 1024 * 1024

# What each bomb must be refused for, and words of the refusal that name the limit.
EXPECTED = {
    "unpacks_to_50_mb": ("excel.part_too_large", "quá giới hạn 12 MB"),
    "declares_a1_xfd3000": ("excel.declared_too_large", "A1:XFD3000"),
    "too_many_rows": ("excel.too_many_rows", "quá 3000 hàng"),
    "huge_xml": ("excel.too_many_cells", "quá 300000 ô"),
    "one_giant_row": ("excel.too_many_cells", "quá 300000 ô"),
    "many_strings": ("excel.too_many_strings", "quá 100000 chuỗi"),
    "billion_laughs": ("excel.doctype", "DOCTYPE"),
    "not_a_zip": ("excel.not_a_workbook", "(.xlsx)"),
}


@dataclass(frozen=True)
class Entry:
    """One import: how to post a file to it, and how much it has written (which must not change)."""

    post: Callable
    written: Callable
    needs_class: bool = True
    fixture: str = "klass"  # the school's class the import is for (``primary``: a TT27 class of school A)


def _sheet(w, klass, content):
    return upload(client(w, "teacher_a"), sheet_urls(klass)[1], content)


def _students(w, klass, content):
    return upload(client(w, "homeroom_a"), students_urls(klass)[1], content)


def _qualities(w, tt27_class, content):
    url = f"/excel/classes/{tt27_class['class'].pk}/qualities/1/mid/import/"
    return qualities_upload(client(w, "homeroom_a"), url, content)


def _file(content, name="tep.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX)


def _windows_page(w, _klass, content):
    return client_for(w.account("unit_a_admin")).post(
        "/manage/windows/import/", {"scope": f"unit:{w.unit_a}", "year_start": YEAR, "file": _file(content)}
    )


def _api(w, name):
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.force_authenticate(w.account(name))
    return api


def _windows_api(w, _klass, content):
    return _api(w, "unit_a_admin").post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_a, "year_start": YEAR, "file": _file(content)},
        format="multipart",
    )


def _provision_page(w, _klass, content):
    return client_for(w.account("province_admin")).post("/manage/schools/provision/", {"file": _file(content)})


def _provision_api(w, _klass, content):
    return _api(w, "province_admin").post("/api/v1/schools/provision/", {"file": _file(content)}, format="multipart")


ENTRIES = {
    "sheet_import": Entry(_sheet, lambda: Assessment.objects.count()),
    "student_import": Entry(_students, lambda: Student.objects.count()),
    "qualities_import": Entry(_qualities, lambda: QualityAssessment.objects.count(), fixture="primary"),
    "window_import_page": Entry(_windows_page, lambda: Window.objects.count(), needs_class=False),
    "window_import_api": Entry(_windows_api, lambda: Window.objects.count(), needs_class=False),
    "provision_page": Entry(_provision_page, lambda: School.objects.count(), needs_class=False),
    "provision_api": Entry(_provision_api, lambda: School.objects.count(), needs_class=False),
}

MEASURED: list[tuple[str, str, int, float, float]] = []


def _measure(post):
    start = time.perf_counter()
    response = post()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        again = post()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert again.status_code == response.status_code
    return response, seconds, peak


@pytest.fixture
def school_class(request, w):
    """The class fixture only for the imports of a school (it enters the school's schema)."""
    entry = ENTRIES[request.node.callspec.params["entry"]]
    if entry.needs_class:
        return request.getfixturevalue(entry.fixture)
    return None


@pytest.mark.parametrize("bomb", list(bombs.BOMBS))
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_bomb_is_a_cheap_400_naming_its_limit_and_writes_nothing(w, school_class, entry, bomb):
    content = bombs.BOMBS[bomb]()
    target = ENTRIES[entry]
    before = target.written()
    response, seconds, peak = _measure(lambda: target.post(w, school_class, content))
    MEASURED.append((entry, bomb, len(content), seconds, peak))
    print(f"\n{entry:20} {bomb:20} {len(content) // 1024:6} KB {seconds * 1000:7.0f} ms peak {peak / 2**20:6.1f} MB")
    body = response.content.decode()
    code, words = EXPECTED[bomb]
    assert response.status_code == 400, body[:1000]
    if bomb == "not_a_zip" and entry.startswith("provision"):
        code = "provision.bad_file"
    if response["Content-Type"].startswith("application/json"):
        assert code in body, body[:1000]
    assert words in body, body[:2000]
    assert target.written() == before
    assert seconds < MAX_SECONDS
    assert peak < MAX_PEAK_BYTES


# --------------------------------------------------------------------------------------- the reader itself


def test_a_ratio_bomb_is_refused_from_the_zip_directory():
    """A part under the size limit that compresses far more than any spreadsheet does."""
    content = bombs.workbook_with({bombs.SHEET: [b" " * (8 * 1024 * 1024)]})
    with pytest.raises(spreadsheets.ImportFailed) as info:
        spreadsheets.open_workbook(content)
    problem = info.value.problems[0]
    assert problem.code == "excel.compression_ratio" and "giới hạn 100 lần" in problem.message


def _first_sheet(content: bytes) -> spreadsheets.ReadSheet:
    return spreadsheets.open_workbook(content).values.worksheets[0]


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HOCBA_SHEET_MAX_ROWS", "10")
    monkeypatch.setenv("HOCBA_SHEET_MAX_COLUMNS", "3")
    assert (spreadsheets.limits().rows, spreadsheets.limits().columns) == (10, 3)
    rows = [f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>'.encode() for i in range(1, 40)]
    with pytest.raises(spreadsheets.ImportFailed) as info:
        assert _first_sheet(bombs.workbook_with({bombs.SHEET: bombs.sheet_xml(rows)})).max_row
    assert info.value.problems[0].code == "excel.too_many_rows" and "quá 10 hàng" in info.value.problems[0].message
    wide = [b'<row r="1"><c r="D1"><v>1</v></c></row>']
    with pytest.raises(spreadsheets.ImportFailed) as info:
        assert _first_sheet(bombs.workbook_with({bombs.SHEET: bombs.sheet_xml(wide)})).max_row
    problem = info.value.problems[0]
    assert problem.code == "excel.too_many_columns" and "D1" in problem.message and "3 cột" in problem.message
    monkeypatch.setenv("HOCBA_SHEET_MAX_ROWS", "not a number")
    assert spreadsheets.limits().rows == spreadsheets.MAX_ROWS


def test_a_workbook_is_read_once_with_cached_values_and_uncomputed_formulas_told_apart():
    rows = [
        b'<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f>1+2</f></c><c r="C1" t="str"><f>"x"</f>'
        b"<v>x</v></c></row>"
    ]
    upload = spreadsheets.open_workbook(bombs.workbook_with({bombs.SHEET: bombs.sheet_xml(rows)}))
    ws = upload.values.worksheets[0]
    assert [ws.cell(1, c).value for c in (1, 2, 3)] == [2, None, "x"]
    assert not upload.is_uncomputed_formula(ws.title, 1, 1, 2)
    assert upload.is_uncomputed_formula(ws.title, 1, 2, None)
    assert ws.max_row == 1 and ws.max_column == 3


def test_rows_are_never_padded_to_the_declared_width():
    rows = [b'<row r="1"><c r="A1"><v>1</v></c></row>', b'<row r="2"><c r="B2"><v>2</v></c></row>']
    ws = spreadsheets.open_workbook(
        bombs.workbook_with({bombs.SHEET: bombs.sheet_xml(rows, "A1:CV2")})
    ).values.worksheets[0]
    assert ws.max_column == 2
    assert [tuple(c.value for c in row) for row in ws.iter_rows()] == [(1, None), (None, 2)]


# --------------------------------------------------------------------------------------- CSV


def test_a_csv_with_a_bom_and_semicolons_is_read():
    content = "\ufeffcode;name;levels;unit_code;slug\r\n99400001;Trường THCS Chấm Phẩy;THCS;99-AT;thcs-cham-phay\r\n"
    rows = school_services.read_school_rows("truong.csv", content.encode("utf-8"))
    assert rows == [
        (
            2,
            {
                "code": "99400001",
                "name": "Trường THCS Chấm Phẩy",
                "levels": "THCS",
                "unit_code": "99-AT",
                "slug": "thcs-cham-phay",
            },
        )
    ]


@pytest.mark.parametrize(
    "text,encoding",
    [
        ("code\tname\tlevels\tunit_code\tslug\n1\tA\tTHCS\t99-AT\ta-b-c\n", "utf-16"),
        ("code,name,levels,unit_code,slug\n1,A,THCS,99-AT,a-b-c\n", "utf-8"),
    ],
)
def test_tab_separated_utf16_and_plain_csv_are_read(text, encoding):
    rows = school_services.read_school_rows("truong.csv", text.encode(encoding))
    assert rows[0][1]["slug"] == "a-b-c"


def test_missing_headers_name_what_was_found_and_how_the_file_was_split(w):
    content = "\ufeffmã;tên;cấp\n1;A;THCS\n".encode()
    response = client_for(w.account("province_admin")).post(
        "/manage/schools/provision/", {"file": SimpleUploadedFile("truong.csv", content, content_type="text/csv")}
    )
    body = response.content.decode()
    assert response.status_code == 400, body[:1000]
    assert "phân tách bằng dấu chấm phẩy" in body and "mã | tên | cấp" in body
    with pytest.raises(spreadsheets.ImportFailed):
        spreadsheets.read_csv(b"x," * 300 + b"\n")


def test_a_csv_over_the_row_limit_is_refused(w):
    content = ("code,name,levels,unit_code,slug\n" + "1,A,THCS,99-AT,a-b-c\n" * 3500).encode()
    before = School.objects.count()
    start = time.perf_counter()
    response = _api(w, "province_admin").post(
        "/api/v1/schools/provision/",
        {"file": SimpleUploadedFile("truong.csv", content, content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 400 and "quá 3000 hàng" in response.content.decode()
    assert time.perf_counter() - start < MAX_SECONDS and School.objects.count() == before
