"""TT27 qualities and competencies through Excel in a real Chromium, at a phone's width (390 px) and a laptop's
(1366 px): from the qualities page to the import page, a file with a bad cell comes back as the report naming the
cell (nothing saved), the corrected file saves the levels typed the way teachers type them."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.browser.test_records_browser import sign_in
from tests.browser.test_schoolwork_browser import (
    PRIMARY_HOMEROOM,
    PRIMARY_SCHEMA,
    PRIMARY_SCHOOL,
    assert_no_horizontal_overflow,
    assert_vietnamese_only,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHECKPOINT = (2, "mid")  # not the checkpoint the keyboard test writes (1, mid)


@pytest.fixture(scope="module")
def primary_class(site) -> int:
    classes = site.sql(f"select id from {PRIMARY_SCHEMA}.schools_schoolclass where name = '1A1'")
    assert classes, "the demo seeds the primary class 1A1"
    return classes[0][0]


def _stored(site, class_id: int) -> dict[tuple[int, str], str]:
    term, checkpoint = CHECKPOINT
    rows = site.sql(
        f"select q.student_id, q.code, q.level from {PRIMARY_SCHEMA}.schools_qualityassessment q"
        f" join {PRIMARY_SCHEMA}.schools_enrolment e on e.student_id = q.student_id"
        " where e.school_class_id = %s and q.term = %s and q.checkpoint = %s",
        (class_id, term, checkpoint),
    )
    return {(s, c): lv for s, c, lv in rows}


def _upload(page, content: bytes):
    form = page.locator("main form[enctype='multipart/form-data']")
    form.locator("input[name=file]").set_input_files(
        {
            "name": "pham-chat.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": content,
        }
    )
    with page.expect_navigation() as nav:
        form.locator("button[type=submit]").click()
    return nav.value


@pytest.mark.parametrize("width", [390, 1366])
def test_qualities_from_excel_bad_cell_then_saved(site, new_context, shots, primary_class, width):
    term, checkpoint = CHECKPOINT
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    sign_in(page, site, PRIMARY_HOMEROOM)
    page.goto(site.url(PRIMARY_SCHOOL, f"/year-end/classes/{primary_class}/qualities/{term}/{checkpoint}/"))
    links = page.locator("#qualities-excel")
    assert links.get_by_role("link", name="Tải mẫu Excel").count() == 1
    links.get_by_role("link", name="Nhập từ Excel").click()
    page.wait_for_url(f"**/excel/classes/{primary_class}/qualities/{term}/{checkpoint}/import/")
    assert_vietnamese_only(page)
    assert_no_horizontal_overflow(page)

    with page.expect_download() as download:
        page.locator("main").get_by_role("link", name="Tải mẫu Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as f:
        content = f.read()
    wb = openpyxl.load_workbook(io.BytesIO(content))
    ws = wb.active
    headers = {c.value: c.column for c in ws[4] if c.value}
    first_id = ws.cell(row=5, column=1).value
    ws.cell(row=5, column=headers["Yêu nước"], value="tốt")
    ws.cell(row=5, column=headers["Nhân ái"], value="Khá")  # not a TT27 level
    out = io.BytesIO()
    wb.save(out)
    before = _stored(site, primary_class)
    response = _upload(page, out.getvalue())
    assert response.status == 400
    bad = page.locator("table.excel-report tr[data-code='class.bad_quality_level']")
    assert bad.count() == 1 and "Khá" in bad.inner_text()
    assert_vietnamese_only(page)
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / f"qualities-excel-report-{width}.png"), full_page=True)
    assert _stored(site, primary_class) == before  # nothing saved

    page.go_back()
    ws.cell(row=5, column=headers["Nhân ái"], value="Cần cố gắng")
    out = io.BytesIO()
    wb.save(out)
    response = _upload(page, out.getvalue())
    assert response.status == 200
    assert "mức được ghi" in page.locator("ul.messages").inner_text()
    stored = _stored(site, primary_class)
    assert stored[(first_id, "yeu_nuoc")] == "T" and stored[(first_id, "nhan_ai")] == "C"
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(shots / f"qualities-excel-saved-{width}.png"), full_page=True)
