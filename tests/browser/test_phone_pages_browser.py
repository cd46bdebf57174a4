"""Phone-first pages in a real Chromium against a real server (see conftest.py for the set-up).

"Most parents open the record on a phone": at 390×844 (and again at 1366×768) the parent's children and record, the
class page and the grade sheet fit the window without a page-wide sideways scroll; no table cell holding text is
squeezed to a letter a line; a wide table scrolls inside its own box with its first column (the subject, the
student's name) still in view; the comments of the record read as full-width blocks; "Xem học bạ" and the grade
sheet's save button are on the screen. The school's other table pages and the platform's school and unit lists fit a
phone too. Screenshots: ``/tmp/browser-shots/phone-*.png`` and ``desk-*.png``.
"""

from __future__ import annotations

import pytest

from tests.browser.test_provision_browser import PROVINCE_ADMIN
from tests.browser.test_records_browser import HOMEROOM_TEACHER, PARENT, PRINCIPAL, SCHOOL, SUBJECT_TEACHER, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMA = "s_" + SCHOOL.replace("-", "_")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}
COMMENT = "Tiếp thu nhanh, trình bày lời giải rõ ràng; cần cẩn thận hơn khi tính toán với phân số"

# The page's width, and every visible table cell that holds text but is narrower than 40 px on more than three lines
# (a name or a comment broken a letter a line). Lines are counted over the cell's text, not its boxes.
LAYOUT = """() => {
  const cramped = [];
  for (const cell of document.querySelectorAll('main td, main th')) {
    const box = cell.getBoundingClientRect();
    if (!cell.innerText.trim() || box.width === 0 || !cell.checkVisibility() || box.width >= 40) continue;
    const tops = new Set();
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    }
    const text = cell.innerText.trim().slice(0, 30);
    if (tops.size > 3) cramped.push(`${text}: ${Math.round(box.width)} px, ${tops.size} lines`);
  }
  return {page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth, cramped};
}"""

# Scroll a table's box all the way right: is the given cell at the box's left edge, on top of the scrolled cells?
PINNED = """([tableSelector, cellSelector]) => {
  const table = document.querySelector(tableSelector);
  const box = table.closest('.table-scroll, .sheet-wrap');
  const cell = table.querySelector(cellSelector);
  cell.scrollIntoView({block: 'center', inline: 'nearest'});
  box.scrollLeft = box.scrollWidth;
  const after = cell.getBoundingClientRect(), frame = box.getBoundingClientRect();
  const hit = document.elementFromPoint(after.left + after.width / 2, after.top + after.height / 2);
  const result = {scrolled: box.scrollLeft, offset: after.left - frame.left,
    inBox: after.left >= frame.left - 1 && after.right <= frame.right + 1, onTop: cell.contains(hit)};
  box.scrollLeft = 0;
  return result;
}"""

IN_VIEW = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""

PUT_JSON = """async ([url, body]) => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(url, {method: "PUT", body: JSON.stringify(body), headers: {
        "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token}});
    return [response.status, await response.text()];
}"""


def assert_fits(page, label: str) -> None:
    layout = page.evaluate(LAYOUT)
    assert layout["page"] <= layout["window"], f"{label}: the page scrolls sideways at {page.url}: {layout}"
    assert not layout["cramped"], f"{label}: cells squeezed a letter a line at {page.url}: {layout['cramped']}"


def assert_pinned(page, table: str, cell: str, *, phone: bool) -> None:
    result = page.evaluate(PINNED, [table, cell])
    if phone:
        assert result["scrolled"] > 0, f"{table} does not scroll inside its box on a phone: {result}"
    # Scrolled, the pinned cell sits at the box's left edge (a name after the row number moves there and stays).
    at_edge = abs(result["offset"]) <= 2 or not result["scrolled"]
    assert at_edge and result["inBox"] and result["onTop"], f"{cell} of {table} scrolled away: {result}"


