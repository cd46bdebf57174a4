"""Pages: home per role, school subdomains with membership checks, MFA, administration in scope."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client

from tenants.models import Account, Membership, School
from tests.support import PASSWORD, SCHOOL_A_HOST, SCHOOL_B_HOST, client_for


def test_login_page_is_vietnamese_first(w):
    response = Client(HTTP_HOST="hocba.localhost").get("/accounts/login/")
    assert response.status_code == 200
    assert 'lang="vi"' in response.content.decode()


def test_anonymous_home_redirects_to_login(w):
    response = Client(HTTP_HOST="hocba.localhost").get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_teacher_home_goes_to_the_school_subdomain(login):
    response = login("teacher_a").get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("http://thcs-an-thanh.hocba.localhost")


def test_school_home_for_a_member(login):
    response = login("teacher_a", SCHOOL_A_HOST).get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Trường THCS An Thạnh" in body and "Giáo viên bộ môn" in body


def test_a_foreign_school_subdomain_is_refused_in_the_page_language(login):
    client = login("teacher_a", SCHOOL_B_HOST)
    response = client.get("/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "không thuộc" in body and "does not belong" not in body
    client.cookies["django_language"] = "en"
    body = client.get("/").content.decode()
    assert "does not belong" in body and 'lang="en"' in body


def test_unknown_school_subdomain(login):
    response = login("teacher_a", "khong-co.hocba.localhost").get("/")
    assert response.status_code == 404


def test_membership_is_checked_on_every_request(w, login):
    client = login("teacher_a", SCHOOL_A_HOST)
    assert client.get("/").status_code == 200
    Membership.objects.filter(account_id=w.accounts["teacher_a"]).update(valid_to="2025-07-02")
    assert client.get("/").status_code == 403


def test_admin_roles_must_set_up_totp(w):
    from allauth.mfa.models import Authenticator

    principal = w.account("principal_a")
    Authenticator.objects.filter(user=principal).delete()
    response = client_for(principal, SCHOOL_A_HOST).get("/")
    assert response.status_code == 302 and "/accounts/2fa/totp/activate" in response["Location"]


def test_province_admin_home_lists_administration(login):
    body = login("province_admin").get("/").content.decode()
    assert "/manage/units/" in body and "/manage/schools/" in body


def test_unit_admin_sees_only_its_schools(w, login):
    body = login("unit_a_admin").get("/manage/schools/").content.decode()
    assert "Trường THCS An Thạnh" in body and "Trường THCS Bình Minh" not in body


def test_unit_admin_creates_a_teacher_account_for_its_school(w, login):
    client = login("unit_a_admin")
    response = client.post(
        f"/manage/school/{w.school_a}/accounts/new/",
        {
            "new-full_name": "Nguyễn Thị Mới",
            "new-username": "gv.moi",
            "new-email": "gv.moi@example.vn",
            "new-password": "mot-mat-khau-dai",
            "new-role": "subject_teacher",
        },
    )
    assert response.status_code == 302
    account = Account.objects.get(username="gv.moi")
    assert Membership.objects.get(account=account).school_id == w.school_a
    assert client_for(account, SCHOOL_A_HOST).get("/").status_code == 200


def test_unit_admin_is_refused_a_school_of_another_unit(w, login):
    client = login("unit_a_admin")
    assert client.get(f"/manage/schools/{w.school_b}/").status_code == 403
    response = client.post(
        f"/manage/school/{w.school_b}/accounts/new/",
        {
            "new-full_name": "X",
            "new-username": "gv.la",
            "new-password": "mot-mat-khau-dai",
            "new-role": "subject_teacher",
        },
    )
    assert response.status_code == 403
    assert not Account.objects.filter(username="gv.la").exists()


def test_it_admin_cannot_make_a_principal(w, login):
    client = login("it_a", SCHOOL_A_HOST)
    response = client.post(
        f"/staff/school/{w.school_a}/memberships/new/", {"username": "teacher_b", "role": "principal"}
    )
    assert response.status_code in (200, 302)
    assert not Membership.objects.filter(account_id=w.accounts["teacher_b"], school_id=w.school_a).exists()


def test_it_admin_assigns_a_homeroom_role_in_its_school(w, login):
    client = login("it_a", SCHOOL_A_HOST)
    response = client.post(
        f"/staff/school/{w.school_a}/memberships/new/",
        {"username": "teacher_a", "role": "homeroom_teacher"},
        follow=True,
    )
    assert response.status_code == 200
    assert Membership.objects.filter(
        account_id=w.accounts["teacher_a"], role="homeroom_teacher", school_id=w.school_a
    ).exists()


def test_teacher_cannot_open_the_staff_page(login):
    assert login("teacher_a", SCHOOL_A_HOST).get("/staff/").status_code == 403


def test_unit_pages_for_province_admin(w, login):
    client = login("province_admin")
    assert "Xã An Thạnh" in client.get("/manage/units/").content.decode()
    body = client.get(f"/manage/units/{w.unit_a}/").content.decode()
    assert "Trường THCS An Thạnh" in body and "Sáp nhập" in body


def test_merge_through_the_page(w, login):
    client = login("province_admin")
    response = client.post(f"/manage/units/{w.unit_a}/merge/", {"merge-target": w.unit_b, "merge-on": "01/01/2026"})
    assert response.status_code == 302
    assert School.objects.get(pk=w.school_a).placements.get(valid_to__isnull=True).unit_id == w.unit_b


def test_merge_into_itself_through_the_page_changes_nothing(w, login):
    client = login("province_admin")
    response = client.post(
        f"/manage/units/{w.unit_a}/merge/", {"merge-target": w.unit_a, "merge-on": "01/01/2026"}, follow=True
    )
    assert "sáp nhập" in response.content.decode().lower()
    assert School.objects.get(pk=w.school_a).placements.get(valid_to__isnull=True).unit_id == w.unit_a


def test_school_creation_page_refuses_duplicate_code(w, login):
    client = login("province_admin")
    response = client.post(
        "/manage/schools/new/",
        {"code": "99000001", "name": "Trùng", "levels": ["lower_secondary"], "unit": w.unit_a, "slug": "thcs-trung"},
        follow=True,
    )
    assert "đã tồn tại" in response.content.decode()
    assert not School.objects.filter(slug="thcs-trung").exists()


def test_password_login_then_totp(w):
    import pyotp

    from tenants.demo import demo_totp_secret

    client = Client(HTTP_HOST=SCHOOL_A_HOST)
    response = client.post("/accounts/login/", {"login": "principal_a", "password": PASSWORD})
    assert response.status_code == 302 and "/accounts/2fa/authenticate/" in response["Location"]
    code = pyotp.TOTP(demo_totp_secret("principal_a")).now()
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_language_can_be_english(login):
    client = login("teacher_a", SCHOOL_A_HOST)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/").content.decode()
    assert 'lang="en"' in body


def test_operators_admin_is_for_superusers_only(login):
    response = login("province_admin").get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", ["/manage/units/", "/manage/schools/"])
def test_school_staff_cannot_open_administration(login, path):
    assert login("principal_a").get(path).status_code == 403


def test_audit_trail_shows_only_the_scope(w, login):
    from tenants.services.accounts import membership_grant

    membership_grant(
        actor=w.account("principal_b"),
        account=w.account("teacher_a"),
        role="parent",
        school=School.objects.get(pk=w.school_b),
    )
    entries_b = list(login("principal_b").get("/manage/audit/").context["entries"])
    assert any(e.action == "membership.grant" and e.actor_id == w.accounts["principal_b"] for e in entries_b)
    assert {e.school_id for e in entries_b} == {w.school_b}
    entries_a = list(login("principal_a").get("/manage/audit/").context["entries"])
    assert entries_a and {e.school_id for e in entries_a} == {w.school_a}
    unit_a = list(login("unit_a_admin").get("/manage/audit/").context["entries"])
    assert w.school_b not in {e.school_id for e in unit_a}


def _tables_outside_a_scroll_box(html: str) -> list[str]:
    """The opening tags of the tables not inside a ``.table-scroll`` box (a table's own nested tables aside)."""
    found: list[str] = []

    class Reader(HTMLParser):
        stack: list[tuple[str, bool]] = []

        def handle_starttag(self, tag, attrs):
            if tag in ("br", "input", "img", "meta", "link", "col", "hr"):
                return
            boxed = any(kind for _t, kind in self.stack)
            classes = (dict(attrs).get("class") or "").split()
            if tag == "table" and not boxed:
                found.append(self.get_starttag_text())
            self.stack.append((tag, "table-scroll" in classes or tag == "table"))

        def handle_endtag(self, tag):
            for i in range(len(self.stack) - 1, -1, -1):
                if self.stack[i][0] == tag:
                    del self.stack[i:]
                    break

    Reader().feed(html)
    return found


@pytest.mark.parametrize(
    ("name", "host", "path"),
    [
        ("principal_a", SCHOOL_A_HOST, "/staff/"),
        ("province_admin", "hocba.localhost", "/manage/units/{unit_a}/"),
        ("province_admin", "hocba.localhost", "/manage/schools/{school_a}/"),
        ("province_admin", "hocba.localhost", "/manage/windows/"),
        ("province_admin", "hocba.localhost", "/manage/windows/exceptions/"),
    ],
)
def test_wide_administration_tables_scroll_inside_their_box_on_a_phone(w, login, name, host, path):
    """The staff list (name, username, role, dates, action), the windows and the exception requests are wider than a
    phone: each scrolls inside a .table-scroll box (the staff's names stay pinned), never the whole page."""
    response = login(name, host).get(path.format(unit_a=w.unit_a, school_a=w.school_a))
    assert response.status_code == 200
    html = response.content.decode()
    wide = [
        t for t in _tables_outside_a_scroll_box(html) if "memberships" in t or "window-table" in t or "exception" in t
    ]
    assert wide == []
    if "memberships" in html:
        assert '<div class="table-scroll"><table class="memberships pin">' in html
    if path == "/staff/":  # ending someone's role asks first, naming the role and the person
        assert 'data-confirm="Kết thúc vai trò Giáo viên bộ môn của Teacher A ngay bây giờ?' in html
