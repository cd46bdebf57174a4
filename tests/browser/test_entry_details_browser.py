"""Entry details in a real Chromium against a real server (see conftest.py for the set-up).

"Before saving, a bad cell is only underlined and the row's average silently disappears; long comments are cut in
the cell; attendance opens on a Sunday, one day at a time with no calendar": on 6A1's Toán sheet (term I, entered
by the demo's seed) a bad cell says why under itself and on focus, its row's average reads "?" with the blocking
cell in its title, the bar counts the bad cells, a save is refused on the page with the focus on the bad cell, and
fixing it brings the average back; a 900-character comment stays whole after the save and a reload; the homeroom
teacher's attendance opens on a school day and its month grid moves month by month and saves a day's mark.
Screenshots at 1366 and 390 px wide: ``/tmp/browser-shots/entry-*``.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.test_records_browser import HOMEROOM_TEACHER, SCHOOL, SUBJECT_TEACHER, accept_dialogs, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMA = "s_" + SCHOOL.replace("-", "_")
COMMENT = (
    "Em chăm chỉ, tiếp thu bài nhanh, tích cực phát biểu xây dựng bài; trình bày vở sạch sẽ, cẩn thận. "
    "Cần luyện thêm kĩ năng giải bài toán có lời văn và kiểm tra lại kết quả trước khi nộp bài. "
) * 5
COMMENT = COMMENT[:899].rstrip() + "."
WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _sheet_ids(site) -> tuple[int, int]:
    ((klass, subject),) = site.sql(
        f"select c.id, s.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        f" join {SCHEMA}.schools_teachingassignment t on t.school_class_id = c.id"
        f" join {SCHEMA}.schools_subject s on s.id = t.subject_id"
        " where c.name = '6A1' and y.start_year = 2025 and s.code = 'toan'"
    )
    return klass, subject


def _no_page_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_bad_cell_says_why_and_blocks_its_average_and_a_long_comment_stays_whole(site, new_context, shots):
    klass, subject = _sheet_ids(site)
    url = site.url(SCHOOL, f"/classes/{klass}/sheets/{subject}/1/")
    page = new_context(viewport=WIDE).new_page()
    accept_dialogs(page)
    sign_in(page, site, SUBJECT_TEACHER)
    page.goto(url)
    headers = page.locator("#sheet thead th").all_inner_texts()
    assert "ĐTBmhk I" in headers and "ĐTBmhk II" not in headers and "ĐTBmcn" not in headers, headers
    first = page.locator("#sheet tbody tr").first
    average = first.locator("td[data-computed=term1]")
    before = average.inner_text().strip()
    assert re.fullmatch(r"\d+,\d", before), f"the demo's term I average is missing: {before!r}"
    cell = first.locator("input[data-column=tx1]")
    original = cell.input_value()
    td = first.locator("td.cell", has=page.locator("input[data-column=tx1]"))

    # Each kind of bad value: a short note under the cell, the whole message as its description, "?" for the row.
    for typed, note, why in (
        ("11", "Lớn hơn 10", "11 lớn hơn 10."),
        ("abc", "Không phải số", "“abc” không phải là số."),
        ("7,55", "Quá 1 số lẻ", "7,55 có quá một chữ số thập phân."),
        ("T", "Cần điểm số", "“T” là mức hoặc nhận xét, không phải điểm số."),
    ):
        cell.fill(typed)
        shown = td.locator(".cell-note")
        assert shown.is_visible() and shown.inner_text().strip() == note, (typed, shown.inner_text())
        assert cell.get_attribute("aria-invalid") == "true"
        described = cell.get_attribute("aria-describedby")
        message = page.locator(f"#{described}").inner_text().strip()
        assert message.startswith(why) and "Điểm từ 0 đến 10" in message, message
        assert average.inner_text().strip() == "?"
        assert average.get_attribute("title") == f"Chưa tính được: ô ĐĐGtx 1 (“{typed}”) chưa hợp lệ."
    cell.fill("11")
    cell.focus()
    assert td.locator(".cell-msg").is_visible()  # the whole message shows while the cell has the focus
    count = page.locator("#sheet-invalid")
    assert count.is_visible() and count.inner_text().strip() == "1 ô chưa hợp lệ"
    page.screenshot(path=str(shots / "entry-sheet-invalid-1366.png"), full_page=True)

    # Saving is refused on the page: no request, the focus back on the bad cell, the status says why.
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.locator("#sheet-save").click()
    status = page.locator("#sheet-status")
    assert status.inner_text().startswith("Chưa lưu: bảng điểm có 1 ô chưa hợp lệ."), status.inner_text()
    assert page.evaluate("() => document.activeElement.dataset.column") == "tx1"
    page.keyboard.press("Control+s")
    page.wait_for_timeout(300)
    assert puts == []

    # Fixing the cell brings the average back (live, then the server's after Escape restores the value).
    cell.fill("9")
    assert td.locator(".cell-note").count() == 0 and cell.get_attribute("aria-invalid") is None
    assert re.fullmatch(r"\d+,\d", average.inner_text().strip()) and "blocked" not in average.get_attribute("class")
    assert count.is_hidden()
    cell.focus()
    page.keyboard.press("Escape")
    assert cell.input_value() == original and average.inner_text().strip() == before

    # A 900-character comment: typed in the comment box, saved, whole after a reload (no cut, no inner scroll).
    third = page.locator("#sheet tbody tr").nth(2)
    box = third.locator("textarea[data-column=nx]")
    box.fill(COMMENT)
    box.focus()
    counter = third.locator(".char-count")
    assert counter.is_visible() and counter.inner_text().strip() == f"{len(COMMENT)}/2000 ký tự"
    with page.expect_response(lambda r: r.request.method == "PUT" and "/sheets/" in r.url) as put:
        page.keyboard.press("Control+s")
    assert put.value.status == 200, put.value.text()[:300]
    status.filter(has_text="Đã lưu").wait_for()

    def whole(locator) -> bool:
        return locator.evaluate("el => el.scrollHeight <= el.clientHeight + 1 && el.value.length > 800")

    assert box.input_value() == COMMENT and whole(box)
    page.reload()
    box = page.locator("#sheet tbody tr").nth(2).locator("textarea[data-column=nx]")
    assert box.input_value() == COMMENT and whole(box)
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "entry-sheet-comment-1366.png"), full_page=True)

    # The same at 390 px: the note under a bad cell and the "?" are there, the page itself does not overflow.
    phone = new_context(viewport=PHONE, storage_state=page.context.storage_state()).new_page()
    accept_dialogs(phone)
    phone.goto(url)
    phone_cell = phone.locator("#sheet tbody tr").first.locator("input[data-column=tx1]")
    phone_cell.fill("abc")
    assert phone.locator("#sheet tbody tr").first.locator(".cell-note").is_visible()
    assert phone.locator("#sheet tbody tr").first.locator("td[data-computed=term1]").inner_text().strip() == "?"
    assert _no_page_overflow(phone)
    phone.screenshot(path=str(shots / "entry-sheet-invalid-390.png"), full_page=True)
    phone_cell.focus()
    phone.keyboard.press("Escape")


def test_attendance_opens_on_a_school_day_and_its_month_grid_moves_and_saves(site, new_context, shots):
    klass, _subject = _sheet_ids(site)
    page = new_context(viewport=WIDE).new_page()
    accept_dialogs(page)
    sign_in(page, site, HOMEROOM_TEACHER)
    page.goto(site.url(SCHOOL, f"/classes/{klass}/attendance/"))
    shown = dt.date.fromisoformat(page.locator("#day").input_value())
    assert shown.weekday() != 6 and shown <= dt.date.today() + dt.timedelta(days=1)  # not a Sunday, not after today
    assert shown.strftime("%d/%m/%Y") in page.locator("#day-text").inner_text()
    page.screenshot(path=str(shots / "entry-day-1366.png"), full_page=True)

    # A Sunday asked for: refused with a message, the Saturday before shown.
    page.goto(site.url(SCHOOL, f"/classes/{klass}/attendance/?date=12/10/2025"))
    assert "Ngày 12/10/2025 là Chủ nhật" in page.locator("ul.messages").inner_text()
    assert page.locator("#day").input_value() == "2025-10-11"

    # The month grid from the day's link; previous and next month.
    page.locator("#month-link").click()
    page.wait_for_url(re.compile(r"/attendance/month/\?month=10/2025$"))
    assert page.locator("main h1").inner_text().startswith("Điểm danh tháng 10/2025")
    days = page.locator("#entry thead th.day")
    assert days.count() == 31
    assert page.locator("#entry thead th.day.off").count() == 4  # the Sundays of October 2025
    page.locator("#previous-month").click()
    page.wait_for_url(re.compile(r"month=09/2025$"))
    assert page.locator("main h1").inner_text().startswith("Điểm danh tháng 09/2025")
    assert page.locator("#entry thead th.day").count() == 30 and page.locator("#previous-month").count() == 0
    page.locator("#next-month").click()
    page.wait_for_url(re.compile(r"month=10/2025$"))
    page.locator("#next-month").click()
    page.wait_for_url(re.compile(r"month=11/2025$"))

    # Marks of several days in one save: P on Monday 03/11, K on Tuesday 04/11 for the first student.
    first = page.locator("#entry tbody tr").first
    monday, tuesday = first.locator("select[data-code='03/11/2025']"), first.locator("select[data-code='04/11/2025']")
    monday.focus()
    page.keyboard.press("p")
    tuesday.select_option("K")
    footer = page.locator("#entry tfoot td[data-absent]")
    before = int(footer.nth(2).get_attribute("data-absent"))
    with page.expect_navigation(url=re.compile(r"month=11(/|%2F)2025&saved=2$")):
        page.locator("#entry-save").click()
    assert "Đã lưu điểm danh tháng 11/2025" in page.locator("ul.messages").inner_text()
    first = page.locator("#entry tbody tr").first
    assert first.locator("select[data-code='03/11/2025']").input_value() == "P"
    assert first.locator("select[data-code='04/11/2025']").input_value() == "K"
    assert int(page.locator("#entry tfoot td[data-absent]").nth(2).get_attribute("data-absent")) == before + 1
    page.screenshot(path=str(shots / "entry-month-1366.png"), full_page=True)

    # The day's page links back with the reasons; then the two marks are cleared again (the demo stays as it was).
    page.locator("#entry thead th.day[data-date='03/11/2025'] a").click()
    page.wait_for_url(re.compile(r"/attendance/\?date=03/11/2025$"))
    assert page.locator("#entry tbody tr").first.locator("input[name=absent]").is_checked()
    page.go_back()
    first = page.locator("#entry tbody tr").first
    first.locator("select[data-code='03/11/2025']").focus()
    page.keyboard.press("Delete")
    first.locator("select[data-code='04/11/2025']").select_option("")
    with page.expect_navigation(url=re.compile(r"month=11(/|%2F)2025&saved=2$")):
        page.locator("#entry-save").click()
    assert page.locator("#entry tbody tr").first.locator("select[data-code='03/11/2025']").input_value() == ""

    phone = new_context(viewport=PHONE, storage_state=page.context.storage_state()).new_page()
    phone.goto(site.url(SCHOOL, f"/classes/{klass}/attendance/month/?month=10/2025"))
    assert _no_page_overflow(phone)
    phone.screenshot(path=str(shots / "entry-month-390.png"), full_page=True)
    phone.goto(site.url(SCHOOL, f"/classes/{klass}/attendance/?date=13/10/2025"))
    assert _no_page_overflow(phone)
    phone.screenshot(path=str(shots / "entry-day-390.png"), full_page=True)
