"""The province and unit board (``/manage/board/``): each school of the scope with its figures from the public tables
(rollup, exceptions, the last lock's snapshot, the last reconciliation's drift, the schema's state), the units
summed, filters, sort, search without accents, the Excel export with the same rows, and refusals for every bad
input. A unit officer never sees another unit's schools; the page costs the same number of queries for 2 schools as
for 12."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year
from openpyxl import load_workbook

from tenants import provisioning
from tenants.models import (
    ComplianceSnapshot,
    RollupDrift,
    School,
    SchoolPlacement,
    SchoolRollup,
    Window,
    WindowException,
)
from tenants.selectors import boards
from tenants.selectors.access import access_for
from tenants.views import boards as board_views
from tests.support import DAY, client_for, page_text

YEAR = current_school_year()
URL = "/manage/board/"


def at(hours: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


def rollup(school_id: int, year: int = YEAR, **figures) -> SchoolRollup:
    row, _ = SchoolRollup.objects.update_or_create(school_id=school_id, year_start=year, defaults=figures)
    return row


def window(unit_id: int, *, locks: float) -> Window:
    return Window.objects.create(
        tier="unit",
        unit_id=unit_id,
        category="conduct",
        year_start=YEAR,
        opens_at=at(-100),
        locks_at=at(locks),
        reason="Lịch thử nghiệm",
    )


def exception(win: Window, school_id: int, requester: int, status: str) -> WindowException:
    return WindowException.objects.create(
        window=win,
        school_id=school_id,
        class_ids=[1],
        until=at(48),
        reason="Nhập bù",
        requested_by_id=requester,
        status=status,
    )


@pytest.fixture
def scene(w):
    """School A (unit A): 200 students, 100 records; two open requests and one approved exception; a snapshot at the
    last lock; a reconciliation that fixed two figures; schema failed. School B (unit B): 50 students, schema behind."""
    head = provisioning.migration_head().digest
    reconciled = timezone.now() - dt.timedelta(hours=3)
    rollup(
        w.school_a,
        students=200,
        records_draft=10,
        records_submitted=20,
        records_approved=30,
        records_signed=25,
        records_locked=15,
        reconciled_at=reconciled,
    )
    rollup(w.school_b, students=50, records_draft=40, records_approved=10)
    rollup(w.school_a, year=YEAR - 1, students=180, records_locked=90)
    School.objects.filter(pk=w.school_a).update(schema_head=head, schema_error="relation missing")
    School.objects.filter(pk=w.school_b).update(schema_head="old", schema_error="")
    lock_a = window(w.unit_a, locks=-10)
    older = window(w.unit_a, locks=-50)
    lock_b = window(w.unit_b, locks=-10)
    for status in ("requested", "requested", "approved", "refused"):
        exception(lock_a, w.school_a, w.accounts["principal_a"], status)
    exception(lock_b, w.school_b, w.accounts["principal_b"], "requested")
    figures = {"records": {"draft": 20, "submitted": 20, "approved": 40, "signed": 0, "locked": 0}, "records_total": 80}
    ComplianceSnapshot.objects.create(
        window=lock_a,
        school_id=w.school_a,
        year_start=YEAR,
        locks_at=lock_a.locks_at,
        taken_at=at(-10),
        figures=figures,
    )
    ComplianceSnapshot.objects.create(
        window=older,
        school_id=w.school_a,
        year_start=YEAR,
        locks_at=older.locks_at,
        taken_at=at(-50),
        figures={"records": {"approved": 1}, "records_total": 70},
    )
    for field in ("students", "records_draft"):
        RollupDrift.objects.create(
            school_id=w.school_a, year_start=YEAR, field=field, old=1, new=2, found_at=reconciled
        )
    RollupDrift.objects.create(
        school_id=w.school_a,
        year_start=YEAR,
        field="students",
        old=0,
        new=1,
        found_at=reconciled - dt.timedelta(days=1),
    )
    return w


def the_board(w, name: str, **params) -> boards.Board:
    acc = access_for(w.account(name))
    filters = boards.board_filters(params, acc=acc)
    years, _default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=YEAR)
    return boards.board(acc, year=YEAR, years=years, head=provisioning.migration_head().digest, filters=filters)


def rows_of(html: str) -> list[str]:
    """The school names of the page's schools table, in order."""
    body = html.split('class="pin board-schools"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="/manage/board/schools/\d+/\?year=\d+">([^<]+)</a>', body)


