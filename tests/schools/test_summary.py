"""The principal's summary of the school (``/summary/``): the school's own public rows — its rollup for the year, its
classes, the figures copied at each lock, the year-end start, the daily copies, the last reconciliation and its
drift — never another school's; principals and vice principals only; a bad year refused in both languages; the same
number of queries for 2 classes as for 10."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year

from tenants.models import (
    ClassRollup,
    ComplianceSnapshot,
    RollupDay,
    RollupDrift,
    SchoolRollup,
    Window,
    YearEndStart,
)
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

YEAR = current_school_year()
URL = "/summary/"


def rollup(school_id: int, year: int = YEAR, **figures) -> SchoolRollup:
    row, _ = SchoolRollup.objects.update_or_create(school_id=school_id, year_start=year, defaults=figures)
    return row


def classes(school_id: int, count: int, year: int = YEAR, start: int = 9000) -> None:
    for i in range(count):
        ClassRollup.objects.update_or_create(
            school_id=school_id,
            year_start=year,
            class_id=start + i,
            defaults={
                "name": f"6A{i + 1}",
                "grade": 6,
                "students": 30 + i,
                "records_draft": 20,
                "records_approved": 10 + i,
                "sheets_required_term1": 12,
                "sheets_done_term1": 7,
                "sheets_required_term2": 12,
                "sheets_done_term2": 0,
            },
        )


def window(w, category: str, locks_hours: float) -> Window:
    now = timezone.now()
    return Window.objects.create(
        tier="province",
        unit_id=w.province,
        category=category,
        year_start=YEAR,
        opens_at=now + dt.timedelta(hours=locks_hours - 100),
        locks_at=now + dt.timedelta(hours=locks_hours),
        reason="Lịch thử nghiệm",
    )


def get(client, path: str = URL, **extra):
    return client.get(path, **extra)


@pytest.fixture
def scene(w):
    """School A: 412 students in 14 classes, records by state, sheets, conduct, profiles, reopened and edits after
    approval; two classes; a lock's snapshot; a whole-year lock's year-end start; three daily copies; a
    reconciliation that fixed one figure. School B: figures of its own, which school A's page never shows."""
    reconciled = timezone.now() - dt.timedelta(hours=2)
    rollup(
        w.school_a,
        students=412,
        classes=14,
        records_draft=100,
        records_submitted=50,
        records_approved=200,
        records_signed=40,
        records_locked=10,
        sheets_required_term1=168,
        sheets_done_term1=150,
        sheets_required_term2=168,
        sheets_done_term2=21,
        conduct_done_term1=400,
        conduct_done_term2=12,
        profile_complete=380,
        records_reopened=7,
        records_archived=3,
        edits_after_approval=19,
        reconciled_at=reconciled,
    )
    rollup(w.school_b, students=777, classes=23, records_draft=555, edits_after_approval=888)
    classes(w.school_a, 2)
    classes(w.school_b, 1, start=7000)
    ClassRollup.objects.filter(school_id=w.school_b).update(name="9Z9")
    ClassRollup.objects.filter(school_id=w.school_a, class_id=9001).update(stale_since=timezone.now())
    lock = window(w, "scores_1", -30)
    ComplianceSnapshot.objects.create(
        window=lock,
        school_id=w.school_a,
        year_start=YEAR,
        locks_at=lock.locks_at,
        taken_at=lock.locks_at,
        figures={
            "students": 405,
            "classes": 14,
            "records": {"draft": 300, "submitted": 50, "approved": 40, "signed": 10, "locked": 0},
            "records_total": 400,
            "rollup_missing": False,
        },
    )
    ComplianceSnapshot.objects.create(
        window=lock,
        school_id=w.school_b,
        year_start=YEAR,
        locks_at=lock.locks_at,
        taken_at=lock.locks_at,
        figures={"students": 666, "records": {"draft": 666}, "records_total": 666},
    )
    whole = window(w, "whole_year", -2)
    YearEndStart.objects.create(
        window=whole,
        school_id=w.school_a,
        year_start=YEAR,
        started_at=whole.locks_at,
        ready_to_sign=33,
        not_ready=44,
        done=5,
        notified=1,
        by_class=[
            {"class_id": 9000, "class_name": "6A1", "grade": 6, "ready": 20, "not_ready": 4, "done": 5},
            {"class_id": 9001, "class_name": "6A2", "grade": 6, "ready": 13, "not_ready": 40, "done": 0},
        ],
    )
    today = timezone.localdate()
    for back, approved in ((3, 100), (2, 150), (1, 250)):
        RollupDay.objects.create(
            school_id=w.school_a,
            year_start=YEAR,
            day=today - dt.timedelta(days=back),
            figures={
                "records": {"draft": 400 - approved, "approved": approved},
                "records_total": 400,
                "sheets_required_term1": 100,
                "sheets_done_term1": approved // 5,
                "sheets_required_term2": 100,
                "sheets_done_term2": 0,
            },
        )
    RollupDrift.objects.create(
        school_id=w.school_a, year_start=YEAR, field="students", old=410, new=412, found_at=reconciled, run="beat"
    )
    RollupDrift.objects.create(
        school_id=w.school_b, year_start=YEAR, field="students", old=1, new=999, found_at=reconciled, run="beat"
    )
    return {"reconciled": reconciled, "lock": lock, "whole": whole, "today": today}


