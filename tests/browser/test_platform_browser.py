"""The issue's scenarios in a real Chromium against a real server (see conftest.py for the set-up).

* a principal logs in with TOTP and lands on the school's subdomain;
* a unit admin creates a teacher account for one of its schools;
* the same admin is refused a school of another unit.

Every sign-in happens once, on the platform site: landing on a school's subdomain signed in depends on
the session cookie reaching ``<slug>.<base domain>``.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tenants.demo import DEMO_PASSWORD, demo_totp_secret

pytestmark = [pytest.mark.browser, pytest.mark.server]

UNIT_ADMIN = "namloi.quantri"  # Xã Nam Lợi: th-nam-loi and th-thcs-hoa-binh
PRINCIPAL = "nguyendu.hieutruong"  # Trường THCS Nguyễn Du (Phường Tân An)
NEW_TEACHER = "namloi.gv.lan"
NEW_TEACHER_NAME = "Phan Thị Lan Anh"
NEW_TEACHER_PASSWORD = "giao-vien-lan-2026"
VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảãàáậầấẩẫắằẳẵặẹẻẽèéệềếểễịỉĩìíọỏõòóộồốổỗờớởỡợụủũùúựừứửữỵỷỹỳý]", re.I)


def totp_code(username: str) -> str:
    totp = pyotp.TOTP(demo_totp_secret(username))
    if totp.interval - time.time() % totp.interval < 2:  # about to roll over: wait for the next one
        time.sleep(2.1)
    return totp.now()


def submit_password(page, site, username: str, password: str = DEMO_PASSWORD, shot=None) -> None:
    page.goto(site.url(path="/accounts/login/"))
    form = page.locator("form:has(input[name=login])")
    form.locator("input[name=login]").fill(username)
    form.locator("input[name=password]").fill(password)
    if shot:
        page.screenshot(path=str(shot), full_page=True)
    form.locator("button[type=submit]").first.click()
    page.wait_for_load_state("load")


def submit_totp(page, site, username: str, shot=None) -> None:
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    step = site.url(path="/accounts/2fa/authenticate/")
    assert page.url.startswith(step), page.url
    for attempt in range(2):
        form = page.locator("form:has(input[name=code])")
        form.locator("input[name=code]").fill(totp_code(username))
        if shot and not attempt:
            page.screenshot(path=str(shot), full_page=True)
        form.locator("button[type=submit]").first.click()
        page.wait_for_load_state("load")
        if not page.url.startswith(step):
            return
        # allauth refuses a code used once already; the used codes are kept in the (shared) Redis cache
        # by user id, so another server's sign-in may have taken this one: wait for the next code.
        time.sleep(30 - time.time() % 30 + 0.5)
    raise AssertionError(f"the TOTP step refused {username}'s codes twice")


def assert_signed_in_school_home(page, site, slug: str, school_name: str, username: str, role_label: str) -> None:
    assert page.url == site.url(slug), (
        f"expected to land signed in on {site.url(slug)}, got {page.url}. A login page there means the session "
        f"cookie set on {site.base_domain} was not sent to {slug}.{site.base_domain} (Chromium never sends a "
        f"cookie of 'localhost' to '*.localhost', whatever its Domain attribute)."
    )
    assert page.locator("main h1").inner_text().strip() == school_name
    assert role_label in page.locator("ul.roles").all_inner_texts()[0].splitlines()
    assert page.locator("header .scope").inner_text().strip() == school_name
    assert f"({username})" in page.locator("header nav").text_content()


def assert_refusal(page, response, status: int = 403) -> str:
    """A refusal page: the status and a message in the page's language only (Vietnamese here)."""
    assert response is not None and response.status == status, (
        f"expected {status} at {page.url}, got {response.status if response else None}"
    )
    section = page.locator(f"section.refusal[data-status='{status}']")
    assert section.count() == 1
    vi = section.locator("p").first.inner_text().strip()
    assert vi and VIETNAMESE_LETTERS.search(vi), f"no Vietnamese message: {vi!r}"
    assert section.locator("p[lang=en]").count() == 0, "an English line under the Vietnamese"
    return vi


@pytest.fixture(scope="module")
def unit_admin_state(site, browser, tmp_path_factory) -> str:
    """The unit admin signed in once (password + TOTP) on the platform site; the saved cookies' file.

    One sign-in for the module: allauth refuses a TOTP code that has been used already.
    """
    context = browser.new_context(locale="vi-VN")
    try:
        page = context.new_page()
        submit_password(page, site, UNIT_ADMIN)
        submit_totp(page, site, UNIT_ADMIN)
        assert page.url == site.url(), f"a unit admin lands on the platform site's home, got {page.url}"
        path = tmp_path_factory.mktemp("state") / "unit_admin.json"
        context.storage_state(path=str(path))
        return str(path)
    finally:
        context.close()


@pytest.fixture
def unit_admin_page(new_context, unit_admin_state):
    return new_context(storage_state=unit_admin_state).new_page()


