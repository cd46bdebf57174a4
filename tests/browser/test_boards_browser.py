"""The province and unit boards in a real Chromium against a real server (see conftest.py for the set-up).

Issue 14, Tests 8: a province administrator filters the schools late for the next lock and downloads them as an
Excel file; a commune officer cannot see another unit's schools, not on the board and not by a typed address; a
drill-down from the board to a school and a class shows no student data; with a grant the principal approved in the
school's "Quyền xem học bạ" page, the province inspector opens that one record, the read appears in the school's grant
log, and once the database clock passes the grant's end the record is refused in words.

The module's set-up (``lock_soon``) writes, through SQL as the schools' writes and the windows page would, a province
window for term I's scores locking in two days and term I sheet figures: Nam Lợi and Nguyễn Du at a quarter done
(late), Lê Quý Đôn and Hòa Bình done; it puts the figures back and cancels the window afterwards, for the tests that
share the server. Every board, statistics and summary page is also shot at 390 and 1366 px:
``/tmp/browser-shots/boards-*``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

PROVINCE_ADMIN = "so.quantri"  # TOTP
INSPECTOR = "so.thanhtra"
UNIT_OFFICER = "namloi.chuyenvien"  # Xã Nam Lợi: Trường Tiểu học Nam Lợi and Trường TH và THCS Hòa Bình
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}

NAM_LOI, NGUYEN_DU = "Trường Tiểu học Nam Lợi", "Trường THCS Nguyễn Du"
LE_QUY_DON, HOA_BINH = "Trường THPT Lê Quý Đôn", "Trường TH và THCS Hòa Bình"
SCHEMAS = {
    NAM_LOI: "s_th_nam_loi",
    NGUYEN_DU: "s_thcs_nguyen_du",
    LE_QUY_DON: "s_thpt_le_quy_don",
    HOA_BINH: "s_th_thcs_hoa_binh",
}
YEAR = 2025  # the demo's school year, 2025–2026 (schools/demo.py); the board is asked for it by name
LATE = {NAM_LOI, NGUYEN_DU}
REQUIRED, LATE_DONE = 40, 10  # term I sheets: the late schools have a quarter done, the others all
OUT_OF_SCOPE_SCHOOL = "Không tìm thấy trường này trong phạm vi theo dõi của bạn."
OUT_OF_SCOPE_UNIT = "Không tìm thấy đơn vị này trong phạm vi theo dõi của bạn."


@pytest.fixture(scope="module")
def ids(site) -> dict:
    """The demo's ids: schools by name, units by name."""
    schools = dict(site.sql("select name, id from tenants_school where schema_name <> 'public'"))
    units = dict(site.sql("select v.name, v.unit_id from tenants_unitversion v where v.valid_to is null"))
    return {"schools": schools, "units": units, "year": YEAR}


@pytest.fixture(scope="module")
def lock_soon(site, ids):
    """A province window for term I's scores locking in two days; term I sheets a quarter done at the late schools,
    all done at the others. Undone afterwards (the figures back, the window cancelled)."""
    school_ids = [ids["schools"][name] for name in SCHEMAS]
    kept = site.sql(
        "select school_id, sheets_required_term1, sheets_done_term1 from tenants_schoolrollup"
        " where year_start = %s and school_id = any(%s)",
        (ids["year"], school_ids),
    )
    assert len(kept) == len(school_ids), "the demo gives every school a rollup row for its year"
    for name, school_id in ((n, ids["schools"][n]) for n in SCHEMAS):
        site.sql(
            "update tenants_schoolrollup set sheets_required_term1 = %s, sheets_done_term1 = %s"
            " where school_id = %s and year_start = %s returning id",
            (REQUIRED, LATE_DONE if name in LATE else REQUIRED, school_id, ids["year"]),
        )
    ((window, locks_at),) = site.sql(
        "insert into tenants_window (tier, unit_id, grades, category, year_start, opens_at, locks_at, reason,"
        " created_at) select 'province', id, '{}', 'scores_1', %s, now() - interval '30 days',"
        " now() + interval '2 days', 'Khóa điểm, nhận xét học kì I', now()"
        " from tenants_administrativeunit where kind = 'province' returning id, locks_at",
        (ids["year"],),
    )
    try:
        yield {"window": window, "locks_at": locks_at}
    finally:
        site.sql("update tenants_window set cancelled_at = now() where id = %s returning id", (window,))
        for school_id, required, done in kept:
            site.sql(
                "update tenants_schoolrollup set sheets_required_term1 = %s, sheets_done_term1 = %s"
                " where school_id = %s and year_start = %s returning id",
                (required, done, school_id, ids["year"]),
            )