def section(html: str, name: str) -> str:
    start = html.index(f'id="summary-{name}"')
    return html[start : html.index("</section>", start)]


def cell(html: str, figure: str) -> str:
    start = html.index(f'data-figure="{figure}">') + len(f'data-figure="{figure}">')
    return html[start : html.index("</td>", start)]


def test_the_principal_sees_the_schools_own_rows(w, scene):
    response = get(client_for(w.account("principal_a"), SCHOOL_A_HOST))
    assert response.status_code == 200
    html = page_text(response)
    figures = section(html, "figures")
    assert cell(figures, "students") == "412" and cell(figures, "classes") == "14"
    assert "Đang nhập 100" in cell(figures, "records") and "Đã khóa 10" in cell(figures, "records")
    assert cell(figures, "final") == "250/400 (62%)"
    assert cell(figures, "signed") == "50 · 3"
    assert cell(figures, "sheets1") == "150/168 (89%)" and cell(figures, "sheets2") == "21/168 (12%)"
    assert cell(figures, "conduct1") == "400/412 (97%)" and cell(figures, "conduct2") == "12/412 (3%)"
    assert cell(figures, "profile") == "380/412 (92%)"
    assert cell(figures, "reopened") == "7"
    assert cell(figures, "edits").startswith("19") and "mỗi ngày" in cell(figures, "edits")

    checked = section(html, "reconciliation")
    assert scene["reconciled"].astimezone(timezone.get_current_timezone()).strftime("%d/%m/%Y %H:%M") in checked
    assert "1 sai lệch đã sửa" in checked and "410" in checked and "412" in checked and "999" not in checked

    per_class = section(html, "classes")
    assert 'href="/classes/9000/"' in per_class and 'href="/classes/9001/"' in per_class
    assert "7/12" in per_class and "đang cập nhật" in per_class and "9Z9" not in per_class

    locks = section(html, "locks")
    assert f'data-window="{scene["lock"].pk}"' in locks and "Điểm, nhận xét học kì I" in locks
    assert "405" in locks and "50 (12%)" in locks and "666" not in locks

    year_end = section(html, "year-end")
    assert f'data-window="{scene["whole"].pk}"' in year_end
    assert '<td>6A2</td><td class="num">13</td><td class="num">40</td>' in year_end
    assert '<td class="num">33</td><td class="num">44</td><td class="num">5</td>' in year_end

    days = section(html, "days")
    assert "<svg" in days and 'role="img"' in days  # the chart, drawn on the server
    dates = [(scene["today"] - dt.timedelta(days=b)).strftime("%d/%m/%Y") for b in (3, 2, 1)]
    rows = [days.index(f'<th scope="row">{d}</th>') for d in dates]
    assert rows == sorted(rows)  # the chart's table, oldest day first
    last = days[rows[-1] :]
    assert last.index("25%") < last.index("62%")  # sheets 50/200, then records 250/400, on the last day
    for other in ("777", "555", "888"):
        assert other not in figures


