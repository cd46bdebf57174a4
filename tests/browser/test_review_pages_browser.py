"""Review of the new pages on a 390-px phone and a 1366-px screen, in a real Chromium: the platform log
(``/manage/audit/``) does not scroll sideways, and an import's report of the TT27 qualities leaves its problem column
room to be read (it was squeezed to a letter a line beside the fixed row, cell and column widths).
Screenshots: ``/tmp/browser-shots/review-*``."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.browser.test_monthly_duty_browser import INSPECTOR
from tests.browser.test_qualities_excel_browser import _stored, _upload, primary_class  # noqa: F401
from tests.browser.test_records_browser import sign_in
from tests.browser.test_schoolwork_browser import PRIMARY_HOMEROOM, PRIMARY_SCHOOL, assert_no_horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_the_platform_log_fits_a_phone_and_a_laptop(site, new_context, shots):
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, site, INSPECTOR)
    page.goto(site.url(path="/manage/audit/"))
    assert page.locator("table.history p.sentence").count() > 0
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.reload()
        assert_no_horizontal_overflow(page)
        page.screenshot(path=str(shots / f"review-audit-{width}.png"), full_page=True)


def test_a_qualities_report_is_readable_on_a_phone(site, new_context, shots, primary_class):  # noqa: F811
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, site, PRIMARY_HOMEROOM)
    page.goto(site.url(PRIMARY_SCHOOL, f"/excel/classes/{primary_class}/qualities/1/end/import/"))
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "review-qualities-import-390.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("main").get_by_role("link", name="Tải mẫu Excel").click()
    with open(download.value.path(), "rb") as f:
        wb = openpyxl.load_workbook(io.BytesIO(f.read()))
    ws = wb.active
    headers = {c.value: c.column for c in ws[4] if c.value}
    ws.cell(row=5, column=headers["Nhân ái"], value="Khá")  # not a TT27 level
    out = io.BytesIO()
    wb.save(out)
    before = _stored(site, primary_class)
    assert _upload(page, out.getvalue()).status == 400
    assert _stored(site, primary_class) == before
    assert_no_horizontal_overflow(page)
    table = page.locator("table.excel-report").bounding_box()
    problem = page.locator("table.excel-report tbody tr td").nth(3).bounding_box()
    page.screenshot(path=str(shots / "review-qualities-report-390.png"), full_page=True)
    print(f"report at 390 px: table {table['width']:.0f} px, problem column {problem['width']:.0f} px")
    assert problem["width"] >= 0.4 * table["width"], (problem, table)  # squeezed: 40 of 358 px