def test_principal_signs_in_with_totp_and_lands_on_the_school_site(site, new_context, shots):
    page = new_context().new_page()
    submit_password(page, site, PRINCIPAL, shot=shots / "1a-login.png")
    submit_totp(page, site, PRINCIPAL, shot=shots / "1b-totp.png")
    page.screenshot(path=str(shots / "1c-principal-landing.png"), full_page=True)

    assert_signed_in_school_home(page, site, "thcs-nguyen-du", "Trường THCS Nguyễn Du", PRINCIPAL, "Hiệu trưởng")


def test_unit_admin_creates_a_teacher_who_can_then_sign_in(site, new_context, unit_admin_page, shots):
    page = unit_admin_page
    page.goto(site.url())
    assert page.locator("main h1").inner_text().strip() == "Xin chào, Lê Văn Cường"
    page.screenshot(path=str(shots / "2a-unit-admin-home.png"), full_page=True)

    page.locator("main").get_by_role("link", name="Trường học", exact=True).click()
    page.wait_for_url(site.url(path="/manage/schools/"))
    listed = page.locator("main table tbody tr td:first-child a").all_inner_texts()
    assert sorted(listed) == ["Trường TH và THCS Hòa Bình", "Trường Tiểu học Nam Lợi"], listed

    page.get_by_role("link", name="Trường Tiểu học Nam Lợi", exact=True).click()
    page.wait_for_url(re.compile(r"/manage/schools/\d+/$"))
    detail_url = page.url
    assert page.locator("main h1").inner_text().startswith("Trường Tiểu học Nam Lợi")

    section = page.locator("section#new-account")
    assert section.locator("h2").inner_text().strip() == "Tạo tài khoản"
    form = section.locator("form")
    form.get_by_label("Họ và tên").fill(NEW_TEACHER_NAME)
    form.get_by_label("Tên đăng nhập").fill(NEW_TEACHER)
    form.get_by_label("Email").fill(f"{NEW_TEACHER}@hocba.localhost")
    form.get_by_label("Mật khẩu ban đầu").fill(NEW_TEACHER_PASSWORD)
    form.get_by_label("Vai trò").select_option(label="Giáo viên bộ môn")
    form.get_by_role("button", name="Tạo tài khoản").click()
    page.wait_for_load_state("load")

    assert page.url == detail_url
    assert f"Đã tạo tài khoản {NEW_TEACHER}." in page.locator("ul.messages").inner_text()
    row = page.locator("table.memberships tbody tr", has_text=NEW_TEACHER)
    assert row.count() == 1
    assert row.locator("td").all_inner_texts()[:3] == [NEW_TEACHER_NAME, NEW_TEACHER, "Giáo viên bộ môn"]
    page.screenshot(path=str(shots / "2b-school-detail-after-create.png"), full_page=True)

    # The new teacher, in a browser of their own: no TOTP step for a teacher, straight to the school.
    teacher = new_context().new_page()
    submit_password(teacher, site, NEW_TEACHER, NEW_TEACHER_PASSWORD)
    teacher.screenshot(path=str(shots / "2c-new-teacher-landing.png"), full_page=True)
    assert "/accounts/2fa/" not in teacher.url
    assert_signed_in_school_home(
        teacher, site, "th-nam-loi", "Trường Tiểu học Nam Lợi", NEW_TEACHER, "Giáo viên bộ môn"
    )


def test_unit_admin_is_refused_the_page_of_a_school_of_another_unit(site, unit_admin_page, shots):
    (nguyen_du_id,) = site.sql("select id from tenants_school where slug = %s", ("thcs-nguyen-du",))[0]
    page = unit_admin_page
    page.goto(site.url(path="/manage/schools/"))
    assert "Trường THCS Nguyễn Du" not in page.locator("main table").inner_text()

    response = page.goto(site.url(path=f"/manage/schools/{nguyen_du_id}/"))
    page.screenshot(path=str(shots / "3a-refused-school-detail.png"), full_page=True)
    vi = assert_refusal(page, response)
    assert vi == "Trường này nằm ngoài phạm vi quản lý của bạn."
    assert "Trường THCS Nguyễn Du" not in page.locator("main").inner_text()
    assert f"({UNIT_ADMIN})" in page.locator("header nav").text_content()


def test_unit_admin_is_refused_the_site_of_a_school_of_another_unit(site, unit_admin_page, shots):
    page = unit_admin_page
    response = page.goto(site.url("thcs-nguyen-du"))
    page.screenshot(path=str(shots / "3b-refused-school-site.png"), full_page=True)
    assert page.url == site.url("thcs-nguyen-du"), (
        f"expected the signed-in unit admin to be refused at {site.url('thcs-nguyen-du')}, got {page.url} "
        f"(a login page means the session cookie did not reach the school's subdomain)"
    )
    vi = assert_refusal(page, response)
    assert "Trường THCS Nguyễn Du" in vi
    assert f"({UNIT_ADMIN})" in page.locator("header nav").text_content()
