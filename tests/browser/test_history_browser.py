"""The history as people read it, in a real Chromium (issue 11): a save on the grade sheet page is recorded as the
web page's (the page's script marks its API call, the server trusts the mark from a signed-in same-origin browser);
the principal's history shows it as a sentence, fits a 390-px phone and a 1366-px screen without a page-wide
scroll and stays short; a name typed without accents finds the student; the platform log reads as sentences.
Screenshots: ``/tmp/browser-shots/hist-*``; the page heights measured are printed."""

from __future__ import annotations

import re

import pytest
from hocba.kernel.text import fold

from tests.browser.test_records_browser import PRINCIPAL, SCHOOL, SUBJECT_TEACHER, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMA = "s_" + SCHOOL.replace("-", "_")
COMMENT = "Cần luyện thêm phần hình học"


def _ids(site) -> tuple[int, int]:
    (klass,) = site.sql(f"select id from {SCHEMA}.schools_schoolclass where name = '6A1'")[0]
    (subject,) = site.sql(f"select id from {SCHEMA}.schools_subject where code = 'toan' and level = 'lower_secondary'")[
        0
    ]
    return klass, subject


def _measure(page) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollHeight, document.documentElement.scrollWidth]")


def test_a_sheet_save_is_the_web_pages_and_the_history_reads_and_fits(site, new_context, shots):
    klass, subject = _ids(site)
    teacher = new_context().new_page()
    sign_in(teacher, site, SUBJECT_TEACHER)
    teacher.goto(site.url(SCHOOL, f"/classes/{klass}/sheets/{subject}/1/"))
    last = teacher.locator("#sheet tbody tr").last
    comment = last.locator("textarea[data-column=nx]")
    comment.fill(COMMENT)
    comment.dispatch_event("input")
    with teacher.expect_response(lambda r: r.request.method == "PUT" and "/sheets/" in r.url) as put:
        teacher.locator("#sheet-save").click()
    assert put.value.status == 200, put.value.text()[:300]
    assert put.value.request.headers.get("x-hocba-page") == "1"
    ((source, account),) = site.sql(
        f"select e.source, a.username from {SCHEMA}.schools_auditentry e join public.tenants_account a"
        " on a.id = e.account_id where e.table_name = 'schools_assessment' order by e.id desc limit 1"
    )
    assert (source, account) == ("web", SUBJECT_TEACHER)

    page = new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, site, PRINCIPAL, totp=True)
    page.goto(site.url(SCHOOL, "/history/"))
    sentences = page.locator("table.history p.sentence").all_inner_texts()
    mine = [s for s in sentences if COMMENT in s or "điểm và nhận xét" in s]
    assert mine and re.search(r"đã (sửa|thêm) điểm và nhận xét của học sinh .+ \(Toán · HKI", mine[0]), mine[:2]
    assert mine[0].endswith("— qua trang web."), mine[0]
    body = page.locator("main").inner_text()
    assert "∅" not in body and "{" not in body and "'" not in body
    wide_height, wide_width = _measure(page)
    page.screenshot(path=str(shots / "hist-1-history-1366.png"), full_page=True)
    assert wide_width <= 1366

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    phone_height, phone_width = _measure(page)
    page.screenshot(path=str(shots / "hist-2-history-390.png"), full_page=True)
    assert phone_width <= 390, "the page scrolls sideways on a phone"
    print(f"history page height: {wide_height} px at 1366, {phone_height} px at 390")
    assert wide_height < 12000 and phone_height < 30000

    # A name typed without accents finds the students.
    page.goto(site.url(SCHOOL, "/history/?q=nguyen"))
    found = page.locator("main ul li a[href^='?student=']").all_inner_texts()
    assert found and all("nguyen" in fold(name) for name in found), found

    # The school's platform log: sentences, no codes or dicts.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url(SCHOOL, "/audit/"))
    log = page.locator("table.history p.sentence").all_inner_texts()
    assert log and all(" đã " in s for s in log), log[:3]
    text = page.locator("table.history").inner_text()
    assert "membership.grant" not in text and "unit_id" not in text and "None" not in text
    page.screenshot(path=str(shots / "hist-3-school-log-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    log_height, log_width = _measure(page)
    page.screenshot(path=str(shots / "hist-4-school-log-390.png"), full_page=True)
    assert log_width <= 390, "the log scrolls sideways on a phone"
    print(f"school log page height: {log_height} px at 390")