def shot(page, shots, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def ids(site) -> dict[str, int]:
    ((klass,),) = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        " where c.name = '6A1' and y.start_year = 2025"
    )
    ((subject,),) = site.sql(
        f"select id from {SCHEMA}.schools_subject where code = 'toan' and level = 'lower_secondary'"
    )
    ((child,),) = site.sql(
        f"select g.student_id from {SCHEMA}.schools_guardianlink g join public.tenants_account a on a.id = g.account_id"
        " where a.username = %s",
        (PARENT,),
    )
    return {"class": klass, "subject": subject, "child": child}


def test_the_parents_children_and_record_read_on_a_phone(site, new_context, shots, ids):
    # The parent reads an approved record with a subject teacher's comment. Unless an earlier test approved 6A1
    # already, the subject teacher writes the comment through the API and the record is marked approved in the
    # database for this test only (both are put back at the end).
    ((record, state),) = site.sql(
        f"select r.id, r.state from {SCHEMA}.schools_recordbook r join {SCHEMA}.schools_schoolyear y"
        " on y.id = r.year_id where r.student_id = %s and y.start_year = 2025",
        (ids["child"],),
    )
    teacher = new_context().new_page()
    sign_in(teacher, site, SUBJECT_TEACHER)
    sheet = f"/classes/{ids['class']}/sheets/{ids['subject']}/1/"
    teacher.goto(site.url(SCHOOL, sheet))
    comment_cell = teacher.locator(f"#sheet [data-student='{ids['child']}'][data-column='nx']")
    original = comment_cell.get_attribute("data-original") or ""
    api = f"/api/v1{sheet}"
    editable = state in ("draft", "submitted")

    def put_comment(value: str) -> None:
        cell = {"student": ids["child"], "column": "nx", "value": value}
        status, text = teacher.evaluate(PUT_JSON, [api, {"cells": [cell]}])
        assert status == 200, text[:500]

    if editable:
        put_comment(COMMENT)
        site.sql(f"update {SCHEMA}.schools_recordbook set state = 'approved' where id = %s returning id", (record,))
    try:
        page = new_context(viewport=PHONE).new_page()
        sign_in(page, site, PARENT)
        for viewport, tag in ((PHONE, "phone"), (DESK, "desk")):
            page.set_viewport_size(viewport)
            page.goto(site.url(SCHOOL, "/my-children/"))
            button = page.locator(f"#children tr[data-student='{ids['child']}']").get_by_role("link", name="Xem học bạ")
            assert button.count() == 1
            assert page.evaluate(IN_VIEW, f"#children tr[data-student='{ids['child']}'] a"), "'Xem học bạ' off screen"
            assert_fits(page, f"children {tag}")
            shot(page, shots, f"{tag}-children")
            button.click()
            page.wait_for_url(site.url(SCHOOL, f"/students/{ids['child']}/record/"))
            assert_fits(page, f"record {tag}")
            assert_pinned(page, "#record-subjects", "tbody tr:last-child > td:first-child", phone=tag == "phone")
            math = page.locator(f"#record-subjects tbody tr[data-subject='{ids['subject']}']")
            comments = page.locator("#record-comments")
            if tag == "phone":
                # The comments column gives way to full-width blocks under the table.
                assert not math.locator("td.comments").is_visible()
                if editable or comments.locator(".subject-comment").count():
                    block = comments.locator(f".subject-comment[data-subject='{ids['subject']}']")
                    assert block.is_visible() and "Toán" in block.inner_text()
                    if editable:
                        assert COMMENT in block.inner_text()
                    width = block.bounding_box()["width"]
                    card = page.locator("#mon-hoc").bounding_box()["width"]
                    assert width >= 0.85 * card, (width, card)
            else:
                assert not comments.is_visible()
                assert math.locator("td.comments").is_visible()
                if editable:
                    assert COMMENT in math.locator("td.comments").inner_text()
            shot(page, shots, f"{tag}-record")
    finally:
        if editable:
            site.sql(f"update {SCHEMA}.schools_recordbook set state = %s where id = %s returning id", (state, record))
            put_comment(original)


