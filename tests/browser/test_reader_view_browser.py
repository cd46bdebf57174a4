"""The record book a parent reads, in a real Chromium against a real server (see conftest.py for the set-up).

"After a reopen the parent gets the last approved version, not a 403 nor the draft; the book names every parent;
the homeroom teacher's conduct comment is in it": the principal creates a parent's account (relation "Mẹ") for the
last student of 6A1 (Trường THCS Nguyễn Du) whom no other account reads; the homeroom teacher writes the conduct
comment of term I and submits that one book; the principal approves it and reopens it; the homeroom teacher rewrites
the comment in the draft. On a 390-px phone the parent reads the approved comment with the notice "đây là bản đã
duyệt ngày …", both parents named, the page not scrolling sideways; the homeroom teacher reads the draft.
The book is left reopened (a draft), as other browser tests expect 6A1's books to be editable or approvable.
Screenshots: ``/tmp/browser-shots/parent-*.png``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tenants.demo import DEMO_PASSWORD
from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHOOL = "thcs-nguyen-du"
SCHEMA = "s_" + SCHOOL.replace("-", "_")
PRINCIPAL = "nguyendu.hieutruong"  # TOTP
HOMEROOM_TEACHER = "nguyendu.gvcn"
NEW_PARENT, NEW_PARENT_NAME = "nguyendu.me.c2", "Đặng Thị Thu Hằng"
APPROVED_COMMENT = "Chăm ngoan, lễ phép, luôn giúp đỡ các bạn trong lớp"
DRAFT_COMMENT = "Bản nháp đang sửa của giáo viên chủ nhiệm"

SEND_JSON = """async ([method, url, body]) => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(url, {method, body: JSON.stringify(body), headers: {
        "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token}});
    return [response.status, await response.text()];
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def _send(page, method: str, url: str, body: dict) -> str:
    status, text = page.evaluate(SEND_JSON, [method, url, body])
    assert status in (200, 201), f"{method} {url}: {status} {text[:400]}"
    return text


def test_a_parent_reads_the_approved_book_while_the_school_corrects_it(site, new_context, shots):
    ((klass,),) = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c join {SCHEMA}.schools_schoolyear y on y.id = c.year_id"
        " where c.name = '6A1' and y.start_year = 2025"
    )
    ((student, name),) = site.sql(
        f"select s.id, s.full_name from {SCHEMA}.schools_enrolment e join {SCHEMA}.schools_student s"
        f" on s.id = e.student_id where e.school_class_id = %s and not exists (select 1 from"
        f" {SCHEMA}.schools_guardianlink g where g.student_id = s.id) order by s.sort_key desc, s.id desc limit 1",
        (klass,),
    )
    ((record, state, profile_guardians),) = site.sql(
        f"select r.id, r.state, s.guardians from {SCHEMA}.schools_recordbook r join {SCHEMA}.schools_student s"
        " on s.id = r.student_id where r.student_id = %s",
        (student,),
    )
    assert state == "draft", f"another test moved {name}'s book: {state}"
    record_path = f"/students/{student}/record/"

    # The principal creates the mother's account on the student's guardians page.
    principal = new_context().new_page()
    sign_in(principal, site, PRINCIPAL, totp=True)
    principal.goto(site.url(SCHOOL, f"/students/{student}/guardians/"))
    create = principal.locator("#tao-tai-khoan form")
    create.locator("input[name=full_name]").fill(NEW_PARENT_NAME)
    create.locator("input[name=username]").fill(NEW_PARENT)
    create.locator("input[name=relation]").fill("Mẹ")
    create.locator("input[name=password]").fill(DEMO_PASSWORD)
    create.locator("button[type=submit]").click()
    principal.wait_for_load_state("load")
    linked = principal.locator("#da-lien-ket tbody tr")
    assert linked.count() == 1 and [t.strip() for t in linked.locator("td").all_inner_texts()][:3] == [
        NEW_PARENT_NAME,
        "Mẹ",
        NEW_PARENT,
    ]

    # The homeroom teacher writes the conduct comment of term I and submits this one book.
    homeroom = new_context().new_page()
    sign_in(homeroom, site, HOMEROOM_TEACHER)
    homeroom.goto(site.url(SCHOOL, f"/classes/{klass}/conduct/1/"))
    conduct_url = f"/api/v1/classes/{klass}/conduct/1/"
    _send(homeroom, "PUT", conduct_url, {"entries": [{"student": student, "level": "T", "text": APPROVED_COMMENT}]})
    _send(homeroom, "POST", f"/api/v1/classes/{klass}/submit/", {"student_ids": [student]})

    # The principal approves it (it misses term II: with a reason), then reopens it.
    reason = "Duyệt học kì I để phụ huynh theo dõi"
    _send(principal, "POST", f"/api/v1/classes/{klass}/approve/", {"student_ids": [student], "reason": reason})
    ((approved_at,),) = site.sql(f"select approved_at from {SCHEMA}.schools_recordbook where id = %s", (record,))
    _send(principal, "POST", f"/api/v1/records/{record}/reopen/", {"reason": "Sửa nhận xét rèn luyện"})
    _send(homeroom, "PUT", conduct_url, {"entries": [{"student": student, "level": "K", "text": DRAFT_COMMENT}]})

    # The mother, on her phone: the approved book, with the notice, both parents named, nothing off screen.
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    sign_in(phone, site, NEW_PARENT)
    phone.goto(site.url(SCHOOL, record_path))
    approved_on = approved_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    notice = phone.locator("#record-approved-version")
    assert notice.inner_text().strip() == (
        f"Học bạ đang được nhà trường điều chỉnh; đây là bản đã duyệt ngày {approved_on}."
    )
    assert notice.is_visible()
    comments = phone.locator("#record-conduct-comments").inner_text()
    assert APPROVED_COMMENT in comments and "Học kì I" in comments
    assert DRAFT_COMMENT not in phone.content()
    assert phone.locator("#record-state").inner_text().strip() == "Hiệu trưởng đã duyệt"
    guardians = [t.strip() for t in phone.locator("#record-guardians [data-guardian]").all_inner_texts()]
    expected = [f"{g['name']} ({g['relation']})" if g.get("relation") else g["name"] for g in profile_guardians]
    assert guardians[: len(expected)] == expected and f"{NEW_PARENT_NAME} (Mẹ)" in guardians, guardians
    assert phone.evaluate(OVERFLOW) <= 0
    phone.screenshot(path=str(shots / "parent-record-390.png"), full_page=True)
    notice.scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "parent-notice-390.png"))
    phone.locator("#record-conduct-comments").scroll_into_view_if_needed()
    phone.screenshot(path=str(shots / "parent-conduct-390.png"))
    phone.set_viewport_size({"width": 1366, "height": 900})
    assert phone.evaluate(OVERFLOW) <= 0
    phone.screenshot(path=str(shots / "parent-record-1366.png"), full_page=True)

    # The homeroom teacher reads the working draft, with the reason of the reopening.
    homeroom.goto(site.url(SCHOOL, record_path))
    assert DRAFT_COMMENT in homeroom.locator("#record-conduct-comments").inner_text()
    assert homeroom.locator("#record-approved-version").count() == 0
    assert "Sửa nhận xét rèn luyện" in homeroom.content()
