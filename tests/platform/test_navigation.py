"""The header's menu per role, the breadcrumbs of every page, and what the menu costs (no query).

The menu lists the sections the signed-in person's capabilities open on the site they are on (the platform or one
school), in a fixed order, the current one marked; the breadcrumbs start at the site's home on every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from hocba.kernel import menu

from tenants.models import Membership, School
from tests.support import DAY, SCHOOL_A_HOST, SCHOOL_B_HOST, client_for

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [
    REPO / "platform" / "hocba" / "templates",
    REPO / "tenants" / "templates",
    REPO / "schools" / "templates",
    REPO / "reporting" / "templates",
]
# A home page's trail is the home link itself, which base.html always renders (marked current on "/").
HOME_PAGES = {"tenants/home.html", "schools/school_home.html"}


@dataclass
class Link:
    text: str
    href: str = ""
    current: bool = False


@dataclass
class Page:
    sections: list[Link] = field(default_factory=list)
    account: list[str] = field(default_factory=list)
    crumbs: list[Link] = field(default_factory=list)
    crumb_navs: int = 0
    menu_button: dict | None = None


class _Reader(HTMLParser):
    """The header's sections and account entries, and the breadcrumbs, of a page."""

    def __init__(self):
        super().__init__()
        self.page = Page()
        self._in: list[str] = []  # the open regions: "sections", "account", "crumbs"
        self._depth: dict[str, int] = {}
        self._item: Link | None = None
        self._where: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        region = None
        if tag == "ul" and "sections" in classes:
            region = "sections"
        elif tag == "ul" and "account-menu" in classes:
            region = "account"
        elif tag == "nav" and "crumbs" in classes:
            region = "crumbs"
            self.page.crumb_navs += 1
        if tag == "button" and "menu-toggle" in classes:
            self.page.menu_button = a
        if region:
            self._in.append(region)
            self._depth[region] = 0
        for r in self._in:
            if tag == {"sections": "ul", "account": "ul", "crumbs": "nav"}[r]:
                self._depth[r] += 1
        if not self._in:
            return
        where = self._in[-1]
        if tag == "li":
            self._item = Link("", current=a.get("aria-current") == "page")
            self._where = where
        elif tag == "a" and self._item is not None:
            self._item.href = a.get("href", "")
            self._item.current = self._item.current or a.get("aria-current") == "page"

    def handle_endtag(self, tag):
        if tag == "li" and self._item is not None:
            self._item.text = " ".join(self._item.text.split())
            if self._where == "sections":
                self.page.sections.append(self._item)
            elif self._where == "account":
                self.page.account.append(self._item.text)
            elif self._where == "crumbs":
                self.page.crumbs.append(self._item)
            self._item = None
        for r in list(self._in):
            if tag == {"sections": "ul", "account": "ul", "crumbs": "nav"}[r]:
                self._depth[r] -= 1
                if self._depth[r] == 0:
                    self._in.remove(r)

    def handle_data(self, data):
        if self._item is not None:
            self._item.text += data


def read(response) -> Page:
    reader = _Reader()
    reader.feed(response.content.decode())
    return reader.page


def sections(response) -> list[str]:
    return [link.text for link in read(response).sections]


# ---------------------------------------------------------------------------------------------- the menu per role

PLATFORM_MENUS = {
    "province_admin": [
        "Trang chủ",
        "Bảng theo dõi",
        "Thống kê",
        "Đơn vị",
        "Trường học",
        "Lịch mở/khóa",
        "Đề nghị mở khóa",
        "Cập nhật hằng tháng",
        "Nhật ký",
    ],
    "inspector": [
        "Trang chủ",
        "Bảng theo dõi",
        "Thống kê",
        "Đơn vị",
        "Trường học",
        "Lịch mở/khóa",
        "Cập nhật hằng tháng",
        "Nhật ký",
    ],
    "unit_a_admin": [
        "Trang chủ",
        "Bảng theo dõi",
        "Thống kê",
        "Đơn vị",
        "Trường học",
        "Lịch mở/khóa",
        "Đề nghị mở khóa",
        "Cập nhật hằng tháng",
        "Nhật ký",
    ],
    "unit_a_staff": [
        "Trang chủ",
        "Bảng theo dõi",
        "Thống kê",
        "Đơn vị",
        "Trường học",
        "Lịch mở/khóa",
        "Cập nhật hằng tháng",
    ],
}

