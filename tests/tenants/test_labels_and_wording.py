"""Vietnamese labels and wording: choice labels instead of raw codes (unit kinds, school levels, school levels) on pages
and in the API, error pages and reports in the page's language only, the staff of a school as a unit officer sees
it, destructive buttons that look dangerous and ask first, who set a window by the setter's level, and the school's
window page on a year the school has."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from schools.services.common import system_access
from schools.services.setup import school_year_open
from tenants.models import School
from tenants.services import windows as window_services
from tenants.windows import WindowLocked, window_info
from tests.school_fixtures import current_school_year
from tests.support import SCHOOL_A_HOST

REPO = Path(__file__).resolve().parents[2]
YEAR = current_school_year(timezone.localdate())


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- issue 11 item 4: labels, not codes; one language per page -----------------------------------------------


def test_unit_kinds_and_school_levels_show_as_labels(w, login):
    admin = login("province_admin")
    units = admin.get("/manage/units/").content.decode()
    cells = re.findall(r"<td>([^<]*)</td>", units)
    assert "Tỉnh/Thành phố (Sở GD&amp;ĐT)" in units
    assert not {"province", "commune", "ward", "district"} & set(cells)
    schools = admin.get("/manage/schools/").content.decode()
    cells = re.findall(r"<td>([^<]*)</td>", schools)
    assert "THCS" in cells and "lower_secondary" not in cells
    english_units = english(login("province_admin")).get("/manage/units/").content.decode()
    assert "Province/City (Department of Education and Training)" in english_units


def test_the_api_gives_labels_beside_the_codes(w):
    client = APIClient()
    client.force_authenticate(w.account("province_admin"))
    schools = client.get("/api/v1/schools/").json()
    school_a = next(s for s in schools if s["id"] == w.school_a)
    assert school_a["levels"] == ["lower_secondary"] and school_a["level_labels"] == ["THCS"]
    tree = client.get("/api/v1/units/").json()
    nodes = tree if isinstance(tree, list) else tree.get("nodes", tree.get("results", []))
    province = next(n for n in nodes if n["id"] == w.province)
    assert province["kind"] == "province" and province["kind_label"] == "Tỉnh/Thành phố (Sở GD&ĐT)"


def test_an_import_refusal_is_in_the_page_language_only(w, login):
    def post(client):
        garbage = SimpleUploadedFile("lich.xlsx", b"not a workbook", content_type="application/octet-stream")
        response = client.post(
            "/manage/windows/import/", {"scope": f"unit:{w.province}", "year_start": YEAR, "file": garbage}
        )
        assert response.status_code == 400
        return response.content.decode()

    body = post(login("province_admin"))
    assert 'id="import-error"' in body and 'lang="en"' not in body
    english_body = post(english(login("province_admin")))
    section = english_body.split('id="import-error"', 1)[1].split("</section>", 1)[0].replace("HọcBạ", "")
    assert not re.search("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", section)


# --- issue 11 item 9: a unit officer and the school's staff ----------------------------------------------------


def test_a_unit_officer_is_not_told_a_school_with_staff_has_nobody(w, login):
    staff = login("unit_a_staff").get(f"/manage/schools/{w.school_a}/")
    body = staff.content.decode()
    assert staff.status_code == 200
    assert "Chưa có ai." not in body
    # School A has its principal, teachers, clerk, parent… (the world's accounts), and no name is shown.
    assert re.search(r"Trường có \d+ người đang có vai trò", body) and "Principal A" not in body
    admin = login("unit_a_admin").get(f"/manage/schools/{w.school_a}/").content.decode()
    assert "Principal A" in admin and "Chưa có ai." not in admin


# --- issue 11 item 10: wording, dangerous buttons, who set a window, the school's year --------------------------


def test_an_optional_end_date_does_not_say_empty_means_today(w, login):
    body = login("unit_a_admin").get(f"/manage/schools/{w.school_a}/").content.decode()
    end = body.split("Đến ngày (không bắt buộc)", 1)[1][:600]
    assert "để trống là hôm nay" not in end and "để trống là không có ngày kết thúc" in end


def test_destructive_buttons_look_dangerous_and_ask_first(w, login):
    school = login("province_admin").get(f"/manage/schools/{w.school_b}/").content.decode()
    form = re.search(r'<form method="post" action="[^"]*close[^"]*"[^>]*>', school).group(0)
    assert "data-confirm=" in form
    assert re.search(r'<button type="submit" class="danger">Đóng trường</button>', school)
    unit = login("province_admin").get(f"/manage/units/{w.unit_b}/").content.decode()
    dissolve = re.search(r'<form method="post" action="[^"]*close[^"]*"[^>]*>', unit).group(0)
    assert "data-confirm=" in dissolve and '<button type="submit" class="danger">Giải thể</button>' in unit
    css = (REPO / "platform/hocba/static/hocba/site.css").read_text()
    assert re.search(r"button\.danger[^{]*\{[^}]*background:var\(--bad\)", css)
    js = (REPO / "platform/hocba/static/hocba/site.js").read_text()
    assert "data-confirm" in js and "submitter" in js


@pytest.fixture
def sở_locks_school_a(w):
    """The Sở (province administrator) locks school A alone: a school-tier window set by the province."""
    now = timezone.now()
    return window_services.window_create(
        actor=w.account("province_admin"),
        category="scores_1",
        year_start=YEAR,
        opens_at=now - dt.timedelta(hours=3),
        locks_at=now - dt.timedelta(minutes=5),
        school=School.objects.get(pk=w.school_a),
        reason="Khóa theo kế hoạch của Sở",
    )


def test_a_window_the_so_sets_on_one_school_is_labelled_by_the_so(w, login, sở_locks_school_a):
    window = sở_locks_school_a
    assert window.tier == "school"
    listed = login("province_admin").get(f"/manage/windows/?year={YEAR}").content.decode()
    row = re.search(rf'<tr data-window="{window.pk}">(.*?)</tr>', listed, re.S).group(1)
    assert "<td>Sở GD&amp;ĐT</td>" in row and "Nhà trường" not in row
    school_page = login("principal_a", SCHOOL_A_HOST).get("/windows/").content.decode()
    row = re.search(rf'<tr data-window="{window.pk}"[^>]*>(.*?)</tr>', school_page, re.S).group(1)
    assert "Sở GD&amp;ĐT" in row and "Nhà trường<br>" not in row
    # What a teacher reads when the lock refuses a write.
    refusal = WindowLocked(window_info(window.pk)).as_dict()
    assert "theo lịch của Sở GD&ĐT (Province Admin)" in refusal["detail"]
    assert "Nhà trường" not in refusal["detail"] and refusal["window"]["set_by_tier"] == "province"


def test_the_principal_s_own_early_lock_is_the_school_s_and_cancelling_asks_first(w, login):
    client = login("principal_a", SCHOOL_A_HOST)
    now = timezone.now()
    window = window_services.window_create(
        actor=w.account("principal_a"),
        category="scores_2",
        year_start=YEAR,
        opens_at=now - dt.timedelta(hours=1),
        locks_at=now + dt.timedelta(days=3),
        school=School.objects.get(pk=w.school_a),
        reason="Khóa sớm",
    )
    body = client.get("/windows/").content.decode()
    row = re.search(rf'<tr data-window="{window.pk}"[^>]*>(.*?)</tr>', body, re.S).group(1)
    assert "Nhà trường" in row
    cancel = re.search(r'<form method="post" action="[^"]*/cancel/"[^>]*>', row).group(0)
    assert "data-confirm=" in cancel and 'class="danger"' in row


def test_the_school_window_page_opens_on_a_year_the_school_has(w, login):
    school = School.objects.get(pk=w.school_a)
    connection.set_tenant(school)
    system = system_access(school.pk)
    for start in (YEAR - 2, YEAR - 1):
        school_year_open(access=system, start_year=start, levels=["lower_secondary"])
    client = login("principal_a", SCHOOL_A_HOST)
    body = client.get("/windows/").content.decode()
    assert f"{YEAR - 1}–{YEAR}" in body.split("</h1>")[0]  # the school's latest year, not the calendar's
    assert f'href="?year={YEAR - 2}"' in body
    older = client.get(f"/windows/?year={YEAR - 2}").content.decode()
    assert f"{YEAR - 2}–{YEAR - 1}" in older.split("</h1>")[0]
    # A year the school does not have falls back to one it has.
    assert f"{YEAR - 1}–{YEAR}" in client.get("/windows/?year=1990").content.decode().split("</h1>")[0]
    school_year_open(access=system, start_year=YEAR, levels=["lower_secondary"])
    assert f"{YEAR}–{YEAR + 1}" in client.get("/windows/").content.decode().split("</h1>")[0]


def test_error_pages_carry_one_language(w, login):
    body = login("teacher_a").get("/khong-co-trang-nay/").content.decode()
    assert 'lang="en"' not in body.replace('<html lang="en">', "")
    english_body = english(login("teacher_a")).get("/khong-co-trang-nay/").content.decode()
    assert "Không tìm thấy trang này." not in english_body
