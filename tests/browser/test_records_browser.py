"""The issue's record scenario in a real Chromium against a real server (see conftest.py for the set-up).

"A subject teacher fills a sheet with the keyboard; the homeroom teacher submits; the principal approves;
the parent sees the result; a teacher of another school cannot open it."

The demo (``seed_demo``) gives Trường THCS Nguyễn Du a class 6A1 whose Toán sheet of term I is filled in;
term II is empty and is what the subject teacher types here. Everyone signs in on the platform site and
lands on their school's subdomain (see test_platform_browser.py). Screenshots: ``/tmp/browser-shots/rec-*``.
"""

from __future__ import annotations

import re
import time
from decimal import ROUND_HALF_UP, Decimal

import pyotp
import pytest

from tenants.demo import DEMO_PASSWORD, demo_totp_secret

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHOOL_NAME = "Trường THCS Nguyễn Du"
SUBJECT_TEACHER = "nguyendu.gvbm"
HOMEROOM_TEACHER = "nguyendu.gvcn"
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
PARENT = "nguyendu.phuhuynh"
OTHER_SCHOOL = "th-nam-loi"
OTHER_PRINCIPAL = "namloi.hieutruong"  # TOTP; principal of Trường Tiểu học Nam Lợi only
OTHER_TEACHER = "namloi.giaovien"  # a subject teacher of Trường Tiểu học Nam Lợi only
VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảãàáậầấẩẫắằẳẵặẹẻẽèéệềếểễịỉĩìíọỏõòóộồốổỗờớởỡợụủũùúựừứửữỵỷỹỳý]", re.I)

# What the subject teacher types in term II (ĐĐGtx 1–4, ĐĐGgk, ĐĐGck, Nhận xét), in the sheet's column order.
FIRST_ROW = ["8,5", "7", "9", "6,5", "7,5", "8", "Tiến bộ rõ rệt"]
CHILD_ROW = ["9", "8,5", "10", "7,5", "8", "9,5", "Chăm chỉ, cẩn thận"]


# --- helpers --------------------------------------------------------------------------------------------


def totp_code(username: str) -> str:
    totp = pyotp.TOTP(demo_totp_secret(username))
    if totp.interval - time.time() % totp.interval < 2:  # about to roll over: wait for the next one
        time.sleep(2.1)
    return totp.now()


def sign_in(page, site, username: str, *, totp: bool = False) -> None:
    """Password (and TOTP) on the platform site; the person lands on their school's subdomain."""
    page.goto(site.url(path="/accounts/login/"))
    form = page.locator("form:has(input[name=login])")
    form.locator("input[name=login]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")
    if not totp:
        assert "/accounts/2fa/" not in page.url, f"{username} needs no second factor, got {page.url}"
        return
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    step = site.url(path="/accounts/2fa/authenticate/")
    for _attempt in range(2):
        form = page.locator("form:has(input[name=code])")
        form.locator("input[name=code]").fill(totp_code(username))
        form.locator("button[type=submit]").first.click()
        page.wait_for_load_state("load")
        if not page.url.startswith(step):
            return
        # allauth refuses a code used once already (kept in the shared Redis by user id): wait for the next one.
        time.sleep(30 - time.time() % 30 + 0.5)
    raise AssertionError(f"the TOTP step refused {username}'s codes twice")


def accept_dialogs(page) -> list[str]:
    """Accept confirm() and beforeunload dialogs; return the list their messages are appended to."""
    seen: list[str] = []

    def handle(dialog):
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    page.on("dialog", handle)
    return seen


def open_class(page, site, name: str = "6A1") -> None:
    """From the school's home page to the class's page, by the links a person would follow."""
    assert page.url == site.url(SCHOOL), f"expected the school's home page, got {page.url}"
    page.get_by_role("link", name=re.compile(r"^Lớp học")).first.click()
    page.wait_for_url(site.url(SCHOOL, "/classes/"))
    page.locator("#class-list").get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(re.compile(r"/classes/\d+/$"))
    assert page.locator("main h1").inner_text().strip() == f"Lớp {name}"


def focused(page) -> tuple[str | None, str | None]:
    """(student id, column key) of the focused sheet cell."""
    return tuple(
        page.evaluate(
            "() => { const e = document.activeElement; return [e && e.dataset ? e.dataset.student || null : null,"
            " e && e.dataset ? e.dataset.column || null : null]; }"
        )
    )