SCHOOL_MENUS = {
    "principal_a": [
        "Trang chủ",
        "Tổng quan",
        "Lớp học",
        "Thiết lập năm học",
        "Cán bộ",
        "Ký số học bạ",
        "Lưu trữ học bạ",
        "Lịch mở/khóa",
        "Quyền xem học bạ",
        "Lịch sử",
        "Nhật ký",
    ],
    "vice_a": ["Trang chủ", "Tổng quan", "Lớp học", "Thiết lập năm học", "Cán bộ", "Lịch mở/khóa"],
    "it_a": ["Trang chủ", "Thiết lập năm học", "Cán bộ"],
    "homeroom_a": ["Trang chủ", "Lớp học"],
    "teacher_a": ["Trang chủ", "Lớp học"],
    "dept_a": ["Trang chủ", "Lớp học", "Cán bộ"],
    "parent_a": ["Trang chủ", "Con của tôi"],
    "clerk_a": ["Trang chủ", "Lớp học", "Ký số học bạ"],  # the office keeps the profiles, and the seal
}


@pytest.mark.parametrize("name", sorted(PLATFORM_MENUS))
def test_the_platform_menu_holds_what_the_role_opens(login, name):
    response = login(name).get("/")
    assert response.status_code == 200
    page = read(response)
    assert [s.text for s in page.sections] == PLATFORM_MENUS[name]
    assert [s.text for s in page.sections if s.current] == ["Trang chủ"]
    # every entry opens for this person: the menu never links to a refusal
    client = login(name)
    for link in page.sections[1:]:
        assert client.get(link.href).status_code == 200, link


@pytest.mark.parametrize("name", sorted(SCHOOL_MENUS))
def test_the_school_menu_holds_what_the_role_opens(login, klass, name):
    client = login(name, SCHOOL_A_HOST)
    response = client.get("/")
    assert response.status_code == 200
    page = read(response)
    assert [s.text for s in page.sections] == SCHOOL_MENUS[name]
    assert [s.text for s in page.sections if s.current] == ["Trang chủ"]
    for link in page.sections[1:]:
        assert client.get(link.href).status_code == 200, link
    # the account entries are there for everyone, the sign-out naming the account
    assert page.account[:3] == ["Tài khoản", "Xác thực hai lớp", "Mã truy cập API"]
    assert page.account[-1] == f"Đăng xuất ({name})"
    assert page.menu_button == {
        "type": "button",
        "class": "menu-toggle",
        "aria-expanded": "false",
        "aria-controls": "site-menu",
        "data-menu-toggle": None,
    }


def test_a_parent_never_sees_the_school_administration(login, klass):
    body = login("parent_a", SCHOOL_A_HOST).get("/my-children/")
    names = sections(body)
    assert names == ["Trang chủ", "Con của tôi"]
    assert not {"Thiết lập năm học", "Cán bộ", "Lịch sử", "Nhật ký", "Lớp học"} & set(names)
    assert [s.text for s in read(body).sections if s.current] == ["Con của tôi"]


def test_the_way_back_to_the_platform_only_for_those_with_another_place(w, login, klass):
    assert "Trang chung" not in sections(login("teacher_a", SCHOOL_A_HOST).get("/"))
    Membership.objects.create(
        account_id=w.accounts["teacher_a"],
        role="subject_teacher",
        school=School.objects.get(pk=w.school_b),
        valid_from=DAY,
    )
    page = read(login("teacher_a", SCHOOL_A_HOST).get("/"))
    assert [s.text for s in page.sections] == ["Trang chủ", "Lớp học", "Trang chung"]
    back = page.sections[-1]
    assert back.href == "http://hocba.localhost/" and not back.current
    # the platform's home then lists both schools instead of sending the teacher to one
    assert sections(login("teacher_a").get("/")) == ["Trang chủ"]


