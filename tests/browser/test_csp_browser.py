"""The Content-Security-Policy in a real Chromium: the main pages load with no violation, and their scripts (now
static files only) still work: the language switch submits itself, the grade sheet takes a keystroke and saves.

Violations are caught twice: the console's "Refused to …" errors and the ``securitypolicyviolation`` events the page
fires. What the sheet test types is put back afterwards (the other browser tests expect the demo's data).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_records_browser import SCHOOL, SUBJECT_TEACHER, accept_dialogs, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = e.sourceFile + ":" + e.lineNumber;
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + where);
});
"""


def watch(page) -> list[str]:
    """Console errors that name the policy; the page's own violation events are read by ``violations``."""
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return console


def violations(page) -> list[str]:
    """The current document's violation events (read before leaving it)."""
    return [f"{page.url}: {v}" for v in page.evaluate("() => window.__cspViolations || []")]


@pytest.fixture(scope="module")
def sheet_ids(site) -> dict[str, int]:
    schema = "s_" + SCHOOL.replace("-", "_")
    (klass,) = site.sql(f"select id from {schema}.schools_schoolclass where name = '6A1'")[0]
    (subject,) = site.sql(f"select id from {schema}.schools_subject where code = 'toan' and level = 'lower_secondary'")[
        0
    ]
    return {"class": klass, "subject": subject}


def test_main_pages_load_without_violations_and_their_scripts_work(site, new_context, sheet_ids):
    page = new_context().new_page()
    console = watch(page)
    events: list[str] = []
    accept_dialogs(page)

    # The sign-in page; the language switch (an inline onchange before) submits its form from hocba/site.js.
    response = page.goto(site.url(path="/accounts/login/"))
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    events += violations(page)
    with page.expect_navigation():
        page.locator("select[name=language]").select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.locator("select[name=language]").select_option("vi")
    assert page.locator("html").get_attribute("lang") == "vi"

    sign_in(page, site, SUBJECT_TEACHER)
    page.goto(site.url(SCHOOL, f"/classes/{sheet_ids['class']}/"))
    assert page.locator("main h1").inner_text().strip() == "Lớp 6A1"
    events += violations(page)

    # The grade sheet: a keystroke marks the cell, Ctrl+S saves through the API; then the cell is put back.
    page.goto(site.url(SCHOOL, f"/classes/{sheet_ids['class']}/sheets/{sheet_ids['subject']}/2/"))
    assert page.locator("#sheet").get_attribute("data-editable") == "true"
    cell = page.locator("#sheet tbody tr").last.locator("textarea[data-column=nx]")
    original = cell.input_value()
    cell.focus()
    page.keyboard.press("End")
    page.keyboard.type("!")
    assert page.locator("#sheet td.cell.dirty").count() == 1
    for value in (original + "!", original):
        if cell.input_value() != value:
            cell.fill(value)
        with page.expect_response(lambda r: r.request.method == "PUT" and "/sheets/" in r.url) as put:
            page.keyboard.press("Control+s")
        assert put.value.status == 200, put.value.text()[:500]
        page.locator("#sheet-status").filter(has_text=re.compile("Đã lưu")).wait_for()
        assert page.locator("#sheet td.cell.dirty").count() == 0
    events += violations(page)
    page.reload()
    assert page.locator("#sheet tbody tr").last.locator("textarea[data-column=nx]").input_value() == original

    # The API's documentation pages (Swagger's start-up script is a URL of its own; Redoc uses a blob: worker).
    page.goto(site.url(path="/api/v1/docs/"))
    page.get_by_text("HọcBạ API").first.wait_for()
    events += violations(page)
    page.goto(site.url(path="/api/v1/redoc/"))
    page.get_by_text("HọcBạ API").first.wait_for()
    page.wait_for_timeout(500)
    events += violations(page)
    # Redoc's "powered by" logo comes from its makers' CDN: kept out on purpose (the docs work offline and tell no
    # third party who reads them); the page works without it. Nothing else may be refused.
    refused = [v for v in console + events if "https://cdn.redoc.ly/" not in v]
    assert refused == [], refused