def export_rows(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content))
    ws = book.active
    values = [list(r) for r in ws.iter_rows(min_row=5, values_only=True)]
    return [r for r in values if any(v not in (None, "") for v in r)]


def test_figures_of_each_school_and_unit(scene):
    w = scene
    data = the_board(w, "province_admin")
    by_id = {r.id: r for r in data.schools}
    assert set(by_id) >= {w.school_a, w.school_b}
    a, b = by_id[w.school_a], by_id[w.school_b]
    assert (a.students, a.records, a.draft, a.submitted, a.approved, a.signed, a.locked) == (
        200,
        100,
        10,
        20,
        30,
        25,
        15,
    )
    assert (a.approved_pct, a.signed_pct) == (70, 40)
    assert (a.open_requests, a.approved_exceptions) == (2, 1)
    assert a.schema == boards.SCHEMA_FAILED and b.schema == boards.SCHEMA_BEHIND
    assert a.drift == 2  # the last pass only, not the one of the day before
    assert a.reconciled_at is not None and b.reconciled_at is None
    assert (a.lock_records, a.lock_approved, a.lock_approved_pct) == (80, 40, 50)  # the latest lock, not the older one
    assert b.lock_records is None and b.lock_approved_pct is None
    assert (b.students, b.records, b.approved_pct, b.open_requests, b.approved_exceptions) == (50, 50, 20, 1, 0)
    units = {u.id: u for u in data.units}
    assert units[w.unit_a].students == 200 and units[w.unit_a].schemas_in_trouble == 1
    assert units[w.unit_a].approved_pct == 70 and units[w.unit_a].open_requests == 2
    assert units[w.unit_b].students == 50 and units[w.unit_b].schools == 1
    # the previous year reads its own rollups
    acc = access_for(w.account("province_admin"))
    last = boards.board(acc, year=YEAR - 1, years=(YEAR, YEAR - 1), head="", filters=boards.board_filters({}, acc=acc))
    prev = {r.id: r for r in last.schools}[w.school_a]
    assert (prev.students, prev.locked, prev.open_requests, prev.lock_records) == (180, 90, 0, None)
    # the page shows the same figures
    html = page_text(client_for(w.account("province_admin")).get(URL))
    assert "Trường THCS An Thạnh" in html and "Trường THCS Bình Minh" in html
    assert "70%" in html and "Cập nhật lỗi" in html and "Chậm phiên bản" in html


def test_filters_search_sort_and_drill_down(scene):
    w = scene
    names = [r.name for r in the_board(w, "province_admin", sort="-students").schools]
    assert names.index("Trường THCS An Thạnh") < names.index("Trường THCS Bình Minh")
    names = [r.name for r in the_board(w, "province_admin", sort="students").schools]
    assert names.index("Trường THCS Bình Minh") < names.index("Trường THCS An Thạnh")
    assert [r.id for r in the_board(w, "province_admin", q="binh minh").schools] == [w.school_b]
    assert [r.id for r in the_board(w, "province_admin", q="99000001").schools] == [w.school_a]
    assert [r.id for r in the_board(w, "province_admin", schema="failed").schools] == [w.school_a]
    assert [r.id for r in the_board(w, "province_admin", level="upper_secondary").schools] == []
    assert {r.id for r in the_board(w, "province_admin", level="lower_secondary").schools} >= {w.school_a, w.school_b}
    drilled = the_board(w, "province_admin", unit=str(w.unit_b))
    assert [r.id for r in drilled.schools] == [w.school_b] and drilled.unit.id == w.unit_b
    assert [r.id for r in the_board(w, "province_admin", school=str(w.school_a)).schools] == [w.school_a]
    html = page_text(client_for(w.account("province_admin")).get(URL, {"unit": w.unit_a, "sort": "-drift"}))
    assert rows_of(html) == ["Trường THCS An Thạnh"]
    assert f'href="/manage/board/schools/{w.school_a}/?year={YEAR}"' in html
    assert 'aria-sort="descending"' in html