def test_the_menu_follows_the_school_of_the_site(login, klass):
    """A principal of school B sees school B's sections on school B's site and nothing of school A's."""
    assert sections(login("principal_b", SCHOOL_B_HOST).get("/")) == SCHOOL_MENUS["principal_a"]
    refused = login("principal_b", SCHOOL_A_HOST).get("/")
    assert refused.status_code == 403
    assert sections(refused) == []


@pytest.mark.parametrize(
    ("host", "name", "path", "current"),
    [
        ("hocba.localhost", "province_admin", "/manage/windows/", "Lịch mở/khóa"),
        ("hocba.localhost", "province_admin", "/manage/windows/exceptions/", "Đề nghị mở khóa"),
        ("hocba.localhost", "province_admin", "/manage/units/", "Đơn vị"),
        ("hocba.localhost", "province_admin", "/manage/audit/", "Nhật ký"),
        (SCHOOL_A_HOST, "principal_a", "/classes/", "Lớp học"),
        (SCHOOL_A_HOST, "principal_a", "/setup/subjects/", "Thiết lập năm học"),
        (SCHOOL_A_HOST, "principal_a", "/staff/", "Cán bộ"),
        (SCHOOL_A_HOST, "principal_a", "/history/", "Lịch sử"),
        (SCHOOL_A_HOST, "principal_a", "/windows/", "Lịch mở/khóa"),
        (SCHOOL_A_HOST, "principal_a", "/archive/", "Lưu trữ học bạ"),
        (SCHOOL_A_HOST, "principal_a", "/signing/year/", "Ký số học bạ"),
    ],
)
def test_the_current_section_is_marked(login, klass, host, name, path, current):
    response = login(name, host).get(path)
    assert response.status_code == 200
    assert [s.text for s in read(response).sections if s.current] == [current]


def test_a_student_page_belongs_to_the_classes(w, login, klass):
    page = read(login("homeroom_a", SCHOOL_A_HOST).get(f"/students/{klass.students[0]}/"))
    assert [s.text for s in page.sections if s.current] == ["Lớp học"]


def test_the_office_finds_every_class_and_its_students_under_the_classes(w, login, klass):
    """The clerk keeps every class's student profiles: the class list shows the year's classes, and a student's page
    leads back through the class, never through "my children"."""
    client = login("clerk_a", SCHOOL_A_HOST)
    listed = client.get("/classes/").content.decode()
    assert f'data-class="{klass.school_class.pk}"' in listed and f'data-class="{klass.other_class.pk}"' in listed
    assert "Bạn chưa được phân công lớp nào" not in listed
    page = read(client.get(f"/students/{klass.students[0]}/"))
    assert [c.text for c in page.crumbs] == ["Trường THCS An Thạnh", "Lớp học", "6A1", "Nguyễn Văn An"]
    assert [s.text for s in page.sections if s.current] == ["Lớp học"]
    assert client.get(f"/students/{klass.students[0]}/record/").status_code == 404  # profiles, not records
    # A teacher still sees only the classes they teach.
    teacher = login("teacher_a", SCHOOL_A_HOST).get("/classes/").content.decode()
    assert f'data-class="{klass.school_class.pk}"' in teacher and f'data-class="{klass.other_class.pk}"' not in teacher


def test_the_menu_speaks_english_when_the_page_does(login, klass):
    client = login("principal_a", SCHOOL_A_HOST)
    client.cookies["django_language"] = "en"
    response = client.get("/")
    assert sections(response) == [
        "Home",
        "Overview",
        "Classes",
        "School year setup",
        "Staff",
        "Signing record books",
        "Record book archive",
        "Entry window",
        "Read grants",
        "History",
        "Audit log",
    ]
    assert 'aria-label="Main navigation"' in response.content.decode()


def test_no_menu_for_a_visitor(w):
    response = Client(HTTP_HOST="hocba.localhost").get("/accounts/login/")
    page = read(response)
    assert page.sections == [] and page.account == [] and page.menu_button is None
    assert 'name="language"' in response.content.decode()  # the language switch stays in the header


# ---------------------------------------------------------------------------------------------- what it costs


def _count(queries, client, path) -> int:
    client.get(path)  # warm: sessions, caches
    with queries() as q:
        assert client.get(path).status_code == 200
    return len(q)


