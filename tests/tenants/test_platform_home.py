"""The platform home of province and unit staff: what waits for them first (unlock requests to decide, windows opening
or locking within seven days, schools whose schema is behind or failed, last month's monthly-duty gaps), then the
figures of their scope from the public rollups, then the sections as cards.

Everything is scoped: a unit officer never sees another unit's requests or schools; the page reads only public
tables and runs the same number of queries for 2 schools as for 12."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year

from tenants import provisioning
from tenants.duty import previous_month
from tenants.models import (
    MonthlyDutyCheck,
    School,
    SchoolPlacement,
    SchoolRollup,
    Window,
    WindowException,
)
from tests.support import DAY, client_for, page_text

YEAR = current_school_year()
MONTH = previous_month(timezone.localdate())


def at(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def home(w, name: str, **headers) -> str:
    response = client_for(w.account(name)).get("/", **headers)
    assert response.status_code == 200
    return page_text(response)


def block(html: str, name: str) -> str:
    """One block of the work list ('' when absent)."""
    found = re.search(rf'<div class="wait-block" id="wait-{name}">(.*?)\n</div>', html, re.S)
    return found.group(1) if found else ""


def unit_window(unit_id: int, category: str, opens: float, locks: float, tier: str = "unit") -> Window:
    return Window.objects.create(
        tier=tier,
        unit_id=unit_id,
        category=category,
        year_start=YEAR,
        opens_at=at(opens),
        locks_at=at(locks),
        reason="Lịch thử nghiệm",
    )


def request(window: Window, school_id: int, requester: int, *, status: str = "requested") -> WindowException:
    return WindowException.objects.create(
        window=window,
        school_id=school_id,
        class_ids=[101, 102],
        until=at(72),
        reason="Nhập bù điểm",
        requested_by_id=requester,
        status=status,
    )


def extra_schools(w, unit_id: int, n: int, start: int = 0) -> list[School]:
    """Public rows only (the home never enters a school): schools placed under the unit, each with a rollup, a
    monthly-duty check with a gap, a request on the unit's window, and every other one behind the schema head."""
    head = provisioning.migration_head().digest
    lock = unit_window(unit_id, "conduct", -48, -1)
    out = []
    for i in range(start, start + n):
        school = School.objects.create(
            schema_name=f"s_home_{i}",
            moet_code=f"9870{i:04d}",
            name=f"Trường Tiểu học Số {i}",
            slug=f"th-so-{i}",
            levels=["primary"],
            created_on=DAY,
            schema_head=head if i % 2 else "",
        )
        SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=DAY)
        SchoolRollup.objects.create(school=school, year_start=YEAR, students=100, records_draft=60, records_approved=40)
        MonthlyDutyCheck.objects.create(
            school=school,
            month=MONTH,
            year_start=YEAR,
            checked_at=timezone.now(),
            classes=4,
            classes_without_update=1,
            teachers_notified=1,
            without_update=[],
        )
        request(lock, school.pk, w.accounts["unit_a_admin"])
        out.append(school)
    return out