def round1(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def vn(value: Decimal) -> str:
    return f"{value:.1f}".replace(".", ",")


def dec(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def term_average(values: list[str]) -> Decimal:
    """TT22: (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (n_tx + 5), half up to one decimal (an oracle of our own)."""
    *tx, gk, ck = (dec(v) for v in values)
    return round1((sum(tx, Decimal(0)) + 2 * gk + 3 * ck) / (len(tx) + 5))


def year_average(term1: Decimal, term2: Decimal) -> Decimal:
    return round1((term1 + 2 * term2) / 3)


def server_spelling(text: str) -> str:
    """How the server writes back a score it accepted ("7" → "7,0")."""
    return vn(dec(text)) if re.fullmatch(r"\d+(,\d)?", text) else text


def assert_refusal(page, response, statuses=(403,)) -> str:
    """A refusal page: the status and a message in the page's language only (Vietnamese here), no English line."""
    assert response is not None and response.status in statuses, (
        f"expected {statuses} at {page.url}, got {response.status if response else None}"
    )
    section = page.locator(f"section.refusal[data-status='{response.status}']")
    assert section.count() == 1, page.locator("main").inner_text()[:500]
    vi = section.locator("p").first.inner_text().strip()
    assert vi and VIETNAMESE_LETTERS.search(vi), f"no Vietnamese message: {vi!r}"
    assert section.locator("p[lang=en]").count() == 0, "an English line under the Vietnamese"
    return vi


def type_row(page, values: list[str], *, arrow_at: int | None = None) -> None:
    """Type a row from the focused cell on: a value, then Tab (or → once, at ``arrow_at``) to the next cell."""
    for i, value in enumerate(values):
        page.keyboard.type(value)
        if i == len(values) - 1:
            break
        before = focused(page)
        page.keyboard.press("ArrowRight" if i == arrow_at else "Tab")
        after = focused(page)
        assert after[0] == before[0] and after != before, (
            f"{'→' if i == arrow_at else 'Tab'} went from {before} to {after}"
        )


# --- the scenario ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_ids(site) -> dict[str, int]:
    schema = "s_" + SCHOOL.replace("-", "_")
    (klass,) = site.sql(f"select id from {schema}.schools_schoolclass where name = '6A1'")[0]
    (subject,) = site.sql(f"select id from {schema}.schools_subject where code = 'toan' and level = 'lower_secondary'")[
        0
    ]
    (child,) = site.sql(
        f"select g.student_id from {schema}.schools_guardianlink g join public.tenants_account a on a.id = g.account_id"
        " where a.username = %s",
        (PARENT,),
    )[0]
    return {"class": klass, "subject": subject, "child": child}


def test_sheet_entered_by_keyboard_submitted_approved_and_seen_by_the_parent(site, new_context, shots, demo_ids):
    # --- 1. The subject teacher fills term II of 6A1's Toán sheet with the keyboard. ---------------------
    page = new_context().new_page()
    dialogs = accept_dialogs(page)
    sign_in(page, site, SUBJECT_TEACHER)
    open_class(page, site)
    toan = page.locator("#mon-hoc tbody tr", has=page.locator("td:first-child", has_text=re.compile(r"^Toán$")))
    assert toan.count() == 1
    toan.locator("td").nth(3).get_by_role("link", name="Nhập điểm").click()  # the "Học kì II" column
    sheet_url = site.url(SCHOOL, f"/classes/{demo_ids['class']}/sheets/{demo_ids['subject']}/2/")
    page.wait_for_url(sheet_url)
    assert page.locator("main h1").inner_text().strip() == "Toán — lớp 6A1"
    assert page.locator(".term-tabs a[aria-current=page]").inner_text().strip() == "Học kì II"
    page.screenshot(path=str(shots / "rec-1a-sheet-term2-empty.png"), full_page=True)

    headers = page.locator("#sheet thead th[data-column]").evaluate_all("ths => ths.map(t => t.dataset.column)")
    assert headers == ["tx1", "tx2", "tx3", "tx4", "gk", "ck", "nx"], headers
    rows = page.locator("#sheet tbody tr")
    students = rows.evaluate_all("trs => trs.map(t => t.dataset.student)")
    assert len(students) >= 2
    child_index = students.index(str(demo_ids["child"]))
    first_id = students[0]
    first = rows.nth(0)
    assert all(v == "" for v in first.locator("input, textarea").evaluate_all("xs => xs.map(x => x.value)")), (
        "term II of the first student should be empty in the demo"
    )
    term1_first = first.locator("td[data-computed=term1]").get_attribute("data-server")
    assert re.fullmatch(r"\d+,\d", term1_first or ""), f"the demo's term I average is missing: {term1_first!r}"
    assert first.locator("td[data-computed=term2]").inner_text().strip() == ""

    # Keyboard only from here: the first cell gets the focus (no click), then keys do everything.
    first.locator("input[data-column=tx1]").focus()
    assert focused(page) == (first_id, "tx1")
    type_row(page, FIRST_ROW, arrow_at=1)  # "7" then → (caret at the end) to ĐĐGtx 3
    assert focused(page) == (first_id, "nx")
    page.keyboard.press("Enter")  # Enter: the same column, one row down
    assert focused(page) == (students[1], "nx"), focused(page)
    page.keyboard.press("ArrowUp")
    assert focused(page) == (first_id, "nx"), focused(page)

    # The parent's child too, when it is not the first row: down with Enter, left with ←, then the row.
    filled = {first_id: FIRST_ROW}
    if child_index:
        for _ in range(child_index):
            page.keyboard.press("Enter")
        assert focused(page) == (students[child_index], "nx"), focused(page)
        for _ in range(len(CHILD_ROW) - 1):
            page.keyboard.press("ArrowLeft")
        assert focused(page) == (students[child_index], "tx1"), focused(page)
        type_row(page, CHILD_ROW)
        filled[students[child_index]] = CHILD_ROW
    typed_cells = sum(len(v) for v in filled.values())

    # Live results on the page (italic, "live") before anything is sent; changed cells are marked.
    expected_t2 = term_average(FIRST_ROW[:-1])
    expected_year = year_average(dec(term1_first), expected_t2)
    term2_td = first.locator("td[data-computed=term2]")
    year_td = first.locator("td[data-computed=year]")
    assert term2_td.inner_text().strip() == vn(expected_t2)
    assert "live" in (term2_td.get_attribute("class") or "")
    assert year_td.inner_text().strip() == vn(expected_year)
    assert first.locator("td.cell.dirty").count() == len(FIRST_ROW)
    assert page.locator("#sheet td.cell.dirty").count() == typed_cells
    assert page.locator("#sheet-status").inner_text().strip() == f"{typed_cells} ô đã sửa, chưa lưu"
    assert page.locator("#sheet-save").is_enabled()
    page.screenshot(path=str(shots / "rec-1b-sheet-typed-live.png"), full_page=True)

    # Ctrl+S: one PUT, the page stays (same document, same address) and shows the server's values.
    page.evaluate("() => { window.__sameDocument = 'yes'; }")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    with page.expect_response(lambda r: r.request.method == "PUT" and "/sheets/" in r.url) as put:
        page.keyboard.press("Control+s")
    assert put.value.status == 200, put.value.text()[:500]
    status = page.locator("#sheet-status")
    status.filter(has_text="Đã lưu").wait_for()
    assert status.inner_text().strip() == f"Đã lưu {typed_cells} ô."
    assert page.evaluate("() => window.__sameDocument") == "yes" and page.url == sheet_url and not navigations
    assert page.locator("#sheet td.cell.dirty").count() == 0
    assert term2_td.get_attribute("data-server") == vn(expected_t2)  # computed by the server, from its answer
    assert year_td.get_attribute("data-server") == vn(expected_year)
    assert "live" not in (term2_td.get_attribute("class") or "")
    assert first.locator("input[data-column=tx2]").input_value() == "7,0"  # the server's spelling of "7"
    assert page.locator("#sheet-save").is_disabled()
    page.screenshot(path=str(shots / "rec-1c-sheet-saved.png"), full_page=True)

    def assert_persisted():
        for student, values in filled.items():
            row = page.locator(f"#sheet tbody tr[data-student='{student}']")
            got = row.locator("input, textarea").evaluate_all("xs => xs.map(x => x.value)")
            assert got == [server_spelling(v) for v in values], (student, got)
        assert first.locator("td[data-computed=term2]").inner_text().strip() == vn(expected_t2)
        assert first.locator("td[data-computed=year]").inner_text().strip() == vn(expected_year)

    page.reload()
    assert_persisted()
    page.screenshot(path=str(shots / "rec-1d-sheet-reloaded.png"), full_page=True)

    # An invalid score: said at the cell before anything is sent; the page refuses to send the sheet (the server
    # would refuse it whole too), the row's averages read "?", nothing is saved.
    cell = first.locator("input[data-column=tx1]")
    cell.focus()
    page.keyboard.type("11")
    td = first.locator("td.cell", has=page.locator("input[data-column=tx1]"))
    assert "warn" in td.get_attribute("class") and cell.get_attribute("aria-invalid") == "true"
    assert cell.get_attribute("title") == "11 lớn hơn 10. Điểm từ 0 đến 10, tối đa một chữ số thập phân (ví dụ 7,5)."
    assert td.locator(".cell-note").inner_text().strip() == "Lớn hơn 10"
    assert term2_td.inner_text().strip() == "?" and year_td.inner_text().strip() == "?"
    assert "ĐĐGtx 1 (“11”)" in term2_td.get_attribute("title")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "PUT" else None)
    page.keyboard.press("Control+s")
    status.filter(has_text="Chưa lưu").wait_for()
    assert status.inner_text().startswith("Chưa lưu: bảng điểm có 1 ô chưa hợp lệ."), status.inner_text()
    assert sent == [] and focused(page) == (first_id, "tx1")
    message = td.locator(".cell-msg")
    assert message.is_visible()  # the cell has the focus again, so its whole message shows
    assert message.inner_text().startswith("11 lớn hơn 10."), message.inner_text()
    assert page.locator("#sheet-invalid").inner_text().strip() == "1 ô chưa hợp lệ"
    assert cell.input_value() == "11"  # what was typed stays on the page
    page.screenshot(path=str(shots / "rec-1e-sheet-invalid.png"), full_page=True)
    page.reload()  # the page warns before leaving unsaved cells: accepted by accept_dialogs
    assert any(d.startswith("beforeunload") for d in dialogs), dialogs
    assert cell.input_value() == "8,5"
    assert_persisted()
    page.screenshot(path=str(shots / "rec-1f-sheet-after-invalid-reload.png"), full_page=True)

    # --- 2. The homeroom teacher submits the class's records. ---------------------------------------------
    page = new_context().new_page()
    dialogs = accept_dialogs(page)
    sign_in(page, site, HOMEROOM_TEACHER)
    open_class(page, site)
    drafts = int(page.locator("#hoc-ba .counts > span").nth(0).inner_text().split()[-1])
    assert drafts >= 2
    assert page.locator("#approve-records").count() == 0
    page.locator("#submit-records").click()
    page.wait_for_load_state("load")
    assert dialogs and dialogs[-1].startswith("confirm: Trình toàn bộ học bạ"), dialogs
    assert f"Đã trình {drafts} học bạ lên Ban giám hiệu." in page.locator("ul.messages").inner_text()
    assert page.locator("#hoc-ba .counts > span").nth(1).inner_text().split()[-1] == str(drafts)
    assert page.locator("#submit-records").count() == 0
    page.screenshot(path=str(shots / "rec-2-homeroom-submitted.png"), full_page=True)

    # --- 3. The principal (TOTP) approves them. ------------------------------------------------------------
    page = new_context().new_page()
    dialogs = accept_dialogs(page)
    sign_in(page, site, PRINCIPAL, totp=True)
    open_class(page, site)
    # The demo's books miss most subjects: approving them needs the principal's reason.
    page.locator("#approve-reason").fill("Duyệt để phụ huynh xem điểm Toán; bổ sung các môn sau")
    page.locator("#approve-records").click()
    page.wait_for_load_state("load")
    assert dialogs and dialogs[-1].startswith("confirm: Duyệt mọi học bạ"), dialogs
    assert f"Đã duyệt {drafts} học bạ." in page.locator("ul.messages").inner_text()
    assert page.locator("#hoc-ba .counts > span").nth(2).inner_text().split()[-1] == str(drafts)
    page.screenshot(path=str(shots / "rec-3-principal-approved.png"), full_page=True)

    # --- 4. The parent sees the child's approved record with what the teacher entered. --------------------
    page = new_context().new_page()
    sign_in(page, site, PARENT)
    assert page.url == site.url(SCHOOL)
    # One link to the children's records in the page's content (the menu has its own entry, "Con của tôi").
    main_links = page.locator("main").get_by_role("link", name="Học bạ của con tôi", exact=True)
    assert main_links.count() == 1
    assert page.locator("#my-children-home li[data-student]").count() == 1
    page.locator("#my-children-home").get_by_role("link", name="Học bạ của con tôi", exact=True).click()
    page.wait_for_url(site.url(SCHOOL, "/my-children/"))
    children = page.locator("#children tbody tr")
    assert children.count() == 1
    assert children.first.get_attribute("data-student") == str(demo_ids["child"])
    assert children.first.locator("td").nth(2).inner_text().strip() == "6A1"
    page.screenshot(path=str(shots / "rec-4a-parent-children.png"), full_page=True)
    children.first.get_by_role("link", name="Xem học bạ").click()
    page.wait_for_url(site.url(SCHOOL, f"/students/{demo_ids['child']}/record/"))
    assert page.locator("#record-state").inner_text().strip() == "Hiệu trưởng đã duyệt"
    child_values = filled[str(demo_ids["child"])]
    child_t2 = term_average(child_values[:-1])
    math = page.locator("#record-subjects tbody tr", has=page.locator("td:first-child", has_text=re.compile(r"^Toán$")))
    assert math.count() == 1
    t1, t2, year = (math.locator("td.val").nth(i).inner_text().strip() for i in range(3))
    assert re.fullmatch(r"\d+,\d", t1), t1
    assert t2 == vn(child_t2), (t2, child_values)
    assert year == vn(year_average(dec(t1), child_t2))
    assert "Võ Thị Giang" in page.locator("#quy-trinh").inner_text()  # who approved
    assert "Học bạ chưa được duyệt" not in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "rec-4b-parent-record.png"), full_page=True)