@pytest.fixture(scope="module")
def person(site, browser):
    """``person(username)``: a page of that account's browser profile, signed in once for the whole module."""
    contexts: dict[str, object] = {}

    def page(username: str, *, totp: bool = False, viewport: dict = WIDE):
        if username not in contexts:
            context = browser.new_context(locale="vi-VN", viewport=WIDE)
            context.set_default_timeout(10_000)
            sign_in(context.new_page(), site, username, totp=totp)
            contexts[username] = context
        p = contexts[username].new_page()
        p.set_viewport_size(viewport)
        return p

    yield page
    for context in contexts.values():
        context.close()


def school_names(page) -> list[str]:
    """The schools listed in the board's school table, in order."""
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Hạn khóa tới"))
    return [t.strip() for t in table.locator("tbody tr td:first-child > a:first-child").all_inner_texts()]


def fits(page) -> bool:
    """The page itself never scrolls sideways (wide tables scroll in their own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def go(page, url: str) -> int:
    response = page.goto(url)
    page.wait_for_load_state("load")
    return response.status


def local_minute(moment: dt.datetime) -> str:
    return (moment.astimezone(dt.UTC) + dt.timedelta(hours=7)).strftime("%H:%M %d/%m/%Y")  # Vietnam: UTC+7


def workbook_rows(path) -> list[dict]:
    """The rows of a listing workbook under its header row (the row whose first cell is "Trường"), as dicts."""
    sheet = load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    top = next(i for i, r in enumerate(rows) if r[0] == "Trường")
    return [dict(zip(rows[top], r, strict=True)) for r in rows[top + 1 :] if r[0]]


def student_data(site, schema: str) -> tuple[list[str], list[str]]:
    """The school's student names and identity numbers (personal id, ministry code)."""
    rows = site.sql(f"select full_name, personal_id, moet_code from {schema}.schools_student")
    assert rows, f"the demo gives {schema} students"
    return [r[0] for r in rows], [n for r in rows for n in r[1:] if n]


def assert_no_student_data(page, names: list[str], numbers: list[str]) -> None:
    text = page.locator("body").inner_text()
    assert not [n for n in names if n in text], "a student's name on a board page"
    assert not [n for n in numbers if n in text], "a student's identity number on a board page"
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", text), "a 12-digit personal id on a board page"
    assert page.locator("a[href*='/students/'], a[href*='/record']").count() == 0


# --- 1. the province administrator: late for the next lock, and its export ------------------------------


