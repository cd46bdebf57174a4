"""Schools from a file in a real Chromium, at a phone's width (390 px) and a laptop's (1366 px): the check
first (“Kiểm tra trước”) reports each row and creates nothing; creating opens the background job's page; a
file that is not a workbook comes back as the form with the reason (400), never a redirect or Python's text."""

from __future__ import annotations

import pytest

from tests.browser.test_records_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

PROVINCE_ADMIN = "so.quantri"
GOOD = (
    "code,name,levels,unit_code,slug\n"
    "72990001,Trường Tiểu học Thử Một,Tiểu học,72-NL,th-thu-mot\n"
    "72990002,Trường Trung học cơ sở Thử Hai với một cái tên rất dài để xem bảng xuống dòng,THCS,72-TA,thcs-thu-hai\n"
)
BAD = GOOD + "72990003,Trường của đơn vị lạ,THCS,XX-99,thcs-thu-ba\n"
# The page's own content fits the screen (the site's header is the base layout's, checked elsewhere).
NO_OVERFLOW = (
    "[...document.querySelectorAll('main *')].every((el) => el.getBoundingClientRect().right <= window.innerWidth + 1)"
)


@pytest.fixture(scope="module")
def province_state(site, browser, tmp_path_factory) -> str:
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        sign_in(page, site, PROVINCE_ADMIN, totp=True)
        path = tmp_path_factory.mktemp("state") / "province.json"
        context.storage_state(path=str(path))
        return str(path)
    finally:
        context.close()


def _upload(page, name: str, content: bytes, button: str, *, create_valid: bool = False):
    form = page.locator("#provision-form")
    form.locator("input[name=file]").set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
    if create_valid:
        form.locator("input[name=create_valid]").check()
    with page.expect_navigation() as nav:
        form.locator(button).click()
    return nav.value


def _schools(site, prefix: str = "7299") -> int:
    return site.sql("SELECT count(*) FROM tenants_school WHERE moet_code LIKE %s", (prefix + "%",))[0][0]


@pytest.mark.parametrize("width", [390, 1366])
def test_check_first_then_all_or_nothing(site, new_context, province_state, shots, width):
    page = new_context(storage_state=province_state, viewport={"width": width, "height": 900}).new_page()
    response = page.goto(site.url(path="/manage/schools/provision/"))
    assert response.status == 200 and page.evaluate(NO_OVERFLOW)

    response = _upload(page, "truong.csv", GOOD.encode(), "#provision-check")
    assert response.status == 200
    assert page.locator("#provision-summary").get_attribute("data-outcome") == "dry-run"
    assert page.locator("tr[data-status=would_create]").count() == 2
    page.screenshot(path=str(shots / f"provision-check-{width}.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW), "the report is wider than the screen"
    assert _schools(site) == 0

    # Creating is a background job: the page of the job opens at once (this site runs no worker, so it waits;
    # tests/browser/test_jobs_browser.py runs one). A file with a refused row would create nothing anyway.
    response = _upload(page, "truong.csv", BAD.encode(), "#provision-create")
    assert response.status == 200 and "/jobs/" in page.url
    assert page.locator("#job-progress").count() == 1 and "/3 dòng" in page.locator("#job-count").inner_text()
    assert page.evaluate(NO_OVERFLOW)
    assert _schools(site) == 0


@pytest.mark.parametrize("width", [390, 1366])
def test_a_file_that_is_not_a_workbook_is_the_form_again(site, new_context, province_state, shots, width):
    page = new_context(storage_state=province_state, viewport={"width": width, "height": 900}).new_page()
    page.goto(site.url(path="/manage/schools/provision/"))
    response = _upload(page, "truong.xlsx", b"PK\x03\x04 not a workbook", "#provision-create")
    assert response.status == 400 and page.url == site.url(path="/manage/schools/provision/")
    error = page.locator("#provision-error")
    # The page's language only: the Vietnamese refusal, no English line under it.
    assert "Excel" in error.inner_text() and error.locator("p[lang=en]").count() == 0
    assert "zip" not in error.inner_text().lower()
    assert page.locator("#provision-form input[name=file]").count() == 1
    page.screenshot(path=str(shots / f"provision-error-{width}.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW)