@pytest.mark.parametrize(
    ("name", "host", "path"),
    [("province_admin", "hocba.localhost", "/manage/units/"), ("principal_a", SCHOOL_A_HOST, "/classes/")],
)
def test_the_menu_adds_no_query(login, klass, queries, monkeypatch, name, host, path):
    client = login(name, host)
    with_menu = _count(queries, client, path)
    monkeypatch.setattr(menu._registry, "entries", {})
    without_menu = _count(queries, client, path)
    assert sections(client.get(path)) == []
    many = {
        f"extra.{side}.{i}": menu.MenuEntry(f"extra.{side}.{i}", "x", "home", side, ("windows.view",), 200 + i)
        for side in (menu.PUBLIC, menu.SCHOOL)
        for i in range(25)
    }
    monkeypatch.setattr(menu._registry, "entries", many)
    with_many = _count(queries, client, path)
    assert len(sections(client.get(path))) == 25
    assert with_menu == without_menu == with_many


# ---------------------------------------------------------------------------------------------- breadcrumbs


def _templates() -> dict[str, str]:
    out = {}
    for root in TEMPLATE_DIRS:
        if root.is_dir():
            for path in root.rglob("*.html"):
                out[path.relative_to(root).as_posix()] = path.read_text()
    return out


def test_every_page_template_has_crumbs():
    """A template that extends base.html directly says where it sits (home pages excepted: the home link is all)."""
    templates = _templates()
    pages = {n: t for n, t in templates.items() if re.search(r'{%\s*extends\s+"base\.html"\s*%}', t)}
    assert len(pages) > 40
    missing = sorted(n for n, t in pages.items() if n not in HOME_PAGES and "{% block crumbs %}" not in t)
    assert missing == []
    # the old inline trails are gone: one trail per page, the one base.html renders
    assert sorted(n for n, t in templates.items() if 'class="crumbs"' in t) == ["base.html"]
    for name, text in pages.items():
        block = re.search(r"{% block crumbs %}(.*?){% endblock %}", text, re.S)
        if block:
            assert 'aria-current="page"' in block.group(1), f"{name}: the last crumb is the page itself"


def _check_crumbs(response, home_text: str, last: str | None = None):
    assert response.status_code == 200, response
    page = read(response)
    assert page.crumb_navs == 1
    assert page.crumbs, "the page has breadcrumbs"
    assert (page.crumbs[0].href, page.crumbs[0].text) == ("/", home_text)
    assert page.crumbs[-1].current
    assert sum(c.current for c in page.crumbs) == 1
    if last is not None:
        assert page.crumbs[-1].text == last
    return page


PLATFORM_PAGES = [
    ("/", None),
    ("/manage/units/", "Đơn vị hành chính"),
    ("/manage/schools/", "Trường học"),
    ("/manage/schools/provision/", "Tạo nhiều trường từ tệp"),
    ("/manage/windows/", "Lịch mở/khóa nhập liệu"),
    ("/manage/windows/new/", "Đặt lịch mở/khóa"),
    ("/manage/windows/import/", "Nhập lịch cả năm từ Excel"),
    ("/manage/windows/exceptions/", "Đề nghị mở khóa"),
    ("/manage/monthly-duty/", "Cập nhật hằng tháng của giáo viên chủ nhiệm"),
    ("/manage/audit/", "Nhật ký thay đổi"),
    ("/accounts/tokens/", "Mã truy cập API"),
    ("/accounts/password/change/", "Tài khoản"),
    ("/accounts/2fa/", "Tài khoản"),
]


def test_platform_pages_have_crumbs(w, login):
    client = login("province_admin")
    for path, last in PLATFORM_PAGES:
        _check_crumbs(client.get(path), "Trang chủ", last)
    page = _check_crumbs(client.get(f"/manage/units/{w.unit_a}/"), "Trang chủ", "Xã An Thạnh")
    assert [c.text for c in page.crumbs] == ["Trang chủ", "Đơn vị hành chính", "Sở GD&ĐT Thử nghiệm", "Xã An Thạnh"]
    page = _check_crumbs(client.get(f"/manage/schools/{w.school_a}/"), "Trang chủ", "Trường THCS An Thạnh")
    assert page.crumbs[1].href == "/manage/schools/"