def test_province_admin_filters_the_schools_late_for_the_next_lock_and_exports_them(site, person, lock_soon, shots):
    page = person(PROVINCE_ADMIN, totp=True)
    go(page, site.url(path="/"))
    page.locator("header").get_by_role("link", name="Bảng theo dõi").first.click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", level=1).inner_text().strip().startswith("Bảng theo dõi")
    page.get_by_label("Năm học").select_option(str(YEAR))
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state("load")
    assert set(school_names(page)) == set(SCHEMAS)
    lights = page.locator("table.board-schools tbody tr")
    for name in SCHEMAS:
        row = lights.filter(has=page.get_by_role("link", name=name, exact=True))
        expected = "Chậm tiến độ" if name in LATE else "Kịp tiến độ"
        assert expected in row.inner_text(), (name, row.inner_text())

    page.get_by_label("Chỉ trường chậm so với hạn khóa tới").check()
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state("load")
    assert "late=1" in page.url and f"year={YEAR}" in page.url
    assert sorted(school_names(page)) == sorted(LATE)
    assert page.get_by_label("Chỉ trường chậm so với hạn khóa tới").is_checked()
    page.screenshot(path=str(shots / "boards-province-late-1366.png"), full_page=True)

    with page.expect_download() as info:
        page.locator("form.board-filters").get_by_role("link", name="Tải về Excel").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    rows = workbook_rows(info.value.path())
    assert sorted(r["Trường"] for r in rows) == sorted(LATE)
    for r in rows:
        assert r["Tiến độ"] == "Chậm tiến độ"
        assert str(r["Bảng điểm HK I đã xong"]) == str(LATE_DONE)
        assert str(r["Bảng điểm HK I cần nhập"]) == str(REQUIRED)
        assert r["Hạn khóa tới"] == local_minute(lock_soon["locks_at"])

    # The same filter on a phone: the page does not scroll sideways, the table scrolls in its box.
    page.set_viewport_size(PHONE)
    assert fits(page)
    page.screenshot(path=str(shots / "boards-province-late-390.png"), full_page=True)


# --- 2. a commune officer and another unit's schools -----------------------------------------------------


def test_unit_officer_cannot_see_another_units_schools(site, person, ids, lock_soon, shots):
    page = person(UNIT_OFFICER, viewport=PHONE)
    go(page, site.url(path=f"/manage/board/?year={YEAR}"))
    assert set(school_names(page)) == {NAM_LOI, HOA_BINH}
    main = page.locator("main").inner_text()
    assert NGUYEN_DU not in main and LE_QUY_DON not in main and "Phường Tân An" not in main
    options = page.get_by_label("Đơn vị").locator("option").all_inner_texts()
    assert not [o for o in options if "Tân An" in o or "Sở GD" in o]
    # Late for the next lock: Nam Lợi only (Nguyễn Du is late too, but in Phường Tân An).
    page.get_by_label("Chỉ trường chậm so với hạn khóa tới").check()
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state("load")
    assert school_names(page) == [NAM_LOI]
    with page.expect_download() as info:
        page.locator("form.board-filters").get_by_role("link", name="Tải về Excel").click()
    assert [r["Trường"] for r in workbook_rows(info.value.path())] == [NAM_LOI]

    # Typed addresses of the other unit's school, its class and the unit itself: refused in words.
    other = ids["schools"][NGUYEN_DU]
    assert go(page, site.url(path=f"/manage/board/schools/{other}/?year={YEAR}")) == 404
    assert OUT_OF_SCOPE_SCHOOL in page.locator("main").inner_text()
    assert NGUYEN_DU not in page.locator("main").inner_text()
    page.screenshot(path=str(shots / "boards-unit-refused-390.png"), full_page=True)
    assert go(page, site.url(path=f"/manage/board/schools/{other}/classes/1/?year={YEAR}")) == 404
    assert OUT_OF_SCOPE_SCHOOL in page.locator("main").inner_text()
    assert go(page, site.url(path=f"/manage/board/?unit={ids['units']['Phường Tân An']}")) == 404
    assert OUT_OF_SCOPE_UNIT in page.locator("main").inner_text()
    assert go(page, site.url(path=f"/manage/board/?school={other}")) == 404
    assert OUT_OF_SCOPE_SCHOOL in page.locator("main").inner_text()
    # Nor through the statistics' drill-down.
    assert go(page, site.url(path=f"/manage/statistics/?school={other}")) == 404
    assert "Không tìm thấy trường này trong phạm vi của bạn." in page.locator("main").inner_text()
    assert NGUYEN_DU not in page.locator("main").inner_text()


# --- 3. the drill-down without a grant -------------------------------------------------------------------


