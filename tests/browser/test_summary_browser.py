"""The principal's school summary in a real Chromium against a real server (see conftest.py for the set-up).

The principal of the demo's Trường THCS Nguyễn Du opens "Tổng quan" from the menu, on a 390-px phone and at 1366 px:
the page never scrolls sideways, the per-class table scrolls in its box with the class column pinned, the chart of
completion over time is drawn with its table, and a class's link opens that class. Screenshots:
``/tmp/browser-shots/summary-*``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hocba.kernel.schoolyear import current_school_year

from tests.browser.test_records_browser import PRINCIPAL, SCHOOL, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMA = "s_" + SCHOOL.replace("-", "_")


def _seed(site) -> list[tuple[int, str]]:
    """The school's per-class rows and two weeks of daily copies, as the rollup writers leave them."""
    school_id = site.sql("SELECT id FROM tenants_school WHERE slug = %s", (SCHOOL,))[0][0]
    # The demo's latest school year (the summary shows the latest year on record up to the current one).
    year = site.sql(
        f"SELECT max(start_year) FROM {SCHEMA}.schools_schoolyear WHERE start_year <= %s", (current_school_year(),)
    )[0][0]
    classes = site.sql(
        f"SELECT c.id, c.name, c.grade FROM {SCHEMA}.schools_schoolclass c"
        f" JOIN {SCHEMA}.schools_schoolyear y ON y.id = c.year_id WHERE y.start_year = %s ORDER BY c.grade, c.name",
        (year,),
    )
    assert classes, "the demo school has classes this year"
    site.sql(
        "INSERT INTO tenants_schoolrollup (school_id, year_start, updated_at) VALUES (%s, %s, now())"
        " ON CONFLICT (school_id, year_start) DO NOTHING RETURNING 1",
        (school_id, year),
    )
    for class_id, name, grade in classes:
        site.sql(
            "INSERT INTO tenants_classrollup (school_id, year_start, class_id, name, grade, students, records_draft,"
            " sheets_required_term1, sheets_done_term1, sheets_required_term2, sheets_done_term2, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, 40, 40, 14, 9, 14, 0, now())"
            " ON CONFLICT (school_id, year_start, class_id) DO NOTHING RETURNING 1",
            (school_id, year, class_id, name, grade),
        )
    today = dt.date.today()
    for back in range(14, 0, -1):
        site.sql(
            "INSERT INTO tenants_rollupday (school_id, year_start, day, figures) VALUES (%s, %s, %s, %s::jsonb)"
            " ON CONFLICT (school_id, year_start, day) DO NOTHING RETURNING 1",
            (
                school_id,
                year,
                today - dt.timedelta(days=back),
                json.dumps(
                    {
                        "records_draft": 100 - 5 * (14 - back),
                        "records_approved": 5 * (14 - back),
                        "sheets_required_term1": 100,
                        "sheets_done_term1": 6 * (14 - back),
                    }
                ),
            ),
        )
    return [(c[0], c[1]) for c in classes]


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1366, "height": 768}])
def test_principal_reads_the_summary(site, new_context, shots, viewport):
    classes = _seed(site)
    page = new_context(viewport=viewport).new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    page.goto(site.url(SCHOOL, "/"))
    toggle = page.locator("header .menu-toggle")
    if toggle.is_visible():  # the phone's menu folds behind its button
        toggle.click()
    page.locator("header").get_by_role("link", name="Tổng quan").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/summary/")
    assert page.locator("main h1").inner_text().strip().startswith("Tổng quan trường")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    rows = page.locator("table.summary-classes tbody tr")
    assert rows.count() == len(classes)
    first = page.locator("table.summary-classes tbody td:first-child").first
    assert first.evaluate("e => getComputedStyle(e).position") == "sticky"
    chart = page.locator("#summary-days svg[role=img]")
    assert chart.count() == 1 and chart.bounding_box()["width"] <= viewport["width"]
    assert page.locator("#summary-days table.chart-table tbody tr").count() >= 14
    page.screenshot(path=str(shots / f"summary-{viewport['width']}.png"), full_page=True)
    class_id, name = classes[0]
    page.locator(f"table.summary-classes a[href='/classes/{class_id}/']").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/classes/{class_id}/") and name in page.locator("main h1").inner_text()