def test_the_class_page_and_the_grade_sheet_on_a_phone(site, new_context, shots, ids):
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, site, HOMEROOM_TEACHER)
    for viewport, tag in ((PHONE, "phone"), (DESK, "desk")):
        page.set_viewport_size(viewport)
        page.goto(site.url(SCHOOL, f"/classes/{ids['class']}/"))
        assert_fits(page, f"class {tag}")
        assert_pinned(page, "#class-subjects", "tbody tr:last-child > td:first-child", phone=tag == "phone")
        assert_pinned(page, "#class-students", "tbody tr:last-child > td:nth-child(2)", phone=tag == "phone")
        shot(page, shots, f"{tag}-class")

    page = new_context(viewport=PHONE).new_page()
    sign_in(page, site, SUBJECT_TEACHER)
    for viewport, tag in ((PHONE, "phone"), (DESK, "desk")):
        page.set_viewport_size(viewport)
        page.goto(site.url(SCHOOL, f"/classes/{ids['class']}/sheets/{ids['subject']}/1/"))
        assert page.locator("#sheet-save").count() == 1
        assert_fits(page, f"sheet {tag}")
        assert_pinned(page, "#sheet", "tbody tr:last-child > th.name", phone=tag == "phone")
        # A phone shows several score columns beside the names, not one.
        visible = page.evaluate("""() => { const box = document.querySelector('.sheet-wrap').getBoundingClientRect();
            return [...document.querySelectorAll('#sheet thead th[data-column]')]
              .filter((th) => th.getBoundingClientRect().right <= box.right + 1).length; }""")
        assert visible >= 2, f"{visible} score column(s) in view at {tag}"
        for where in ("bottom", "top"):
            page.evaluate(f"window.scrollTo(0, {'document.documentElement.scrollHeight' if where == 'bottom' else 0})")
            assert page.evaluate(IN_VIEW, "#sheet-save"), f"the save button is off screen at the {where} ({tag})"
            assert page.evaluate(IN_VIEW, "#sheet-status") or not page.locator("#sheet-status").inner_text()
        # At the bottom of the page the bar covers nothing of the sheet: its last row is above the bar.
        page.evaluate("""() => { const box = document.querySelector('.sheet-wrap'); box.scrollTop = box.scrollHeight;
            window.scrollTo(0, document.documentElement.scrollHeight); }""")
        last = page.locator("#sheet tbody tr").last.bounding_box()
        bar_top = page.evaluate("() => document.querySelector('.sheet-actions').getBoundingClientRect().top")
        if tag == "phone":
            assert last["y"] + last["height"] <= bar_top + 1, (last, bar_top)
            # The screen as the teacher sees it (a full-page picture would draw the fixed bar mid-page).
            page.screenshot(path=str(shots / "phone-sheet-bottom.png"))
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / "phone-sheet.png"))
        else:
            page.evaluate("window.scrollTo(0, 0)")
            shot(page, shots, "desk-sheet")


def test_the_other_table_pages_fit_a_phone(site, new_context, shots, ids):
    ((year,),) = site.sql(f"select id from {SCHEMA}.schools_schoolyear where start_year = 2025")
    school_pages = [
        "/setup/",
        f"/setup/years/{year}/",
        f"/setup/classes/{ids['class']}/",
        "/setup/subjects/",
        "/setup/departments/",
        "/windows/",
        "/history/",
        f"/classes/{ids['class']}/attendance/",
        f"/classes/{ids['class']}/conduct/1/",
        "/classes/",
        "/staff/",
    ]
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    for path in school_pages:
        response = page.goto(site.url(SCHOOL, path))
        assert response.status == 200, path
        assert_fits(page, path)
        shot(page, shots, "phone-" + path.strip("/").replace("/", "-"))
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, site, PROVINCE_ADMIN, totp=True)
    ((school,),) = site.sql("select id from tenants_school where schema_name = %s", (SCHEMA,))
    ((unit,),) = site.sql(
        "select unit_id from tenants_unitversion where official_code = '72-NL' and valid_to is null order by id limit 1"
    )
    platform_pages = ("/manage/schools/", "/manage/units/", f"/manage/schools/{school}/", f"/manage/units/{unit}/")
    for path in (*platform_pages, "/manage/windows/", "/manage/windows/exceptions/"):
        response = page.goto(site.url(path=path))
        assert response.status == 200, path
        assert_fits(page, path)
        shot(page, shots, "phone-" + path.strip("/").replace("/", "-"))