def test_board_drill_down_without_a_grant_shows_no_student_data(site, person, ids, shots):
    names, numbers = student_data(site, SCHEMAS[NGUYEN_DU])
    page = person(INSPECTOR)
    go(page, site.url(path=f"/manage/board/?year={YEAR}"))
    page.get_by_role("link", name="Phường Tân An").first.click()
    page.wait_for_load_state("load")
    assert school_names(page) == [NGUYEN_DU]
    page.get_by_role("link", name=NGUYEN_DU, exact=True).click()
    page.wait_for_load_state("load")
    assert re.search(rf"/manage/board/schools/{ids['schools'][NGUYEN_DU]}/", page.url)
    assert NGUYEN_DU in page.get_by_role("heading", level=1).inner_text()
    classes = page.locator("table.board-classes tbody tr")
    assert classes.count() >= 2
    assert_no_student_data(page, names, numbers)
    page.get_by_role("link", name="6A1", exact=True).click()
    page.wait_for_load_state("load")
    assert "/classes/" in page.url and "6A1" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("table.board-classes tbody tr").count() == 1
    assert_no_student_data(page, names, numbers)


# --- 4. a grant the principal approved: one record, logged, refused after expiry --------------------------


def test_an_approved_grant_opens_one_record_logged_and_refused_after_expiry(site, person, ids, shots):
    school = SCHEMAS[NGUYEN_DU]
    slug = "thcs-nguyen-du"
    ((klass,),) = site.sql(f"select id from {school}.schools_schoolclass where name = '6A2'")
    (student, name), (other, other_name) = site.sql(
        f"select s.id, s.full_name from {school}.schools_enrolment e join {school}.schools_student s"
        " on s.id = e.student_id where e.school_class_id = %s and e.ends_on is null"
        " order by s.sort_key desc, s.id limit 2",
        (klass,),
    )
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7, days=1)).strftime("%d/%m/%Y %H:%M")  # Vietnam time

    # The inspector asks from the board's drill-down.
    inspector = person(INSPECTOR)
    go(inspector, site.url(path=f"/manage/board/schools/{ids['schools'][NGUYEN_DU]}/?year={YEAR}"))
    inspector.get_by_role("link", name=re.compile("Xin quyền xem học bạ")).click()
    inspector.wait_for_load_state("load")
    form = inspector.locator("#read-grant-form")
    form.get_by_label("Học sinh của lớp").select_option(label="6A2")
    form.get_by_label("Họ và tên học sinh").fill(name)
    form.get_by_label("Mục đích").fill("Kiểm tra hồ sơ chuyển trường")
    form.get_by_label("Xem đến").fill(until)
    form.get_by_role("button", name="Gửi đề nghị").click()
    inspector.wait_for_load_state("load")
    assert "Đã gửi đề nghị xem học bạ" in inspector.locator(".messages").inner_text()
    ((grant,),) = site.sql(
        "select id from tenants_accessgrant where school_id = %s and account_id ="
        " (select id from tenants_account where username = %s) order by id desc limit 1",
        (ids["schools"][NGUYEN_DU], INSPECTOR),
    )
    assert "Chờ hiệu trưởng duyệt" in inspector.locator(f'#my-read-grants tr[data-grant="{grant}"]').inner_text()

    # The principal approves it on the school's page.
    principal = person(PRINCIPAL, totp=True)
    go(principal, site.url(slug, "/"))
    principal.locator("header").get_by_role("link", name="Quyền xem học bạ").first.click()
    principal.wait_for_url(re.compile(r"/grants/$"))
    pending = principal.locator(f'#grant-pending [data-grant="{grant}"]')
    assert "Kiểm tra hồ sơ chuyển trường" in pending.inner_text() and name in pending.inner_text()
    pending.get_by_role("button", name="Duyệt", exact=True).click()
    principal.wait_for_load_state("load")
    assert "Đã duyệt quyền xem học bạ" in principal.locator(".messages").inner_text()
    assert principal.locator(f'#grant-active-table tr[data-grant="{grant}"]').count() == 1

    # The inspector opens that one record, read-only; another student of the class stays closed.
    inspector.reload()
    inspector.locator(f'#my-read-grants tr[data-grant="{grant}"]').get_by_role("link", name="Xem học bạ").click()
    inspector.wait_for_load_state("load")
    assert inspector.url.startswith(site.url(slug, f"/grants/{grant}/read/"))
    inspector.get_by_role("link", name=name, exact=True).click()
    inspector.wait_for_load_state("load")
    assert name in inspector.get_by_role("heading", level=1).inner_text()
    assert other_name not in inspector.locator("main").inner_text()
    assert inspector.locator("a[href*='pdf'], a[href*='print'], a[href*='export']").count() == 0
    record_url = inspector.url
    assert go(inspector, site.url(slug, f"/grants/{grant}/students/{other}/record/")) == 404
    # The board itself still shows no student, grant or not.
    go(inspector, site.url(path=f"/manage/board/schools/{ids['schools'][NGUYEN_DU]}/?year={YEAR}"))
    assert name not in inspector.locator("body").inner_text()

    # The read is in the school's grant log.
    principal.reload()
    read = principal.locator(f'#grant-reads-table tr[data-grant="{grant}"][data-student="{student}"]')
    assert read.count() == 1 and name in read.inner_text()
    principal.set_viewport_size(PHONE)
    assert fits(principal)
    principal.screenshot(path=str(shots / "boards-grant-log-390.png"), full_page=True)

    # Past the end by the database clock: refused, in words, and the refusal reads nothing more.
    site.sql("update tenants_accessgrant set until = now() - interval '1 minute' where id = %s returning id", (grant,))
    assert go(inspector, record_url) == 403
    assert "đã hết hạn hoặc đã bị thu hồi" in inspector.locator("main").inner_text()
    assert name not in inspector.locator("main").inner_text()
    assert site.sql(
        "select count(*) from tenants_platformauditentry where action = 'grant.read' and object_id = %s", (str(grant),)
    ) == [(1,)]