@pytest.fixture
def scene(w):
    """Unit A and unit B each have a school with a pending request on its unit's lock, a window locking in three
    days, a schema in trouble, a monthly-duty gap and a rollup."""
    head = provisioning.migration_head().digest
    lock_a = unit_window(w.unit_a, "conduct", -48, -1)
    lock_b = unit_window(w.unit_b, "conduct", -48, -1)
    province_lock = unit_window(w.province, "attendance", -48, -2, tier="province")
    req_a = request(lock_a, w.school_a, w.accounts["principal_a"])
    req_b = request(lock_b, w.school_b, w.accounts["principal_b"])
    req_province = request(province_lock, w.school_b, w.accounts["principal_b"])
    decided = request(lock_a, w.school_a, w.accounts["principal_a"], status="approved")
    soon_a = unit_window(w.unit_a, "scores_1", -24, 3 * 24 + 1)
    soon_b = unit_window(w.unit_b, "scores_1", -24, 2 * 24 + 1)
    opening = unit_window(w.province, "scores_2", 5 * 24, 90 * 24, tier="province")
    later = unit_window(w.unit_a, "profile", -24, 30 * 24)  # locks in a month: not this week
    School.objects.filter(pk=w.school_a).update(schema_head=head, schema_error="")
    School.objects.filter(pk=w.school_b).update(schema_head=head, schema_error="ProgrammingError: lỗi thử")
    for school_id, gaps in ((w.school_a, 2), (w.school_b, 1)):
        MonthlyDutyCheck.objects.create(
            school_id=school_id,
            month=MONTH,
            year_start=YEAR,
            checked_at=timezone.now(),
            classes=5,
            classes_without_update=gaps,
            teachers_notified=gaps,
            without_update=[],
        )
    SchoolRollup.objects.update_or_create(
        school_id=w.school_a,
        year_start=YEAR,
        defaults={"students": 120, "records_draft": 70, "records_submitted": 30, "records_approved": 20},
    )
    SchoolRollup.objects.update_or_create(
        school_id=w.school_b, year_start=YEAR, defaults={"students": 80, "records_locked": 80}
    )
    return {
        "req_a": req_a,
        "req_b": req_b,
        "req_province": req_province,
        "decided": decided,
        "soon_a": soon_a,
        "soon_b": soon_b,
        "opening": opening,
        "later": later,
    }


def test_the_province_sees_the_work_of_every_school_first(w, scene):
    html = home(w, "province_admin")
    assert html.index('id="waiting"') < html.index('id="overview"') < html.index('id="sections"')

    requests = block(html, "requests")
    ids = {int(i) for i in re.findall(r'data-request="(\d+)"', requests)}
    assert ids == {scene["req_a"].pk, scene["req_b"].pk, scene["req_province"].pk}
    assert '<span class="tag due">3</span>' in requests and "Trường THCS Bình Minh" in requests
    assert "Rèn luyện" in requests or "rèn luyện" in requests.lower()
    assert 'href="/manage/windows/exceptions/"' in requests

    windows = block(html, "windows")
    shown = {int(i) for i in re.findall(r'data-window="(\d+)"', windows)}
    assert shown == {scene["soon_a"].pk, scene["soon_b"].pk, scene["opening"].pk}
    assert "còn 3 ngày" in windows and "còn 2 ngày" in windows and "mở lúc" in windows
    assert f'href="/manage/windows/{scene["soon_a"].pk}/"' in windows

    schemas = block(html, "schemas")
    assert f'data-school="{w.school_b}"' in schemas and "cập nhật bị lỗi" in schemas
    assert f'data-school="{w.school_a}"' not in schemas

    duty = block(html, "duty")
    assert f"tháng {MONTH:%m/%Y}" in duty and '<span class="tag due">3</span>' in duty
    assert "2 trường có lớp chưa cập nhật, trong 2 trường đã kiểm tra" in duty
    assert f'href="/manage/monthly-duty/?month={MONTH:%m/%Y}"' in duty

    overview = html[html.index('id="overview"') : html.index('id="sections"')]
    assert "Sở GD&amp;ĐT Thử nghiệm" in overview and "2 trường, 2 đơn vị trực thuộc" in overview
    assert re.search(r'id="stat-students"><dt>Học sinh, năm học [^<]+</dt><dd>200</dd>', overview)
    assert re.search(r'id="stat-records">.*?<dd>200</dd>', overview)
    states = dict(re.findall(r'<tr data-state="(\w+)"><th scope="row">[^<]+</th><td>(\d+)</td>', overview))
    assert states == {"draft": "70", "submitted": "30", "approved": "20", "signed": "0", "locked": "80"}
    assert "35%" in overview and "40%" in overview

    sections = html[html.index('id="sections"') :]
    for href in ("/manage/units/", "/manage/schools/", "/manage/monthly-duty/", "/manage/windows/", "/manage/audit/"):
        assert f'href="{href}"' in sections


