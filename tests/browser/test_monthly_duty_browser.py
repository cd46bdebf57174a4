"""The monthly-duty board in a real Chromium: an inspector of the province reads, per school of the province, the
classes without a monthly attendance or conduct update; the page fits a 390-px phone and a 1366-px screen without a
page-wide scroll (the table scrolls inside its frame). Screenshots: ``/tmp/browser-shots/duty-*``."""

from __future__ import annotations

import json

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

INSPECTOR = "so.thanhtra"  # Thanh tra cấp Sở: no second factor
CLASSES = [
    {"class_id": i, "class_name": f"{g}A{i}", "grade": g, "homeroom": i % 3 != 0}
    for i, g in enumerate([6, 6, 7, 7, 8, 8, 9, 9, 10, 11, 12], start=1)
]


def test_the_inspector_reads_the_board_on_a_phone_and_a_laptop(site, new_context, shots):
    # The figures as the beat job writes them (tenants.duty), for every school of the demo.
    site.sql(
        "INSERT INTO tenants_monthlydutycheck (school_id, month, year_start, checked_at, classes,"
        " classes_without_update, teachers_notified, without_update)"
        " SELECT id, '2026-11-01', 2026, now(), 14, %s, 8, %s::jsonb FROM tenants_school WHERE status = 'active'"
        " ON CONFLICT DO NOTHING RETURNING school_id",
        (len(CLASSES), json.dumps(CLASSES)),
    )
    (schools,) = site.sql("SELECT count(*) FROM tenants_school WHERE status = 'active'")[0]
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, site, INSPECTOR)
    page.goto(site.url(path="/"))
    page.locator("main a[href='/manage/monthly-duty/']").click()  # the home's card (the menu has it too)
    page.wait_for_load_state("load")
    page.goto(site.url(path="/manage/monthly-duty/?month=11/2026"))
    body = page.locator("main").inner_text()
    assert "Tháng 11/2026" in body and f"{len(CLASSES) * schools}/{14 * schools} lớp chưa cập nhật" in body
    assert page.locator("main table tbody tr").count() == schools
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        page.screenshot(path=str(shots / f"duty-{width}.png"), full_page=True)
        assert scroll_width <= width, f"the page scrolls sideways at {width} px ({scroll_width})"
    page.goto(site.url(path="/manage/monthly-duty/?month=13/2026"))
    assert "Tháng phải theo dạng mm/yyyy" in page.locator("main").inner_text()
