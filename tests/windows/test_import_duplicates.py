"""The window calendar import refuses duplicated windows, within the file and against the scope's existing
windows, naming the row; all or nothing as before."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import AdministrativeUnit, PlatformAuditEntry, Window
from tenants.services import windows as svc
from tenants.windows_import import calendar_import, parse_local
from tests.school_fixtures import current_school_year

YEAR = current_school_year(timezone.localdate())
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OPENS, LOCKS = f"05/09/{YEAR} 07:00", f"10/01/{YEAR + 1} 17:00"


def calendar(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _counts() -> tuple[int, int]:
    return Window.objects.count(), PlatformAuditEntry.objects.count()


def test_identical_rows_in_one_file_are_refused_and_nothing_is_saved(w):
    unit = AdministrativeUnit.objects.get(pk=w.unit_a)
    content = calendar(
        [
            ["scores_1", "6-9", OPENS, LOCKS, "Kế hoạch"],  # line 2
            ["conduct", "", OPENS, LOCKS, ""],  # line 3
            ["Điểm, nhận xét học kì I", "THCS", OPENS, LOCKS, "lặp lại"],  # line 4: same as line 2 (THCS = 6-9)
            ["scores_1", "6, 7", OPENS, LOCKS, ""],  # line 5: other grades, not a duplicate
        ]
    )
    before = _counts()
    report = calendar_import(actor=None, content=content, year_start=YEAR, unit=unit)
    assert not report.ok and report.created == 0
    assert [(r.line, r.code) for r in report.failed] == [(4, "windows.import_duplicate_row")]
    assert "dòng 2" in report.failed[0].message and "row 2" in report.failed[0].message_en
    assert all(r.window_id is None for r in report.rows)
    assert _counts() == before


def test_a_row_repeating_an_existing_window_is_refused_with_its_line(w):
    unit = AdministrativeUnit.objects.get(pk=w.unit_a)
    svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=parse_local(OPENS),
        locks_at=parse_local(LOCKS),
        unit=unit,
        grades=[9, 8, 7, 6],
    )
    content = calendar(
        [
            ["attendance", "", OPENS, LOCKS, ""],  # line 2: fine
            ["scores_1", "6-9", OPENS, LOCKS, ""],  # line 3: the existing window again
        ]
    )
    before = _counts()
    report = calendar_import(actor=None, content=content, year_start=YEAR, unit=unit)
    assert [(r.line, r.code) for r in report.failed] == [(3, "windows.import_duplicate_existing")]
    assert OPENS in report.failed[0].message and "already" in report.failed[0].message_en
    assert _counts() == before


def test_the_same_window_elsewhere_or_cancelled_is_no_duplicate(w):
    unit_a = AdministrativeUnit.objects.get(pk=w.unit_a)
    unit_b = AdministrativeUnit.objects.get(pk=w.unit_b)
    cancelled = svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=parse_local(OPENS),
        locks_at=parse_local(LOCKS),
        unit=unit_a,
    )
    svc.window_cancel(actor=None, window=cancelled)
    svc.window_create(
        actor=None,
        category="scores_1",
        year_start=YEAR,
        opens_at=parse_local(OPENS),
        locks_at=parse_local(LOCKS),
        unit=unit_b,
    )
    report = calendar_import(
        actor=None, content=calendar([["scores_1", "", OPENS, LOCKS, ""]]), year_start=YEAR, unit=unit_a
    )
    assert report.ok and report.created == 1


def test_duplicates_through_the_api_and_the_page(w, login):
    client = APIClient(HTTP_HOST="hocba.localhost")
    client.force_authenticate(w.account("unit_a_admin"))
    content = calendar([["conduct", "", OPENS, LOCKS, ""], ["Rèn luyện", None, OPENS, LOCKS, "hai lần"]])
    before = _counts()
    response = client.post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_a, "year_start": YEAR, "file": SimpleUploadedFile("lich.xlsx", content, content_type=XLSX)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "windows.import_failed"
    assert [(r["line"], r["code"]) for r in body["rows"] if not r["ok"]] == [(3, "windows.import_duplicate_row")]
    assert body["rows"][1]["detail"].startswith("Trùng với dòng 2") and "row 2" in body["rows"][1]["detail_en"]
    assert _counts() == before
    page = login("unit_a_admin").post(
        "/manage/windows/import/",
        {
            "scope": f"unit:{w.unit_a}",
            "year_start": YEAR,
            "file": SimpleUploadedFile("lich.xlsx", content, content_type=XLSX),
        },
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert 'data-line="3" class="row-error"' in text and 'data-code="windows.import_duplicate_row"' in text
    assert _counts() == before
