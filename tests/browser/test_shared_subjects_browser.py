"""A subject shared by several teachers, in a real Chromium against a real server: the principal opens KHTN of 6A1
from the class's setup page, gives Vật lí, Hoá học and Sinh học to three teachers with one choice per sheet column,
saves; the class page lists the shared subject, the grade sheet says who enters which columns, both pages fit a
390-px phone; the subject is then cleared again (the other browser tests find the demo as it was).

Screenshots: ``/tmp/browser-shots/shared-*``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_records_browser import sign_in
from tests.browser.test_schoolwork_browser import (
    PRINCIPAL,
    SCHEMA,
    SCHOOL,
    assert_no_horizontal_overflow,
    check_page,
    messages_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SUBJECT = "Khoa học tự nhiên"
LINES = {1: ("Ngô Thị Lan", "Vật lí"), 2: ("Dương Văn Minh", "Hoá học"), 3: ("Đỗ Văn Khánh", "Sinh học")}
OWNERS = {"tx1": 1, "tx2": 1, "tx3": 2, "tx4": 3, "gk": 3, "ck": 3, "nx": 3}


def test_principal_shares_khtn_between_three_teachers(site, new_context, shots):
    (class_id,) = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        " where c.name = '6A1' and y.start_year = 2025"
    )[0]
    (subject_id,) = site.sql(
        f"select id from {SCHEMA}.schools_subject where code = 'khoa_hoc_tu_nhien' and level = 'lower_secondary'"
    )[0]
    page = new_context().new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    page.goto(site.url(SCHOOL, f"/setup/classes/{class_id}/"))
    row = page.locator("#assignments tbody tr", has_text=SUBJECT)
    row.get_by_role("link", name="Nhiều giáo viên…").click()
    url = site.url(SCHOOL, f"/setup/classes/{class_id}/assignments/{subject_id}/parts/")
    page.wait_for_url(url)
    assert page.locator("main h1").inner_text().strip() == f"Môn {SUBJECT} — lớp 6A1: nhiều giáo viên cùng dạy"
    check_page(page)
    for n, (teacher, part) in LINES.items():
        page.locator(f"#id_parts-teacher_{n}").select_option(label=teacher)
        page.locator(f"#id_parts-part_{n}").fill(part)
    for key, n in OWNERS.items():
        page.locator(f'input[name="parts-column_{key}"][value="{n}"]').check()
    page.screenshot(path=str(shots / "shared-1-parts.png"), full_page=True)
    page.get_by_role("button", name="Lưu phân công môn").click()
    page.wait_for_url(site.url(SCHOOL, f"/setup/classes/{class_id}/#phan-cong"))
    assert f"Đã lưu phân công môn {SUBJECT} của lớp 6A1." in messages_text(page)
    shared = page.locator("#shared-subjects tbody tr", has_text=SUBJECT)
    assert shared.count() == 1 and "Vật lí" in shared.inner_text() and "(điều phối)" in shared.inner_text()
    stored = site.sql(
        f"select a.full_name, t.part, t.columns from {SCHEMA}.schools_teachingassignment t"
        " join public.tenants_account a on a.id = t.teacher_id where t.school_class_id = %s and t.subject_id = %s",
        (class_id, subject_id),
    )
    assert sorted((name, part, list(cols)) for name, part, cols in stored) == sorted(
        (LINES[n][0], LINES[n][1], [k for k, owner in OWNERS.items() if owner == n]) for n in LINES
    ), stored
    check_page(page)
    page.screenshot(path=str(shots / "shared-2-class.png"), full_page=True)

    # A phone: the parts page and the grade sheet (which names who enters which columns) fit the window.
    phone = new_context(storage_state=page.context.storage_state(), viewport={"width": 390, "height": 844}).new_page()
    phone.goto(url)
    assert phone.locator("#parts-columns").count() == 1
    assert phone.locator('input[name="parts-column_tx3"][value="2"]').is_checked()
    assert_no_horizontal_overflow(phone)
    phone.screenshot(path=str(shots / "shared-3-phone-parts.png"), full_page=True)
    phone.goto(site.url(SCHOOL, f"/classes/{class_id}/sheets/{subject_id}/1/"))
    parts = phone.locator("#sheet-parts")
    assert parts.is_visible() and re.search(r"Hoá học.*ĐĐGtx 3", parts.inner_text(), re.S)
    assert_no_horizontal_overflow(phone)
    phone.screenshot(path=str(shots / "shared-4-phone-sheet.png"), full_page=True)

    # Cleared again.
    shared.get_by_role("button", name="Bỏ phân công").click()
    page.wait_for_url(re.compile(r"#phan-cong$"))
    assert page.locator("#shared-subjects").count() == 0
    assert not site.sql(
        f"select 1 from {SCHEMA}.schools_teachingassignment where school_class_id = %s and subject_id = %s",
        (class_id, subject_id),
    )
