"""The school's home in a real Chromium: the principal of Trường THPT Lê Quý Đôn (a school no other browser test
changes) finds what waits for them first — records submitted for approval, a record reopened and not resubmitted,
an entry window that locks within a week — then the class list's status column; both fit a 390-px phone and a
1366-px screen without a page-wide sideways scroll (the class list's table scrolls inside its box).
Screenshots: ``/tmp/browser-shots/home-principal-*.png`` and ``home-classes-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thpt-le-quy-don"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
PRINCIPAL = "lequydon.hieutruong"  # TOTP
SIZES = ((1366, 768), (390, 844))


def _scroll_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_the_principal_sees_the_work_first_on_a_phone_and_a_laptop(site, new_context, shots):
    ((class_id, class_name, year_start),) = site.sql(
        f"SELECT c.id, c.name, y.start_year FROM {SCHEMA}.schools_schoolclass c"
        f" JOIN {SCHEMA}.schools_schoolyear y ON y.id = c.year_id"
        f" WHERE EXISTS (SELECT 1 FROM {SCHEMA}.schools_recordbook r WHERE r.school_class_id = c.id)"
        f" ORDER BY y.start_year DESC, c.grade, c.name LIMIT 1"
    )
    records = [
        r
        for (r,) in site.sql(
            f"SELECT id FROM {SCHEMA}.schools_recordbook WHERE school_class_id = %s ORDER BY id", (class_id,)
        )
    ]
    assert len(records) >= 4, "the demo class has students"
    site.sql(
        f"UPDATE {SCHEMA}.schools_recordbook SET state = 'submitted' WHERE id = ANY(%s) RETURNING id", (records[:3],)
    )
    site.sql(
        f"UPDATE {SCHEMA}.schools_recordbook SET state = 'draft', reopened_reason = 'Sửa nhận xét cuối năm'"
        " WHERE id = %s RETURNING id",
        (records[3],),
    )
    site.sql(
        "INSERT INTO tenants_window (tier, school_id, category, year_start, grades, opens_at, locks_at, reason,"
        " created_at) SELECT 'school', id, 'year_end', %s, '{}', now() - interval '1 day',"
        " now() + interval '3 days 1 hour', 'Khóa sớm đánh giá cuối năm', now()"
        " FROM tenants_school WHERE slug = %s RETURNING id",
        (year_start, SCHOOL),
    )

    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    page.goto(site.url(SCHOOL))
    waiting = page.locator("#waiting")
    approve = waiting.locator("#wait-approve")
    assert "Lớp " + class_name in approve.inner_text() and "3 học bạ GVCN đã trình" in approve.inner_text()
    assert "Sửa nhận xét cuối năm" in waiting.locator("#wait-reopened").inner_text()
    assert "Đánh giá cuối năm" in waiting.locator("#wait-closing").inner_text()
    assert "còn 3 ngày" in waiting.locator("#wait-closing").inner_text()
    # the work comes before the roles and the links
    assert page.evaluate(
        "() => document.querySelector('#waiting').getBoundingClientRect().top"
        " < document.querySelector('ul.roles').getBoundingClientRect().top"
    )
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        page.screenshot(path=str(shots / f"home-principal-{width}.png"), full_page=True)
        assert _scroll_width(page) <= width, f"the home scrolls sideways at {width} px"

    approve = page.locator("#wait-approve a").first
    approve.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/classes/{class_id}/#hoc-ba")

    page.goto(site.url(SCHOOL, "/classes/"))
    row = page.locator(f"#class-list tr[data-class='{class_id}']")
    assert "Đã trình 3" in row.inner_text() and "Đang nhập" in row.inner_text()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        page.screenshot(path=str(shots / f"home-classes-{width}.png"), full_page=True)
        assert _scroll_width(page) <= width, f"the class list scrolls sideways at {width} px"
