"""The province and unit board in a real Chromium against a real server (see conftest.py for the set-up).

The province administrator opens the board from the menu, filters it by level and by a search typed without
accents, drills into a unit, and downloads the table as an Excel file with the same schools; a commune officer sees
only the commune's schools. The page fits a 390-px phone with the school column pinned. Screenshots:
``/tmp/browser-shots/board-*``."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

PROVINCE_ADMIN = "so.quantri"  # TOTP
COMMUNE_STAFF = "namloi.chuyenvien"


def school_names(page) -> list[str]:
    return [t.strip() for t in page.locator("table.board-schools tbody td:first-child > a").all_inner_texts()]


def test_province_admin_filters_drills_and_exports(site, new_context, shots):
    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, site, PROVINCE_ADMIN, totp=True)
    page.goto(site.url(path="/"))
    page.locator("header").get_by_role("link", name="Bảng theo dõi").first.click()
    page.wait_for_load_state("load")
    assert page.locator("main h1").inner_text().strip().startswith("Bảng theo dõi")
    every = school_names(page)
    assert {"Trường Tiểu học Nam Lợi", "Trường THCS Nguyễn Du", "Trường THPT Lê Quý Đôn"} <= set(every)
    assert page.locator("table.board-units tbody tr").count() >= 2
    page.screenshot(path=str(shots / "board-province-1366.png"), full_page=True)

    page.select_option("#board-level", "upper_secondary")
    page.locator("form.board-filters button[type=submit]").click()
    page.wait_for_load_state("load")
    assert school_names(page) == ["Trường THPT Lê Quý Đôn"]

    page.select_option("#board-level", "")
    page.fill("#board-q", "hoa binh")
    page.locator("form.board-filters button[type=submit]").click()
    page.wait_for_load_state("load")
    assert school_names(page) == ["Trường TH và THCS Hòa Bình"]

    with page.expect_download() as info:
        page.locator("#board-export").click()
    book = load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    rows = [r for r in book.active.iter_rows(min_row=5, values_only=True) if r[0]]
    assert [r[0] for r in rows] == ["Trường TH và THCS Hòa Bình"]

    # Drill-down: the unit of Nam Lợi, then the school's page.
    page.goto(site.url(path="/manage/board/"))
    page.locator("table.board-units a", has_text="Nam Lợi").first.click()
    page.wait_for_load_state("load")
    assert set(school_names(page)) == {"Trường Tiểu học Nam Lợi", "Trường TH và THCS Hòa Bình"}
    page.locator("table.board-schools a", has_text="Trường Tiểu học Nam Lợi").click()
    page.wait_for_load_state("load")
    assert "/manage/schools/" in page.url


def test_commune_officer_sees_only_their_schools_on_a_phone(site, new_context, shots):
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, site, COMMUNE_STAFF)
    page.goto(site.url(path="/manage/board/"))
    assert set(school_names(page)) == {"Trường Tiểu học Nam Lợi", "Trường TH và THCS Hòa Bình"}
    assert "Nguyễn Du" not in page.locator("main").inner_text()
    # The page itself never scrolls sideways; the table scrolls in its box with the school column pinned.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = page.locator("table.board-schools tbody td:first-child").first
    assert first.evaluate("e => getComputedStyle(e).position") == "sticky"
    page.screenshot(path=str(shots / "board-commune-390.png"), full_page=True)
    box = page.locator("table.board-schools").locator("xpath=..")
    box.evaluate("e => e.scrollLeft = 600")
    page.screenshot(path=str(shots / "board-commune-390-scrolled.png"), full_page=True)
    # A foreign school in the filter is refused in words.
    page.goto(site.url(path="/manage/board/?unit=999999"))
    assert "phạm vi theo dõi" in page.locator("main").inner_text()
