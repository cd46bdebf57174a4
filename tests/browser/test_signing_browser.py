"""The signing pages in a real Chromium (issue 10): the principal of Trường TH và THCS Hòa Bình (a school no other
browser test changes) follows "sẵn sàng ký số" from the home to a class's signing page — each record's chain, who
signs next — and opens the year-end signing page; both fit a 390-px phone and a 1366-px screen without a page-wide
sideways scroll (the chain table scrolls in its box, the student's name pinned). Screenshots:
``/tmp/browser-shots/signing-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.test_phone_pages_browser import assert_fits
from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "th-thcs-hoa-binh"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
PRINCIPAL = "hoabinh.hieutruong"  # TOTP
SIZES = ({"width": 1366, "height": 768}, {"width": 390, "height": 844})


def test_the_principal_reaches_the_signing_pages_on_a_phone_and_a_laptop(site, new_context, shots):
    ((class_id, class_name),) = site.sql(
        f"SELECT c.id, c.name FROM {SCHEMA}.schools_schoolclass c JOIN {SCHEMA}.schools_schoolyear y"
        f" ON y.id = c.year_id WHERE (SELECT count(*) FROM {SCHEMA}.schools_recordbook r"
        f" WHERE r.school_class_id = c.id) >= 3 ORDER BY y.start_year DESC, c.grade, c.name LIMIT 1"
    )
    approved = site.sql(
        f"UPDATE {SCHEMA}.schools_recordbook SET state = 'approved', approved_at = now() WHERE id IN"
        f" (SELECT id FROM {SCHEMA}.schools_recordbook WHERE school_class_id = %s ORDER BY id LIMIT 3) RETURNING id",
        (class_id,),
    )
    assert len(approved) == 3

    page = new_context(viewport=SIZES[0]).new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    page.goto(site.url(SCHOOL))
    link = page.locator(f"#wait-sign li[data-class='{class_id}'] a")
    assert "Lớp " + class_name in link.inner_text()
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/classes/{class_id}/signing/")
    rows = page.locator("#chains tbody tr[data-state=approved]")
    assert rows.count() == 3
    assert "Giáo viên bộ môn" in rows.first.inner_text() or "Giáo viên chủ nhiệm" in rows.first.inner_text()
    for size in SIZES:
        page.set_viewport_size(size)
        page.reload()
        page.screenshot(path=str(shots / f"signing-class-{size['width']}.png"), full_page=True)
        assert_fits(page, f"signing page at {size['width']} px")

    page.goto(site.url(SCHOOL, "/signing/year/"))
    assert page.locator("#waiting").inner_text().strip().isdigit()
    for size in SIZES:
        page.set_viewport_size(size)
        page.reload()
        page.screenshot(path=str(shots / f"signing-year-{size['width']}.png"), full_page=True)
        assert_fits(page, f"year signing page at {size['width']} px")
