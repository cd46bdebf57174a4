"""Incomplete record books on the class page, in a real Chromium against a real server (see conftest.py).

Trường Tiểu học Nam Lợi's 1A1 (TT27) as the demo seeds it: nothing entered, so every book misses items. On a
390-px phone the homeroom teacher reads the list of incomplete books, submits one student and withdraws it; the
principal, at 1366 px, cannot approve the incomplete book without a reason, approves it with one, sees the reason in
the history, and reopens the book, which leaves the class as it was. Screenshots: ``/tmp/browser-shots/complete-*``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_records_browser import accept_dialogs, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "th-nam-loi"
SCHEMA = "s_th_nam_loi"
HOMEROOM = "namloi.gvcn"
PRINCIPAL = "namloi.hieutruong"  # TOTP
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
REASON = "Học sinh chuyển đến, bổ sung nhận xét sau"


def fits(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def messages_text(page) -> str:
    box = page.locator("ul.messages")
    return box.inner_text() if box.count() else ""


def test_incomplete_books_listed_submitted_withdrawn_and_approved_with_a_reason(site, new_context, shots):
    class_id = site.sql(f"select id from {SCHEMA}.schools_schoolclass where name = '1A1'")[0][0]
    drafts = site.sql(
        f"select r.student_id, s.full_name from {SCHEMA}.schools_recordbook r"
        f" join {SCHEMA}.schools_student s on s.id = r.student_id where r.school_class_id = %s and r.state = 'draft'"
        " order by s.sort_key",
        (class_id,),
    )
    assert len(drafts) >= 2, "the demo's 1A1 has draft records"
    student, name = drafts[0]
    url = site.url(SCHOOL, f"/classes/{class_id}/")

    def state() -> str:
        return site.sql(f"select state from {SCHEMA}.schools_recordbook where student_id = %s", (student,))[0][0]

    # --- the homeroom teacher on a phone --------------------------------------------------------------------
    page = new_context(viewport=PHONE).new_page()
    dialogs = accept_dialogs(page)
    sign_in(page, site, HOMEROOM)
    page.goto(url)
    summary = page.locator("#hoc-ba-chua-du details.incomplete-list > summary")
    assert re.match(r"^\d+ học bạ chưa đủ", summary.inner_text()), summary.inner_text()
    item = page.locator(f"#hoc-ba-chua-du li[data-student='{student}']")
    assert not item.is_visible()  # collapsed until asked for
    summary.click()
    assert item.is_visible()
    words = item.inner_text()
    assert name in words and "HK I (chưa nhập môn nào)" in words and "Nhận xét của GVCN" in words, words
    assert "Phẩm chất, năng lực HK II" in words and "Rèn luyện" not in words  # TT27: qualities, no conduct
    assert fits(page)
    page.screenshot(path=str(shots / "complete-1-list-390.png"), full_page=True)

    page.locator("#tung-hoc-sinh > summary").click()
    page.locator(f"#tung-hoc-sinh input[name=student_ids][value='{student}']").check()
    page.locator("#submit-picked").click()
    page.wait_for_load_state("load")
    text = messages_text(page)
    assert "Đã trình 1 học bạ lên Ban giám hiệu." in text and f"chưa đủ dữ liệu: {name}" in text, text
    assert state() == "submitted" and fits(page)
    page.screenshot(path=str(shots / "complete-2-submitted-390.png"), full_page=True)

    # --- the principal at 1366 px: a reason is required for the incomplete book ------------------------------
    principal = new_context(viewport=DESKTOP).new_page()
    principal_dialogs = accept_dialogs(principal)
    sign_in(principal, site, PRINCIPAL, totp=True)
    principal.goto(url)
    reason = principal.locator("#approve-reason")
    assert reason.is_visible() and reason.get_attribute("required") is not None
    assert "Lý do duyệt khi học bạ chưa đủ (1 học bạ" in principal.locator("form.approve").inner_text()
    principal.locator("#approve-records").click()  # the empty reason stops the form in the browser
    assert state() == "submitted" and principal.url == url
    principal.screenshot(path=str(shots / "complete-3-reason-1366.png"), full_page=True)

    # --- back on the phone, the homeroom teacher withdraws it, then submits it again ---------------------------
    page.goto(url)
    page.locator("#tung-hoc-sinh > summary").click()
    page.locator(f"#tung-hoc-sinh input[name=student_ids][value='{student}']").check()
    page.locator("#withdraw-picked").click()
    page.wait_for_load_state("load")
    assert "Đã rút lại 1 học bạ về trạng thái đang nhập." in messages_text(page)
    assert state() == "draft"
    page.locator("#tung-hoc-sinh > summary").click()
    page.locator(f"#tung-hoc-sinh input[name=student_ids][value='{student}']").check()
    page.locator("#submit-picked").click()
    page.wait_for_load_state("load")
    assert state() == "submitted"
    assert not [d for d in dialogs if d.startswith("confirm")]  # per student: no class-wide question

    # --- the principal approves with a reason, reads it in the history, and reopens the book ------------------
    principal.goto(url)
    principal.locator("#approve-reason").fill(REASON)
    principal.locator("#approve-records").click()
    principal.wait_for_load_state("load")
    assert principal_dialogs and principal_dialogs[-1].startswith("confirm: Duyệt mọi học bạ"), principal_dialogs
    text = messages_text(principal)
    assert "Đã duyệt 1 học bạ." in text and "lý do đã được ghi vào từng học bạ" in text, text
    assert state() == "approved"
    assert site.sql(
        f"select approved_incomplete_reason from {SCHEMA}.schools_recordbook where student_id = %s", (student,)
    ) == [(REASON,)]
    principal.goto(site.url(SCHOOL, f"/history/?student={student}"))
    history = principal.locator("main").inner_text()
    assert "đã duyệt học bạ khi còn thiếu dữ liệu" in history and REASON in history, history[:2000]
    assert "đã rút lại hồ sơ đã trình" in history and "đã trình học bạ" in history
    principal.screenshot(path=str(shots / "complete-4-history-1366.png"), full_page=True)
    principal.goto(url)
    row = principal.locator(f"#hoc-sinh tr[data-student='{student}']")
    row.locator("input[name=reason]").fill("Trả lại để bổ sung dữ liệu")
    row.get_by_role("button", name="Mở lại").click()
    principal.wait_for_load_state("load")
    assert state() == "draft"
    assert fits(principal)