def test_school_pages_have_crumbs(w, login, klass):
    school = "Trường THCS An Thạnh"
    c, s = klass.school_class.pk, klass.students[0]
    principal = login("principal_a", SCHOOL_A_HOST)
    pages = [
        ("/", None),
        ("/classes/", "Lớp học"),
        (f"/classes/{c}/", "6A1"),
        (f"/classes/{c}/attendance/", "Điểm danh"),
        (f"/classes/{c}/conduct/1/", "Rèn luyện"),
        (f"/classes/{c}/sheets/{klass.math.pk}/1/", klass.math.name),
        (f"/classes/{c}/exemptions/", "Miễn học"),
        (f"/students/{s}/", "Nguyễn Văn An"),
        (f"/students/{s}/record/", "Học bạ"),
        (f"/students/{s}/move/", "Chuyển lớp"),
        (f"/students/{s}/guardians/", "Tài khoản phụ huynh"),
        (f"/year-end/classes/{c}/", "Tổng kết cuối năm"),
        (f"/year-end/classes/{c}/awards/", "Khen thưởng, kỉ luật"),
        ("/setup/", "Thiết lập năm học"),
        ("/setup/subjects/", "Chương trình môn học"),
        ("/setup/departments/", "Tổ chuyên môn"),
        (f"/setup/classes/{c}/", "6A1"),
        ("/staff/", "Cán bộ, giáo viên"),
        ("/windows/", "Lịch mở/khóa nhập liệu"),
        ("/history/", "Lịch sử thay đổi dữ liệu"),
        ("/audit/", "Nhật ký thay đổi"),
    ]
    for path, last in pages:
        _check_crumbs(principal.get(path), school, last)
    page = _check_crumbs(principal.get(f"/classes/{c}/attendance/"), school)
    assert [(x.text, x.href) for x in page.crumbs[:3]] == [
        (school, "/"),
        ("Lớp học", "/classes/"),
        ("6A1", f"/classes/{c}/"),
    ]
    teacher = login("teacher_a", SCHOOL_A_HOST)
    _check_crumbs(teacher.get(f"/classes/{c}/sheets/{klass.math.pk}/1/"), school, klass.math.name)
    parent = login("parent_a", SCHOOL_A_HOST)
    _check_crumbs(parent.get("/my-children/"), school, "Con của tôi")


@pytest.mark.parametrize(
    ("client", "path", "status", "home", "last"),
    [
        ("anonymous", "/accounts/login/", 200, "Trang chủ", "Đăng nhập"),
        ("teacher_a@b", "/", 403, "Trường THCS Bình Minh", "Không có quyền"),
        ("teacher_a@a", "/classes/999999/", 404, "Trường THCS An Thạnh", None),
    ],
)
def test_other_pages_have_crumbs(w, klass, client, path, status, home, last):
    if client == "anonymous":
        c = Client(HTTP_HOST="hocba.localhost")
    else:
        name, site = client.split("@")
        c = client_for(w.account(name), SCHOOL_A_HOST if site == "a" else SCHOOL_B_HOST)
    response = c.get(path)
    assert response.status_code == status
    page = read(response)
    assert page.crumb_navs == 1
    assert (page.crumbs[0].href, page.crumbs[0].text) == ("/", home)
    assert page.crumbs[-1].current
    if last:
        assert page.crumbs[-1].text == last


def test_every_page_names_its_icon_so_the_browser_asks_for_no_missing_favicon(w, login, klass):
    """base.html links the site's icon (a static file that exists): browsers then never ask for /favicon.ico, which
    no site serves, and the console of every page stays free of a 404."""
    for response in (
        Client(HTTP_HOST="hocba.localhost").get("/accounts/login/"),
        login("parent_a", SCHOOL_A_HOST).get("/my-children/"),
    ):
        found = re.search(r'<link rel="icon" href="/static/([^"]+)" type="image/svg\+xml">', response.content.decode())
        assert found, "no icon linked"
        path = finders.find(found.group(1))
        assert path and Path(path).read_text().startswith("<svg")