@pytest.mark.parametrize("other,totp", [(OTHER_TEACHER, False), (OTHER_PRINCIPAL, True)], ids=["teacher", "principal"])
def test_a_teacher_or_principal_of_another_school_cannot_open_the_sheet(
    site, new_context, shots, demo_ids, other, totp
):
    path = f"/classes/{demo_ids['class']}/sheets/{demo_ids['subject']}/2/"
    page = new_context().new_page()
    sign_in(page, site, other, totp=totp)
    assert page.url == site.url(OTHER_SCHOOL), page.url

    response = page.goto(site.url(SCHOOL, path))
    page.screenshot(path=str(shots / f"rec-5a-other-school-{other}-refused.png"), full_page=True)
    assert page.url == site.url(SCHOOL, path), page.url  # refused there, not sent to a login page
    vi = assert_refusal(page, response)
    assert SCHOOL_NAME in vi, vi  # refused for not belonging to the school
    main = page.locator("main").inner_text()
    assert page.locator("#sheet").count() == 0 and "6A1" not in main and "Toán" not in main, main
    assert f"({other})" in page.locator("header nav").text_content()

    # The same path on their own school's address. Ids are per school (one schema each), so the path may
    # well name a class and subject of Nam Lợi: then it is Nam Lợi's own sheet, never Nguyễn Du's.
    response = page.goto(site.url(OTHER_SCHOOL, path))
    page.screenshot(path=str(shots / f"rec-5b-other-school-{other}-own-address.png"), full_page=True)
    assert response is not None and response.status in (200, 403, 404), response and response.status
    assert page.locator("header .scope").inner_text().strip() == "Trường Tiểu học Nam Lợi"
    if response.status != 200:
        assert_refusal(page, response, statuses=(403, 404))
        assert page.locator("#sheet").count() == 0
        return
    own = "s_" + OTHER_SCHOOL.replace("-", "_")
    rows = site.sql(
        f"select c.name, s.full_name from {own}.schools_schoolclass c"
        f" join {own}.schools_enrolment e on e.school_class_id = c.id"
        f" join {own}.schools_student s on s.id = e.student_id where c.id = %s",
        (demo_ids["class"],),
    )
    assert rows, "a 200 on Nam Lợi's address must be a class of Nam Lợi"
    assert page.locator("main h1").inner_text().strip().endswith(f"lớp {rows[0][0]}") and rows[0][0] != "6A1"
    shown = page.locator("#sheet tbody th.name .name-text").all_inner_texts()
    assert sorted(shown) == sorted(name for _class, name in rows), shown