def test_unit_officer_sees_only_their_schools_in_page_and_export(scene):
    w = scene
    for name in ("unit_a_admin", "unit_a_staff"):
        client = client_for(w.account(name))
        html = page_text(client.get(URL))
        assert rows_of(html) == ["Trường THCS An Thạnh"]
        assert "Bình Minh" not in html
        export = client.get(URL, {"format": "xlsx"})
        assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
        assert [r[0] for r in export_rows(export)] == ["Trường THCS An Thạnh"]
        for params in ({"school": w.school_b}, {"unit": w.unit_b}, {"unit": w.province}):
            for fmt in ("", "xlsx"):
                refused = client.get(URL, {**params, "format": fmt} if fmt else params)
                # not found, like an unknown id: the answer does not tell that the id exists elsewhere
                assert refused.status_code == 404
                assert "Bình Minh" not in page_text(refused)
                assert "phạm vi theo dõi" in page_text(refused)


def test_export_has_the_same_rows_as_the_page(scene):
    w = scene
    client = client_for(w.account("province_admin"))
    for params in ({}, {"sort": "-students"}, {"q": "an thanh"}, {"unit": w.unit_b}):
        html = page_text(client.get(URL, params))
        export = client.get(URL, {**params, "format": "xlsx"})
        assert export.status_code == 200
        rows = export_rows(export)
        assert [r[0] for r in rows] == rows_of(html)
    row = next(r for r in export_rows(client.get(URL, {"format": "xlsx"})) if r[0] == "Trường THCS An Thạnh")
    assert row[1] == "99000001" and row[4] == 200 and 70 in row and "Cập nhật lỗi" in row


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"level": "university"}, "Cấp học “university” không có."),
        ({"schema": "broken"}, "Trạng thái phiên bản “broken” không có."),
        ({"sort": "password"}, "Không sắp xếp được theo “password”."),
        ({"year": "1999"}, "Không có số liệu năm học “1999”."),
        ({"year": "abc"}, "Không có số liệu năm học “abc”."),
        ({"unit": "x1"}, "Mã “x1” không hợp lệ."),
        ({"school": "-3"}, "Mã “-3” không hợp lệ."),
        ({"format": "pdf"}, "Định dạng “pdf” không có."),
    ],
)
def test_bad_input_is_refused_in_both_languages(scene, params, fragment):
    client = client_for(scene.account("province_admin"))
    before = SchoolRollup.objects.count(), WindowException.objects.count()
    response = client.get(URL, params)
    assert response.status_code == 400
    assert fragment in page_text(response)
    english = page_text(client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en"))
    assert re.search(r"(does not exist|not valid|cannot sort|no figures|no format)", english, re.I), english[-2000:]
    assert (SchoolRollup.objects.count(), WindowException.objects.count()) == before


def test_export_over_the_limit_is_refused(scene, monkeypatch):
    monkeypatch.setattr(board_views, "EXPORT_ROWS", 1)
    client = client_for(scene.account("province_admin"))
    response = client.get(URL, {"format": "xlsx"})
    assert response.status_code == 400
    assert "hãy lọc hẹp hơn" in page_text(response)
    assert client.get(URL, {"format": "xlsx", "unit": scene.unit_a}).status_code == 200


@pytest.mark.parametrize(
    "name, status",
    [
        ("province_admin", 200),
        ("inspector", 200),
        ("unit_a_admin", 200),
        ("unit_a_staff", 200),
        ("unit_b_admin", 200),
        ("principal_a", 403),
        ("teacher_a", 403),
        ("parent_a", 403),
    ],
)
def test_who_may_open_the_board(w, name, status):
    client = client_for(w.account(name))
    assert client.get(URL).status_code == status
    assert client.get(URL, {"format": "xlsx"}).status_code == status


def test_signed_out_is_sent_to_sign_in(w):
    from django.test import Client

    response = Client(HTTP_HOST="hocba.localhost").get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_year_selector_reads_the_year_and_home_links_the_board(scene):
    client = client_for(scene.account("province_admin"))
    html = page_text(client.get(URL, {"year": str(YEAR - 1)}))
    assert f"Năm học {YEAR - 1}–{YEAR}" in html
    assert "180" in html
    assert 'id="board-link"' in page_text(client.get("/"))
    assert 'href="/manage/board/"' in page_text(client.get("/"))


def extra_schools(unit_id: int, n: int, start: int) -> None:
    lock = window(unit_id, locks=-5)
    for i in range(start, start + n):
        school = School.objects.create(
            schema_name=f"s_board_{i}",
            moet_code=f"9880{i:04d}",
            name=f"Trường Tiểu học Số {i}",
            slug=f"board-so-{i}",
            levels=["primary"],
            created_on=DAY,
        )
        SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=DAY)
        rollup(school.pk, students=10 + i, records_draft=3, reconciled_at=timezone.now())
        RollupDrift.objects.create(
            school=school, year_start=YEAR, field="students", old=1, new=2, found_at=timezone.now()
        )
        ComplianceSnapshot.objects.create(
            window=lock, school=school, year_start=YEAR, locks_at=lock.locks_at, taken_at=at(-5), figures={}
        )


