"""A read grant in a real Chromium against a real server (see conftest.py for the set-up).

The province inspector asks Trường THCS Nguyễn Du to read one student's record; the principal approves on the
school's "Quyền xem học bạ" page; the inspector opens that one record (read-only, no personal data), the read appears
in the school's grant log, and once the database clock passes the grant's end the record is refused. Pages at 1366 and
390 px. Screenshots: ``/tmp/browser-shots/grant-*``.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
INSPECTOR = "so.thanhtra"
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_approved_grant_opens_one_record_which_the_school_sees_until_it_expires(site, new_context, shots):
    ((school_id,),) = site.sql("select id from tenants_school where schema_name = %s", (SCHEMA,))
    ((klass, class_name),) = site.sql(
        f"select c.id, c.name from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y"
        f" on y.id = c.year_id where y.start_year = (select max(start_year) from {SCHEMA}.schools_schoolyear)"
        " order by c.grade desc, c.name limit 1"
    )
    (student, name), (other, _other_name) = site.sql(
        f"select s.id, s.full_name from {SCHEMA}.schools_enrolment e join {SCHEMA}.schools_student s"
        " on s.id = e.student_id where e.school_class_id = %s and e.ends_on is null order by s.sort_key, s.id limit 2",
        (klass,),
    )
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7, days=2)).strftime("%d/%m/%Y %H:%M")  # Vietnam time

    # The inspector asks, from the school's page on the platform site.
    inspector = new_context(viewport=WIDE).new_page()
    sign_in(inspector, site, INSPECTOR)
    inspector.goto(site.url(path=f"/manage/schools/{school_id}/"))
    form = inspector.locator("#read-grant-form")
    form.locator("select[name=readgrant-student_class]").select_option(str(klass))
    form.locator("textarea[name=readgrant-student_names]").fill(name)
    form.locator("textarea[name=readgrant-purpose]").fill("Xác minh đơn phản ánh của phụ huynh")
    form.locator("input[name=readgrant-until]").fill(until)
    form.locator("button[type=submit]").click()
    inspector.wait_for_load_state("load")
    assert "Đã gửi đề nghị xem học bạ" in inspector.locator(".messages").inner_text()
    row = inspector.locator("#my-read-grants tbody tr").first
    assert "Chờ hiệu trưởng duyệt" in row.inner_text() and name in row.inner_text()
    inspector.screenshot(path=str(shots / "grant-request-1366.png"), full_page=True)
    inspector.set_viewport_size(PHONE)
    assert _fits(inspector)
    inspector.screenshot(path=str(shots / "grant-request-390.png"), full_page=True)
    inspector.set_viewport_size(WIDE)
    ((grant,),) = site.sql(
        "select id from tenants_accessgrant where school_id = %s order by id desc limit 1", (school_id,)
    )

    # The principal sees the request on the school's page and approves it.
    principal = new_context(viewport=WIDE).new_page()
    sign_in(principal, site, PRINCIPAL, totp=True)
    principal.goto(site.url(SCHOOL, "/"))
    principal.locator("header a", has_text="Quyền xem học bạ").first.click()
    principal.wait_for_url(re.compile(r"/grants/$"))
    pending = principal.locator(f'#grant-pending [data-grant="{grant}"]')
    assert "Xác minh đơn phản ánh" in pending.inner_text() and "Trần Thị Bình" in pending.inner_text()
    principal.screenshot(path=str(shots / "grant-pending-1366.png"), full_page=True)
    pending.locator("button[value=approve]").click()
    principal.wait_for_load_state("load")
    assert principal.locator(f'#grant-active-table tr[data-grant="{grant}"]').count() == 1

    # The inspector opens that one record from the platform site, read-only and without personal data.
    inspector.reload()
    inspector.locator("#my-read-grants a", has_text="Xem học bạ").click()
    inspector.wait_for_load_state("load")
    assert inspector.url.startswith(site.url(SCHOOL, f"/grants/{grant}/read/"))
    links = inspector.locator("#granted-students a")
    assert links.count() == 1 and links.first.inner_text().strip() == name
    links.first.click()
    inspector.wait_for_load_state("load")
    assert name in inspector.locator("main h1").inner_text()
    assert inspector.locator("#grant-notice").is_visible() and inspector.locator("#personal-withheld").is_visible()
    assert inspector.locator("#record-subjects tbody tr").count() > 0
    assert inspector.locator("a[href*='pdf'], a[href*='print'], a[href*='export']").count() == 0
    inspector.screenshot(path=str(shots / "grant-record-1366.png"), full_page=True)
    inspector.set_viewport_size(PHONE)
    assert _fits(inspector)
    inspector.screenshot(path=str(shots / "grant-record-390.png"), full_page=True)
    record_url = inspector.url
    # Another student of the school, and the school's own record page: refused.
    other_page = inspector.goto(site.url(SCHOOL, f"/grants/{grant}/students/{other}/record/"))
    assert other_page.status == 404
    assert inspector.goto(site.url(SCHOOL, f"/students/{student}/record/")).status == 403

    # The read appears in the school's grant log.
    principal.reload()
    read = principal.locator(f'#grant-reads-table tr[data-grant="{grant}"][data-student="{student}"]')
    assert read.count() == 1 and "Trần Thị Bình" in read.inner_text() and name in read.inner_text()
    principal.screenshot(path=str(shots / "grant-log-1366.png"), full_page=True)
    principal.set_viewport_size(PHONE)
    assert _fits(principal)
    principal.screenshot(path=str(shots / "grant-log-390.png"), full_page=True)

    # Once the database clock passes the end, the same record is refused, in Vietnamese.
    site.sql("update tenants_accessgrant set until = now() - interval '1 minute' where id = %s returning id", (grant,))
    expired = inspector.goto(record_url)
    assert expired.status == 403
    assert "đã hết hạn hoặc đã bị thu hồi" in inspector.locator("main").inner_text()
    inspector.screenshot(path=str(shots / "grant-expired-390.png"), full_page=True)
    assert site.sql(
        "select count(*) from tenants_platformauditentry where action = 'grant.read' and object_id = %s", (str(grant),)
    ) == [(1,)]
    principal.reload()
    assert "Đã hết hạn" in principal.locator(f'#grant-ended-table tr[data-grant="{grant}"]').inner_text()
