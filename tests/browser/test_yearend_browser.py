"""The principal's year-end decisions page in a real Chromium against a real server: entered with the keyboard
(Enter moves to the same field of the next row), saved with Ctrl+S in one request through the API like the other
entry pages, a refusal shown on its row and cell with nothing typed lost, and the page at 390 px.

Screenshots: ``/tmp/browser-shots/yearend-*``.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.test_records_browser import accept_dialogs, sign_in
from tests.browser.test_schoolwork_browser import (
    PRINCIPAL,
    SCHEMA,
    SCHOOL,
    assert_no_horizontal_overflow,
    check_page,
    messages_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

NOTE = "Hoàn thành chương trình lớp 6"


def test_yearend_decisions_entered_with_the_keyboard_and_saved(site, new_context, shots):
    # A class no other browser test has submitted or approved (the records test approves 6A1 in the same site).
    class_id = site.sql(
        f"select c.id from {SCHEMA}.schools_schoolclass c"
        f" where exists (select 1 from {SCHEMA}.schools_enrolment e where e.school_class_id = c.id"
        f" and e.ends_on is null having count(*) >= 2)"
        f" and not exists (select 1 from {SCHEMA}.schools_recordbook r where r.school_class_id = c.id"
        f" and r.state <> 'draft') order by c.name desc limit 1"
    )[0][0]
    page = new_context().new_page()
    accept_dialogs(page)
    sign_in(page, site, PRINCIPAL, totp=True)
    url = site.url(SCHOOL, f"/year-end/classes/{class_id}/")
    page.goto(url)
    rows = page.locator("#entry tbody tr[data-student]:not(.locked)")
    students = rows.evaluate_all("trs => trs.map(t => t.dataset.student)")
    assert len(students) >= 2
    assert page.locator("#entry-save").is_disabled()
    check_page(page)

    def focused():
        return tuple(
            page.evaluate(
                "() => { const e = document.activeElement; const tr = e && e.closest('tr');"
                " return [tr ? tr.dataset.student : null, e ? e.dataset.field || null : null]; }"
            )
        )

    # The completion note of the first two students: type, Enter to the same field one row down, type.
    rows.nth(0).locator("[data-field=completion_note]").click()
    page.keyboard.type(NOTE)
    page.keyboard.press("Enter")
    assert focused() == (students[1], "completion_note"), focused()
    page.keyboard.type(NOTE)
    assert page.locator("#entry tbody tr.dirty").count() == 2
    assert page.locator("#entry-status").inner_text().strip() == "2 dòng đã sửa, chưa lưu"
    shot = shots / "yearend-1-typed.png"
    page.screenshot(path=str(shot), full_page=True)

    # A refusal: the server's row error stands on its row and its cell; nothing is reloaded or lost.
    refusal = {
        "code": "class.invalid_rows",
        "detail": "Có dòng không hợp lệ.",
        "errors": [
            {
                "index": 0,
                "student": int(students[1]),
                "code": "yearend.bad_completion",
                "detail": "Ghi chú hoàn thành chương trình không hợp lệ.",
                "detail_en": "The completion note is not valid.",
                "field": "completion_note",
            }
        ],
    }
    page.route(
        "**/year-end/decisions/",
        lambda route: route.fulfill(status=400, content_type="application/json", body=json.dumps(refusal)),
    )
    with page.expect_response(lambda r: r.request.method == "PUT" and "/year-end/decisions/" in r.url):
        page.keyboard.press("Control+s")
    second = page.locator(f"#entry tr[data-student='{students[1]}']")
    second.locator(".row-msg").filter(has_text="không hợp lệ").wait_for()
    assert "error" in (second.get_attribute("class") or "")
    assert second.locator("[data-field=completion_note]").get_attribute("aria-invalid") == "true"
    assert page.locator("#entry tbody tr.dirty").count() == 2
    assert page.locator("#entry-status").inner_text().strip() == "Có 1 dòng không hợp lệ; chưa lưu gì."
    page.screenshot(path=str(shots / "yearend-2-refused.png"), full_page=True)
    page.unroute("**/year-end/decisions/")

    # Saved for real: one PUT with both rows; the page comes back from the server with the notes.
    with page.expect_response(lambda r: r.request.method == "PUT" and "/year-end/decisions/" in r.url) as put:
        page.keyboard.press("Control+s")
    assert put.value.status == 200, put.value.text()[:500]
    body = json.loads(put.value.request.post_data)
    assert sorted(str(e["student"]) for e in body["entries"]) == sorted(students[:2])
    assert all(e == {"student": e["student"], "completion_note": NOTE} for e in body["entries"])
    page.wait_for_url(lambda u: "saved=2" in u)
    assert "Đã lưu quyết định cuối năm của 2 học sinh." in messages_text(page)
    for sid in students[:2]:
        assert page.locator(f"#entry tr[data-student='{sid}'] [data-field=completion_note]").input_value() == NOTE
    stored = site.sql(
        f"select student_id, completion_note from {SCHEMA}.schools_recordbook where student_id = any(%s)",
        ([int(s) for s in students[:2]],),
    )
    assert {str(s): n for s, n in stored} == {s: NOTE for s in students[:2]}, stored
    assert page.locator("#entry tbody tr.dirty").count() == 0
    check_page(page)
    page.screenshot(path=str(shots / "yearend-3-saved.png"), full_page=True)

    # A phone: the wide table scrolls inside its box, the page itself does not.
    phone = new_context(storage_state=page.context.storage_state(), viewport={"width": 390, "height": 844}).new_page()
    phone.goto(url)
    assert phone.locator("#entry").count() == 1
    assert_no_horizontal_overflow(phone)
    phone.screenshot(path=str(shots / "yearend-4-phone.png"), full_page=True)
