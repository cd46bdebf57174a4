"""API tokens in a real Chromium, at a phone's width and a laptop's: a teacher issues a read token on the platform
site, sees its key once, uses it on the API of the school (reads pass, writes are refused), and revokes it; the
whole page, header included, fits a 390 px screen."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.test_records_browser import SCHOOL, SUBJECT_TEACHER, accept_dialogs, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth + 1"
WIDER = (
    "[...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)"
    ".map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right)).slice(0, 8)"
)


def fits(page) -> bool:
    assert page.evaluate(NO_OVERFLOW), page.evaluate(WIDER)
    return True


def _api(site, key: str, method: str = "GET", path: str = "/api/v1/classes/") -> int:
    url = f"http://127.0.0.1:{site.port}{path}"
    headers = {"Host": f"{SCHOOL}.{site.base_domain}", "Authorization": f"Token {key}"}
    return httpx.request(method, url, headers=headers, json={}, timeout=10).status_code


@pytest.mark.parametrize("width", [390, 1366])
def test_a_teacher_issues_uses_and_revokes_a_token(site, new_context, shots, width):
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    sign_in(page, site, SUBJECT_TEACHER)
    response = page.goto(site.url(path="/accounts/tokens/"))
    assert response.status == 200 and fits(page)
    form = page.locator("form:has(input[name=name])")
    form.locator("input[name=name]").fill(f"Sổ điểm điện tử {width}")
    form.locator("select[name=mode]").select_option("read")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    key = page.locator("[data-token-key]").inner_text().strip()
    assert key.startswith("hb_"), key
    page.screenshot(path=str(shots / f"tokens-issued-{width}.png"), full_page=True)
    assert fits(page)

    assert _api(site, key) == 200  # a read in the token's school
    assert _api(site, key, "POST", "/api/v1/classes/") == 403  # a read token never writes

    page.goto(site.url(path="/accounts/tokens/"))
    assert page.locator("[data-token-key]").count() == 0  # shown once
    row = page.locator("tr[data-token]", has_text=f"Sổ điểm điện tử {width}")
    asked = accept_dialogs(page)  # revoking is destructive: the page asks first
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert len(asked) == 1 and asked[0].startswith("confirm"), asked
    assert _api(site, key) in (401, 403)  # revoked at once
    page.screenshot(path=str(shots / f"tokens-list-{width}.png"), full_page=True)
    assert fits(page)