def test_vice_principal_only_besides_the_principal(w, scene):
    assert get(client_for(w.account("vice_a"), SCHOOL_A_HOST)).status_code == 200
    for name in ("homeroom_a", "teacher_a", "dept_a", "clerk_a", "it_a", "parent_a"):
        assert get(client_for(w.account(name), SCHOOL_A_HOST)).status_code == 403, name
    # school B's principal reads school B's figures on school B's site, and is refused on school A's
    other = client_for(w.account("principal_b"), SCHOOL_B_HOST)
    html = page_text(get(other))
    assert cell(section(html, "figures"), "students") == "777" and "412" not in html
    assert get(client_for(w.account("principal_b"), SCHOOL_A_HOST)).status_code == 403
    for name in ("unit_a_admin", "province_admin"):
        assert get(client_for(w.account(name), SCHOOL_A_HOST)).status_code == 403, name


def test_home_and_menu_link_to_the_summary(w, scene):
    principal = page_text(client_for(w.account("principal_a"), SCHOOL_A_HOST).get("/"))
    assert 'id="home-summary"' in principal and f'href="{URL}"' in principal
    teacher = page_text(client_for(w.account("teacher_a"), SCHOOL_A_HOST).get("/"))
    assert f'href="{URL}"' not in teacher


def test_another_year_and_bad_years(w, scene):
    rollup(w.school_a, year=YEAR - 1, students=301, classes=9)
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    html = page_text(get(client, f"{URL}?year={YEAR - 1}"))
    assert cell(section(html, "figures"), "students") == "301"
    assert "Chưa có số liệu theo lớp." in html and f'href="/summary/?year={YEAR}"' in html
    before = SchoolRollup.objects.count(), ClassRollup.objects.count()
    for bad in ("1999", "abc", f"{YEAR + 5}"):
        refused = get(client, f"{URL}?year={bad}")
        assert refused.status_code == 400, bad
        assert "Không có số liệu năm học" in refused.content.decode(), bad
    english = get(client, f"{URL}?year=1999", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400 and "no figures for the school year" in english.content.decode()
    assert (SchoolRollup.objects.count(), ClassRollup.objects.count()) == before


def test_no_rollup_yet(w):
    SchoolRollup.objects.filter(school_id=w.school_a).delete()
    html = page_text(get(client_for(w.account("principal_a"), SCHOOL_A_HOST)))
    assert 'id="summary-empty"' in html and "chưa được đối soát lần nào" in html


def test_in_english(w, scene):
    html = get(client_for(w.account("principal_a"), SCHOOL_A_HOST), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "School summary" in html and "Progress by day" in html and "Tổng quan trường" not in html
    assert "Figures copied once a day" in html


def test_queries_do_not_grow_with_classes_locks_or_days(w, scene):
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    get(client)  # warm the caches the first request fills

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert get(client).status_code == 200
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])

    two = count()
    classes(w.school_a, 10)
    lock = window(w, "conduct", -10)
    ComplianceSnapshot.objects.create(
        window=lock, school_id=w.school_a, year_start=YEAR, locks_at=lock.locks_at, taken_at=lock.locks_at, figures={}
    )
    for back in range(4, 30):
        RollupDay.objects.create(
            school_id=w.school_a, year_start=YEAR, day=scene["today"] - dt.timedelta(days=back), figures={}
        )
    ten = count()
    assert ClassRollup.objects.filter(school_id=w.school_a, year_start=YEAR).count() == 10
    assert two == ten