def test_a_unit_officer_never_sees_another_units_requests_or_schools(w, scene):
    html = home(w, "unit_a_admin")
    requests = block(html, "requests")
    assert {int(i) for i in re.findall(r'data-request="(\d+)"', requests)} == {scene["req_a"].pk}
    windows = block(html, "windows")
    shown = {int(i) for i in re.findall(r'data-window="(\d+)"', windows)}
    assert shown == {scene["soon_a"].pk, scene["opening"].pk}  # its own and the province's above it
    assert "Trường THCS Bình Minh" not in html and "Phường Bình Minh" not in html
    assert block(html, "schemas") == ""  # school B's failure is not its business
    duty = block(html, "duty")
    assert "1 trường có lớp chưa cập nhật, trong 1 trường đã kiểm tra" in duty and "2/5 lớp" in duty
    assert re.search(r'id="stat-schools"><dt>[^<]+</dt><dd>1</dd>', html)
    assert re.search(r'id="stat-students">.*?<dd>120</dd>', html)
    assert "Xã An Thạnh" in html and "1 trường" in html

    other = home(w, "unit_b_admin")
    assert {int(i) for i in re.findall(r'data-request="(\d+)"', block(other, "requests"))} == {scene["req_b"].pk}
    assert "Trường THCS An Thạnh" not in other and f'data-school="{w.school_b}"' in block(other, "schemas")


def test_staff_without_the_decision_see_no_requests_and_an_inspector_no_links_to_decide(w, scene):
    staff = home(w, "unit_a_staff")
    assert block(staff, "requests") == "" and "/manage/windows/exceptions/" not in staff
    assert block(staff, "windows") and 'href="/manage/monthly-duty/"' in staff
    inspector = home(w, "inspector")
    assert block(inspector, "requests") == "" and block(inspector, "schemas")


def test_nothing_waiting_says_so_and_english_reads(w):
    html = home(w, "unit_b_admin")
    assert 'id="nothing-waiting"' in html and "Không có việc nào đang chờ bạn." in html
    english = home(w, "unit_b_admin", HTTP_ACCEPT_LANGUAGE="en")
    assert "Waiting for you" in english and "Nothing is waiting for you." in english
    assert "Overview" in english and "Schools in scope" in english


def test_school_staff_keep_the_plain_home(w):
    from tenants.models import Membership

    Membership.objects.create(
        account_id=w.accounts["teacher_a"], role="subject_teacher", school_id=w.school_b, valid_from=DAY
    )
    html = home(w, "teacher_a")
    assert 'id="waiting"' not in html and 'id="overview"' not in html
    assert "Vào trang của Trường THCS An Thạnh" in html and "Vào trang của Trường THCS Bình Minh" in html


def test_the_home_reads_a_constant_number_of_queries_whatever_the_number_of_schools(w, queries):
    extra_schools(w, w.unit_a, 2)
    client = client_for(w.account("province_admin"))
    client.get("/")
    with queries() as two:
        body = page_text(client.get("/"))
    assert "Trường Tiểu học Số 0" in block(body, "requests")
    extra_schools(w, w.unit_a, 10, start=2)
    with queries() as twelve:
        body = page_text(client.get("/"))
    assert len(twelve) == len(two), (len(two), len(twelve))
    assert '<span class="tag due">12</span>' in block(body, "requests")
    assert "và 2 đề nghị khác" in block(body, "requests")
    assert '<span class="tag bad-tag">6</span>' in block(body, "schemas")
    assert re.search(r'id="stat-students">.*?<dd>1200</dd>', body)
    # the board's part: its schools' lean columns, their units' sums, the windows, and the late schools' whole rows
    assert len(two) <= 18, two.statements