# --- 5. every board, statistics and summary page at 390 and 1366 px --------------------------------------


def test_board_statistics_and_summary_pages_fit_a_phone_and_a_wide_screen(site, person, ids, lock_soon, shots):
    school, unit = ids["schools"][NGUYEN_DU], ids["units"]["Xã Nam Lợi"]
    ((klass,),) = site.sql("select id from s_thcs_nguyen_du.schools_schoolclass where name = '6A1'")
    pages = [
        (PROVINCE_ADMIN, None, "/manage/board/", "board-province"),
        (PROVINCE_ADMIN, None, f"/manage/board/?unit={unit}", "board-unit"),
        (PROVINCE_ADMIN, None, f"/manage/board/schools/{school}/", "board-school"),
        (PROVINCE_ADMIN, None, f"/manage/board/schools/{school}/classes/{klass}/", "board-class"),
        (PROVINCE_ADMIN, None, "/manage/board/remind/?late=1", "board-remind"),
        (PROVINCE_ADMIN, None, "/manage/statistics/", "statistics-province"),
        (PROVINCE_ADMIN, None, f"/manage/statistics/?unit={unit}", "statistics-unit"),
        (PROVINCE_ADMIN, None, f"/manage/statistics/?school={school}", "statistics-school"),
        (UNIT_OFFICER, None, "/manage/board/", "board-commune"),
        (UNIT_OFFICER, None, "/manage/statistics/", "statistics-commune"),
        (PRINCIPAL, "thcs-nguyen-du", "/summary/", "summary"),
    ]
    crowded = []
    for username, slug, path, name in pages:
        page = person(username, totp=username in (PROVINCE_ADMIN, PRINCIPAL))
        for label, viewport in (("1366", WIDE), ("390", PHONE)):
            page.set_viewport_size(viewport)
            joined = f"{path}{'&' if '?' in path else '?'}year={YEAR}"
            assert go(page, site.url(slug, joined)) == 200, (username, joined)
            assert page.get_by_role("heading", level=1).count() == 1
            page.screenshot(path=str(shots / f"boards-{name}-{label}.png"), full_page=True)
            if not fits(page):
                crowded.append(f"{name} at {label} px")
        page.close()
    assert not crowded, f"pages that scroll sideways: {crowded}"