def test_query_count_does_not_grow_with_schools(scene, queries):
    w = scene
    client = client_for(w.account("province_admin"))
    client.get(URL)  # warm the caches a first request fills
    counts = {}
    for total, add in ((2, 0), (12, 10)):
        if add:
            extra_schools(w.unit_a, add, 0)
        for fmt in ("", "xlsx"):
            with queries() as q:
                response = client.get(URL, {"format": fmt} if fmt else {})
            assert response.status_code == 200
            counts[total, fmt] = len(q)
    html = page_text(client.get(URL))
    assert len(rows_of(html)) == 12
    # session, account, access profile, years, the schools' rows, the year's windows, the province's medians and the
    # flagged accounts
    assert max(counts.values()) <= 11, counts
    assert counts[2, ""] == counts[12, ""], counts
    assert counts[2, "xlsx"] == counts[12, "xlsx"], counts


def test_default_year_is_the_latest_with_figures(w):
    SchoolRollup.objects.filter(school_id=w.school_b).delete()
    rollup(w.school_b, year=YEAR - 1, students=77)
    rollup(w.school_b, year=YEAR + 1, students=5)  # a year ahead is offered, never the default
    html = page_text(client_for(w.account("unit_b_admin")).get(URL))
    assert f"Năm học {YEAR - 1}–{YEAR} ·" in html and ">77<" in html
    assert f'<option value="{YEAR + 1}">' in html and f'<option value="{YEAR}">' in html


def test_schools_are_paged_after_filter_and_sort_and_exports_take_every_row(scene, queries):
    """The page shows one page of schools (sorted and filtered first), the heading counts all of them, the units
    stay summed over every school; the export has every row; a bad page is refused, a page past the last shows the
    last; page 2 costs the queries of page 1."""
    w = scene
    extra_schools(w.unit_a, 58, 0)  # 60 schools in all: two pages of 50
    client = client_for(w.account("province_admin"))
    per = boards.rows.PER_PAGE
    html = page_text(client.get(URL, {"sort": "-students"}))
    first = rows_of(html)
    assert len(first) == per and first[0] == "Trường THCS An Thạnh"  # 200 students: the most, sorted before paging
    assert "60 trường" in html and "Trang 1/2" in html and "page=2" in html
    units = {u.id: u for u in the_board(w, "province_admin").units}
    assert units[w.unit_a].schools == 59 and units[w.unit_a].students == 200 + sum(10 + i for i in range(58))
    with queries() as q1:
        second = rows_of(page_text(client.get(URL, {"sort": "-students", "page": "2"})))
    with queries() as q2:
        past = rows_of(page_text(client.get(URL, {"sort": "-students", "page": "9"})))
    assert len(q1) == len(q2)
    assert len(second) == 60 - per and past == second and not set(first) & set(second)
    export = client.get(URL, {"sort": "-students", "format": "xlsx", "page": "2"})
    assert [r[0] for r in export_rows(export)] == first + second
    # filters apply before the page: the search keeps 11 schools (Số 1, Số 10–19) on one page
    html = page_text(client.get(URL, {"q": "so 1", "page": "1"}))
    assert len(rows_of(html)) == 11 and "Trang 1/" not in html
    assert [r.id for r in the_board(w, "province_admin", q="binh minh", page="1").schools] == [w.school_b]
    for bad in ("0", "x", "-1", "1.5"):
        refused = client.get(URL, {"page": bad})
        assert refused.status_code == 400 and f"Trang “{bad}” không có." in page_text(refused)
        english = page_text(client.get(URL, {"page": bad}, HTTP_ACCEPT_LANGUAGE="en"))
        assert f"Page “{bad}” does not exist." in english
