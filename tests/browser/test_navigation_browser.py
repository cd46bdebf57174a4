"""The header and the breadcrumbs in a real Chromium against a real server (see conftest.py for the set-up).

On a 390 × 844 phone the header is one line (brand, school, "Menu"); the Menu button opens the sections and the
account entries from the keyboard, the sign-out is reachable, Escape closes the menu, and no page scrolls sideways.
At 1366 × 768 the sections show in a row and the account opens under the person's name.
Screenshots: ``/tmp/browser-shots/nav-*.png``.
"""

from __future__ import annotations

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHOOL_NAME = "Trường THCS Nguyễn Du"
VICE = "nguyendu.phohieutruong"  # Phó hiệu trưởng: no second factor
INSPECTOR = "so.thanhtra"  # Thanh tra cấp Sở: no second factor
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}

NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"
# The header and the breadcrumbs stay inside the screen (on pages whose own tables may still be wider than a phone).
CHROME_FITS = """() => [...document.querySelectorAll('header.top, header.top *, nav.crumbs, nav.crumbs *')]
    .every(e => e.getBoundingClientRect().right <= innerWidth + 0.5)"""
# What sticks out on the right, to name it when a page scrolls sideways.
WIDE = """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5
    && !e.closest('.table-scroll')).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id)"""


def boxes(page, selector: str) -> list[dict]:
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, right: r.right, bottom: r.bottom, height: r.height}; })"
    )


def test_the_header_on_a_phone_and_on_a_desktop(site, new_context, shots):
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, site, VICE)
    assert page.url == site.url(SCHOOL), page.url
    page.goto(site.url(SCHOOL, "/classes/"))

    # One line, at most 56 px: the brand, the school's name (cut if it must be) and the Menu button side by side.
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 56, header
    line = [page.locator(s).bounding_box() for s in ("header .brand", "header .scope", "header .menu-toggle")]
    for box in line:
        assert box["y"] >= header["y"] and box["y"] + box["height"] <= header["y"] + header["height"] + 0.5, line
        assert box["x"] + box["width"] <= PHONE["width"], line
    assert page.locator("header .scope").inner_text().strip() == SCHOOL_NAME
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)
    toggle = page.locator("header .menu-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("#site-menu").is_visible()
    logout = page.locator("header form.logout button")
    assert not logout.is_visible()
    # The breadcrumbs wrap inside the screen.
    crumbs = page.locator("nav.crumbs")
    assert crumbs.get_by_role("link", name=SCHOOL_NAME).get_attribute("href") == "/"
    assert crumbs.locator("[aria-current=page]").inner_text().strip() == "Lớp học"
    assert crumbs.bounding_box()["x"] + crumbs.bounding_box()["width"] <= PHONE["width"]
    page.screenshot(path=str(shots / "nav-phone-closed.png"))

    # The keyboard opens it: Tab to the button (after the skip link and the brand), Enter.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "menu-toggle"
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    menu = page.locator("#site-menu")
    assert menu.is_visible()
    sections = menu.locator("ul.sections a")
    assert sections.all_inner_texts() == [
        "Trang chủ",
        "Tổng quan",
        "Lớp học",
        "Thiết lập năm học",
        "Cán bộ",
        "Lịch mở/khóa",
    ]
    assert menu.locator("a[aria-current=page]").inner_text() == "Lớp học"
    # the next Tab goes into the menu, to its first section
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Trang chủ"
    # the account entries and the sign-out are in the open menu, on the screen
    for name in ("Tài khoản", "Xác thực hai lớp", "Mã truy cập API"):
        assert menu.get_by_role("link", name=name, exact=True).is_visible()
    assert logout.is_visible()
    assert logout.inner_text().strip() == f"Đăng xuất ({VICE})"
    logout.scroll_into_view_if_needed()
    box = logout.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)
    page.screenshot(path=str(shots / "nav-phone-open.png"))

    # Escape closes it and gives the focus back to the button; a click on a section goes there.
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false" and not menu.is_visible()
    assert page.evaluate("document.activeElement.className") == "menu-toggle"
    toggle.click()
    menu.get_by_role("link", name="Thiết lập năm học").click()
    page.wait_for_url(site.url(SCHOOL, "/setup/"))
    assert page.locator("#site-menu a[aria-current=page]").text_content() == "Thiết lập năm học"
    assert page.locator("header.top").bounding_box()["height"] <= 56
    assert page.evaluate(CHROME_FITS)
    page.goto(site.url(SCHOOL))
    assert page.locator("header.top").bounding_box()["height"] <= 56
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)

    # The same person at 1366: the sections in a row, the Menu button gone, the account under the name.
    page.set_viewport_size(DESKTOP)
    page.goto(site.url(SCHOOL, "/classes/"))
    assert not toggle.is_visible()
    row = boxes(page, "#site-menu ul.sections a")
    assert len(row) == 6 and len({round(b["y"]) for b in row}) == 1, row
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 56, header
    account = page.locator("header .account-toggle")
    assert account.is_visible() and account.inner_text().strip() == VICE
    assert not logout.is_visible()
    account.click()
    assert account.get_attribute("aria-expanded") == "true" and logout.is_visible()
    page.screenshot(path=str(shots / "nav-desktop-school.png"))
    page.mouse.click(700, 500)  # a click elsewhere closes it
    assert account.get_attribute("aria-expanded") == "false" and not logout.is_visible()

    # Back on the phone, the sign-out works from the menu.
    page.set_viewport_size(PHONE)
    toggle.click()
    logout.click()
    page.wait_for_load_state("load")
    assert "/accounts/login/" in page.url, page.url


def test_the_platform_menu_at_1366_and_390(site, new_context, shots):
    page = new_context(viewport=DESKTOP).new_page()
    sign_in(page, site, INSPECTOR)
    page.goto(site.url(path="/manage/schools/"))
    expected = [
        "Trang chủ",
        "Bảng theo dõi",
        "Thống kê",
        "Đơn vị",
        "Trường học",
        "Lịch mở/khóa",
        "Cập nhật hằng tháng",
        "Nhật ký",
    ]
    assert page.locator("#site-menu ul.sections a").all_inner_texts() == expected
    row = boxes(page, "#site-menu ul.sections a")
    assert len({round(b["y"]) for b in row}) == 1, row
    assert page.locator("#site-menu a[aria-current=page]").inner_text() == "Trường học"
    assert page.locator("header.top").bounding_box()["height"] <= 56
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)
    page.screenshot(path=str(shots / "nav-desktop-platform.png"))

    page.set_viewport_size(PHONE)
    for path in ("/", "/manage/units/", "/manage/schools/", "/manage/windows/", "/manage/audit/"):
        page.goto(site.url(path=path))
        assert page.locator("header.top").bounding_box()["height"] <= 56, path
        assert page.evaluate(CHROME_FITS), path
        assert page.locator("nav.crumbs li").first.inner_text().strip() == "Trang chủ", path
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)  # the last one, the audit log, fits whole
    page.locator("header .menu-toggle").click()
    assert page.locator("#site-menu ul.sections a").all_inner_texts() == expected
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDE)
    page.screenshot(path=str(shots / "nav-phone-platform-open.png"))
