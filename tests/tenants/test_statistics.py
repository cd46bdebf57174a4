"""Statistics for province and unit staff (``/manage/statistics/`` and ``/api/v1/statistics/…``): counts per level,
grade, unit and school from the rollups, result distributions by grade, gender and ethnic group with the "< 5" rule
below unit level, completion over time from the daily copies, the Excel export, refusals for bad input, the scope of
every role, and queries that do not grow with the number of schools."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.test import Client
from hocba.kernel.schoolyear import current_school_year
from openpyxl import load_workbook
from rest_framework.test import APIClient

from tenants.models import ClassRollup, ResultDistribution, RollupDay, School, SchoolPlacement, SchoolRollup
from tenants.selectors import statistics as stats
from tenants.selectors.access import access_for
from tenants.views import statistics as stat_views
from tests.support import DAY, api_token_for, client_for, page_text

YEAR = current_school_year()
URL = "/manage/statistics/"
APIS = ("/api/v1/statistics/summary/", "/api/v1/statistics/distributions/", "/api/v1/statistics/completion/")
BOARD_API = "/api/v1/boards/schools/"
# Two Mondays of September: the completion chart reads one day a week before the last fortnight.
MONDAY = dt.date(YEAR, 9, 1) + dt.timedelta(days=(7 - dt.date(YEAR, 9, 1).weekday()) % 7)
NEXT_MONDAY = MONDAY + dt.timedelta(weeks=1)


def school_rollup(school_id: int, year: int = YEAR, **figures) -> None:
    SchoolRollup.objects.update_or_create(school_id=school_id, year_start=year, defaults=figures)


def class_rollup(school_id: int, class_id: int, grade: int, **figures) -> None:
    ClassRollup.objects.create(
        school_id=school_id, year_start=YEAR, class_id=class_id, name=f"{grade}A{class_id}", grade=grade, **figures
    )


def cell(school_id: int, grade: int, gender: str, group: str, measure: str, value: str, count: int) -> None:
    ResultDistribution.objects.create(
        school_id=school_id,
        year_start=YEAR,
        grade=grade,
        gender=gender,
        ethnicity=group,
        measure=measure,
        value=value,
        count=count,
    )


def day_copy(school_id: int, day: dt.date, *, done: int, required: int, approved: int, total: int) -> None:
    RollupDay.objects.create(
        school_id=school_id,
        year_start=YEAR,
        day=day,
        figures={
            "sheets_done_term1": done,
            "sheets_required_term1": required,
            "records": {"draft": total - approved, "approved": approved},
            "records_total": total,
        },
    )


@pytest.fixture
def scene(w, monkeypatch):
    """School A (unit A, grades 6 and 7) and school B (unit B, grade 6), with rollups, classes, results and two days
    of completion. Today is 1 December of the year (the completion chart reads up to today)."""
    monkeypatch.setattr(stats, "local_today", lambda: dt.date(YEAR, 12, 1))
    school_rollup(
        w.school_a,
        students=60,
        classes=2,
        records_draft=10,
        records_approved=40,
        records_signed=10,
        sheets_required_term1=20,
        sheets_done_term1=15,
        sheets_required_term2=20,
        sheets_done_term2=5,
        conduct_done_term1=60,
        conduct_done_term2=30,
        profile_complete=45,
        records_archived=3,
    )
    school_rollup(w.school_b, students=30, classes=1, records_draft=30, sheets_required_term1=10)
    school_rollup(w.school_a, year=YEAR - 1, students=55)
    class_rollup(w.school_a, 1, 6, students=32, records_draft=2, records_approved=30, sheets_required_term1=10)
    class_rollup(w.school_a, 2, 7, students=28, records_draft=8, records_approved=10, records_signed=10)
    class_rollup(w.school_b, 3, 6, students=30, records_draft=30, sheets_required_term1=10, sheets_done_term1=4)
    # results: school A grade 6 learning: 20 Tốt (Kinh boys), 3 Khá (Khmer girls), 7 Đạt; school B: 2 Tốt
    cell(w.school_a, 6, "M", "01", "learning", "tot", 20)
    cell(w.school_a, 6, "F", "05", "learning", "kha", 3)
    cell(w.school_a, 6, "F", "01", "learning", "dat", 7)
    cell(w.school_a, 7, "F", "01", "learning", "tot", 4)
    cell(w.school_b, 6, "M", "01", "learning", "tot", 2)
    cell(w.school_a, 6, "M", "01", "conduct", "tot", 30)
    day_copy(w.school_a, MONDAY, done=5, required=20, approved=10, total=50)
    day_copy(w.school_a, MONDAY + dt.timedelta(days=1), done=6, required=20, approved=11, total=50)  # not a point
    day_copy(w.school_a, NEXT_MONDAY, done=10, required=20, approved=25, total=50)
    day_copy(w.school_b, NEXT_MONDAY, done=0, required=20, approved=0, total=50)
    return w


def filters(w, name: str, **params) -> tuple:
    acc = access_for(w.account(name))
    years, default = stats.statistics_years(acc, current=YEAR)
    return acc, stats.statistics_filters(params, acc=acc, years=years, default_year=default)


def test_measures_match_the_schools_vocabulary():
    from schools.rollups import MEASURES

    assert stats.MEASURES == MEASURES
    assert set(stats.MEASURE_GRADES) == set(MEASURES) == set(stats.MEASURE_LABELS)
    assert {v for values in MEASURES.values() for v in values} <= set(stats.VALUE_LABELS)


def test_counts_per_school_unit_level_and_grade(scene):
    w = scene
    summary = stats.statistics_summary(*filters(w, "province_admin"))
    by_school = {int(c.key): c for c in summary.by_school}
    a, b = by_school[w.school_a], by_school[w.school_b]
    assert (a.students, a.classes, a.records_total, a.approved_or_further, a.approved_pct) == (60, 2, 60, 50, 83)
    assert (a.sheets_done, a.sheets_required, a.sheets_pct) == (20, 40, 50)
    assert (a.conduct_pct, a.profile_pct, a.archived) == (75, 75, 3)
    assert (b.students, b.records_total, b.approved_pct) == (30, 30, 0)
    assert summary.total.students >= 90 and summary.total.schools >= 2
    units = {c.unit_id: c for c in summary.by_unit}
    assert units[w.unit_a].students == 60 and units[w.unit_b].students == 30
    grades = {c.key: c for c in summary.by_grade}
    assert (grades["6"].students, grades["6"].classes, grades["6"].schools) == (62, 2, 2)
    assert (grades["7"].students, grades["7"].records["signed"]) == (28, 10)
    assert [(c.key, c.students, c.classes) for c in summary.by_level] == [("lower_secondary", 90, 3)]
    # a grade chosen: the schools' figures come from their classes of that grade
    graded = stats.statistics_summary(*filters(w, "province_admin", grade="7"))
    assert [(int(c.key), c.students) for c in graded.by_school if c.students] == [(w.school_a, 28)]
    assert graded.total.conduct_done is None and [c.key for c in graded.by_grade] == ["7"]
    # the previous year reads its own rollups
    last = stats.statistics_summary(*filters(w, "province_admin", year=str(YEAR - 1)))
    assert {int(c.key): c.students for c in last.by_school}[w.school_a] == 55


def test_distributions_by_grade_gender_ethnicity_and_the_small_cell_rule(scene):
    w = scene
    tables = {t.measure: t for t in stats.statistics_distributions(*filters(w, "province_admin"))}
    learning = tables["learning"]
    assert learning.values[:4] == ("tot", "kha", "dat", "chua_dat") and not learning.masked
    rows = {r.key: r for r in learning.rows}
    assert rows["6"].counts[:3] == (22, 3, 7) and rows["6"].total == 32  # a unit-level scope: 3 is shown
    assert rows["7"].counts[0] == 4
    assert tables["conduct"].rows[0].counts[0] == 30
    assert list(tables) == ["learning", "conduct"]  # the measures the approved records hold: no TT27 here
    by_gender = {r.key: r for r in stats.statistics_distributions(*filters(w, "province_admin", by="gender"))[0].rows}
    assert by_gender["M"].counts[0] == 22 and by_gender["F"].counts[:3] == (4, 3, 7)
    by_group = stats.statistics_distributions(*filters(w, "province_admin", by="ethnicity"))[0].rows
    assert [(r.key, r.label) for r in by_group] == [("01", "Kinh"), ("05", "Khơ-me")]
    # one school: cells under 5 read "< 5", no totals
    masked = stats.statistics_distributions(*filters(w, "province_admin", school=str(w.school_a)))[0]
    rows = {r.key: r for r in masked.rows}
    assert masked.masked and rows["6"].counts[:3] == (20, None, 7) and rows["6"].total is None
    assert rows["6"].shown()[:3] == ("20", "< 5", "7") and rows["7"].shown()[0] == "< 5"


def test_evaluation_measures_follow_the_grades(scene):
    w = scene
    cell(w.school_a, 6, "M", "01", "evaluation", "hoan_thanh", 9)  # never for grade 6: filtered out by grade
    assert stats.statistics_distributions(*filters(w, "province_admin", level="primary")) == []
    cell(w.school_a, 3, "F", "01", "evaluation", "hoan_thanh", 9)
    cell(w.school_a, 3, "F", "01", "learning", "tot", 9)  # a TT22 measure is never read for a primary grade
    primary = stats.statistics_distributions(*filters(w, "province_admin", level="primary"))
    assert [(t.measure, t.rows[0].key, t.rows[0].counts) for t in primary] == [("evaluation", "3", (0, 0, 9, 0, 0))]
    asked = stats.statistics_distributions(*filters(w, "province_admin", grade="9"), measure="learning")
    assert [(t.measure, t.rows) for t in asked] == [("learning", ())]


def test_completion_over_time(scene):
    w = scene
    days = stats.statistics_completion(*filters(w, "province_admin"))
    assert [(d.day, d.schools, d.sheets_done, d.sheets_required) for d in days] == [
        (MONDAY, 1, 5, 20),
        (NEXT_MONDAY, 2, 10, 40),
    ]
    assert (days[0].sheets_pct, days[0].approved_pct, days[1].approved_pct) == (25.0, 20.0, 25.0)
    only_b = stats.statistics_completion(*filters(w, "unit_b_admin"))
    assert [(d.day, d.sheets_done) for d in only_b] == [(NEXT_MONDAY, 0)]
    # within the last fortnight every day is read
    acc, f = filters(w, "province_admin")
    daily = stats.statistics_completion(acc, f, today=MONDAY + dt.timedelta(days=3))
    assert [d.day for d in daily] == [MONDAY, MONDAY + dt.timedelta(days=1)]


def test_completion_days_are_weekly_then_daily():
    days = stats.completion_days(2025, dt.date(2025, 12, 31))
    assert days[0] == dt.date(2025, 8, 4) and all(d.weekday() == 0 for d in days[:-14])  # Mondays from 1 August
    assert days[-14:] == [dt.date(2025, 12, 18) + dt.timedelta(days=n) for n in range(14)]
    assert len(days) == len(set(days)) == sorted(days).__len__() and days == sorted(days)
    assert stats.completion_days(2025, dt.date(2025, 7, 1)) == []  # the year has not begun
    past = stats.completion_days(2023, dt.date(2025, 12, 31))
    assert past[-1] == dt.date(2024, 7, 31) and len(past) < 70
    early = stats.completion_days(2025, dt.date(2025, 8, 3))
    assert early == [dt.date(2025, 8, 1), dt.date(2025, 8, 2), dt.date(2025, 8, 3)]


def test_page_shows_tables_charts_and_figures(scene):
    w = scene
    html = page_text(client_for(w.account("province_admin")).get(URL))
    assert "Trường THCS An Thạnh" in html and "Trường THCS Bình Minh" in html
    assert 'role="img"' in html and "<title id=" in html and "<desc id=" in html
    assert 'id="chart-completion"' in html and 'id="chart-learning"' in html
    assert f"{NEXT_MONDAY:%d/%m/%Y}" in html and "Khối 6" in html and "83%" in html
    assert "< 5" not in html.split('id="measure-learning"', 1)[1].split("</section>", 1)[0]
    drilled = page_text(client_for(w.account("province_admin")).get(URL, {"school": w.school_a}))
    section = drilled.split('id="measure-learning"', 1)[1].split("</section>", 1)[0]
    assert "&lt; 5" in section and 'id="small-cell-note"' in drilled
    assert "Bình Minh" not in drilled.split("<h2>", 1)[1]
    # the menu names the page
    assert 'href="/manage/statistics/"' in html and "Thống kê" in html


def test_a_wide_scope_lists_its_units_and_exports_its_schools(scene, monkeypatch):
    monkeypatch.setattr(stat_views, "PAGE_SCHOOLS", 1)
    client = client_for(scene.account("province_admin"))
    html = page_text(client.get(URL))
    assert 'id="schools-too-many"' in html and "statistics-schools" not in html
    assert f"unit={scene.unit_a}" in html.split('class="pin statistics-units"', 1)[1]
    book = load_workbook(io.BytesIO(client.get(URL, {"format": "xlsx"}).content))
    names = [r[0] for r in book["Theo trường"].iter_rows(min_row=5, values_only=True)]
    assert {"Trường THCS An Thạnh", "Trường THCS Bình Minh"} <= set(names)
    drilled = page_text(client.get(URL, {"unit": scene.unit_a}))
    assert 'id="schools-too-many"' not in drilled and "Trường THCS An Thạnh" in drilled


def test_unit_officer_sees_only_their_schools(scene):
    w = scene
    for name in ("unit_a_admin", "unit_a_staff"):
        client = client_for(w.account(name))
        html = page_text(client.get(URL))
        assert "Trường THCS An Thạnh" in html and "Bình Minh" not in html
        export = client.get(URL, {"format": "xlsx"})
        assert export.status_code == 200
        book = load_workbook(io.BytesIO(export.content))
        texts = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]
        assert "Trường THCS An Thạnh" in texts and not any("Bình Minh" in t for t in texts)
        for params in ({"unit": w.unit_b}, {"school": w.school_b}, {"unit": w.province}):
            refused = client.get(URL, params)
            assert refused.status_code == 404 and "Bình Minh" not in page_text(refused)
            assert "phạm vi của bạn" in page_text(refused)
            api = APIClient(HTTP_HOST="hocba.localhost")
            api.force_authenticate(w.account(name))
            for path in APIS:
                answer = api.get(path, params)
                assert answer.status_code == 404 and answer.json()["code"].startswith("statistics_")
                assert "detail_en" in answer.json()


def test_export_has_a_sheet_per_table_with_the_same_figures(scene):
    client = client_for(scene.account("province_admin"))
    response = client.get(URL, {"format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    names = book.sheetnames
    assert names[:4] == ["Theo trường", "Theo đơn vị", "Theo cấp học", "Theo khối lớp"]
    assert "Tiến độ theo ngày" in names and any(n.startswith("Kết quả học tập") for n in names)
    schools = {r[0]: r for r in book["Theo trường"].iter_rows(min_row=5, values_only=True)}
    assert schools["Trường THCS An Thạnh"][1] == "99000001" and schools["Trường THCS An Thạnh"][2] == 60
    masked = load_workbook(io.BytesIO(client.get(URL, {"format": "xlsx", "school": scene.school_a}).content))
    learning = next(n for n in masked.sheetnames if n.startswith("Kết quả học tập"))
    rows = list(masked[learning].iter_rows(min_row=5, values_only=True))
    assert rows[0][:4] == ("Khối 6", 20, "< 5", 7)


def test_export_over_the_limit_is_refused(scene, monkeypatch):
    monkeypatch.setattr(stat_views, "EXPORT_ROWS", 3)
    client = client_for(scene.account("province_admin"))
    response = client.get(URL, {"format": "xlsx"})
    assert response.status_code == 400 and "hãy lọc hẹp hơn" in page_text(response)
    english = page_text(client.get(URL, {"format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "narrow" in english


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"year": "1999"}, "Không có số liệu năm học “1999”."),
        ({"year": "abc"}, "Không có số liệu năm học “abc”."),
        ({"level": "university"}, "Cấp học “university” không có."),
        ({"grade": "13"}, "Khối lớp “13” không có (1–12)."),
        ({"grade": "x"}, "Khối lớp “x” không có (1–12)."),
        ({"level": "primary", "grade": "9"}, "Khối 9 không thuộc cấp học đã chọn."),
        ({"by": "religion"}, "Không nhóm được theo “religion”."),
        ({"unit": "x1"}, "Mã “x1” không hợp lệ."),
        ({"school": "-3"}, "Mã “-3” không hợp lệ."),
        ({"format": "pdf"}, "Định dạng “pdf” không có."),
    ],
)
def test_bad_input_is_refused_in_both_languages(scene, params, fragment):
    client = client_for(scene.account("province_admin"))
    before = SchoolRollup.objects.count(), ResultDistribution.objects.count()
    response = client.get(URL, params)
    assert response.status_code == 400
    assert fragment in page_text(response)
    english = page_text(client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en"))
    assert re.search(r"(does not exist|not valid|cannot group|no figures|no format|not in the)", english, re.I)
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.force_authenticate(scene.account("province_admin"))
    if "format" not in params:
        for path in APIS:
            answer = api.get(path, params)
            assert answer.status_code == 400 and answer.json()["detail"] == fragment
    assert api.get(APIS[1], {"measure": "iq"}).status_code == 400
    assert (SchoolRollup.objects.count(), ResultDistribution.objects.count()) == before


ROLES = [
    ("province_admin", 200),
    ("inspector", 200),
    ("unit_a_admin", 200),
    ("unit_a_staff", 200),
    ("unit_b_admin", 200),
    ("principal_a", 403),
    ("vice_a", 403),
    ("teacher_a", 403),
    ("parent_a", 403),
]


@pytest.mark.parametrize("name, status", ROLES)
def test_who_may_open_each_url(w, name, status):
    client = client_for(w.account(name))
    assert client.get(URL).status_code == status
    assert client.get(URL, {"format": "xlsx"}).status_code == status
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.force_authenticate(w.account(name))
    for path in (*APIS, BOARD_API):
        assert api.get(path).status_code == status, path


def test_signed_out_and_school_site(w):
    for path in (URL, *APIS, BOARD_API):
        response = Client(HTTP_HOST="hocba.localhost").get(path)
        assert response.status_code in (302, 401, 403)
        if response.status_code == 302:
            assert "login" in response["Location"]
    # not served on a school's site
    principal = client_for(w.account("principal_a"), "thcs-an-thanh.hocba.localhost")
    assert principal.get(URL).status_code == 404


def test_api_tokens_keep_their_scope(scene):
    w = scene
    key = api_token_for(w.account("unit_a_staff"), f"unit:{w.unit_a}", write=False)
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    summary = api.get(APIS[0]).json()
    assert [s["label"] for s in summary["by_school"]] == ["Trường THCS An Thạnh"]
    assert summary["by_school"][0]["records"]["approved"] == 40
    assert api.get(APIS[0], {"unit": w.unit_b}).status_code == 404
    assert api.get(APIS[1], {"school": w.school_b}).status_code == 404
    masked = api.get(APIS[1], {"school": w.school_a, "measure": "learning"}).json()["measures"][0]
    assert masked["masked"] and masked["rows"][0]["counts"][:3] == ["20", "< 5", "7"]
    assert masked["rows"][0]["total"] is None
    days = api.get(APIS[2]).json()["days"]
    assert [d["day"] for d in days] == [f"{MONDAY:%d/%m/%Y}", f"{NEXT_MONDAY:%d/%m/%Y}"]
    board = api.get(BOARD_API).json()
    assert [s["name"] for s in board["schools"]] == ["Trường THCS An Thạnh"]
    assert board["schools"][0]["records"]["approved"] == 40 and board["schools"][0]["records_total"] == 60
    foreign = api.get(BOARD_API, {"unit": w.unit_b})
    assert foreign.status_code in (403, 404) and "Bình Minh" not in foreign.content.decode()  # the board's refusal
    province = api_token_for(w.account("province_admin"), f"unit:{w.province}", write=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {province}")
    names = {s["label"] for s in api.get(APIS[0]).json()["by_school"]}
    assert {"Trường THCS An Thạnh", "Trường THCS Bình Minh"} <= names
    teacher = api_token_for(w.account("teacher_a"), f"school:{w.school_a}", write=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {teacher}")
    for path in (*APIS, BOARD_API):
        assert api.get(path).status_code == 403


def test_openapi_documents_the_endpoints(w):
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.force_authenticate(w.account("province_admin"))
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    for path in (*APIS, BOARD_API):
        assert path in schema["paths"], path
        assert "200" in schema["paths"][path]["get"]["responses"]


def extra_schools(unit_id: int, n: int) -> None:
    for i in range(n):
        school = School.objects.create(
            schema_name=f"s_stat_{i}",
            moet_code=f"9870{i:04d}",
            name=f"Trường THCS Số {i}",
            slug=f"stat-so-{i}",
            levels=["lower_secondary"],
            created_on=DAY,
        )
        SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=DAY)
        school_rollup(school.pk, students=20 + i, records_draft=5)
        class_rollup(school.pk, 100 + i, 8, students=20 + i)
        cell(school.pk, 8, "M", "01", "learning", "kha", 3 + i)
        day_copy(school.pk, NEXT_MONDAY, done=1, required=2, approved=1, total=5)


def test_query_count_does_not_grow_with_schools(scene, queries):
    w = scene
    client = client_for(w.account("province_admin"))
    api = APIClient(HTTP_HOST="hocba.localhost")
    api.force_authenticate(w.account("province_admin"))
    requests = [
        ("page", lambda: client.get(URL)),
        ("xlsx", lambda: client.get(URL, {"format": "xlsx"})),
        ("grade", lambda: client.get(URL, {"grade": "8", "by": "ethnicity"})),
        *((path, lambda path=path: api.get(path)) for path in (*APIS, BOARD_API)),
    ]
    for _name, send in requests:
        send()  # warm the caches a first request fills
    counts = {}
    for total, add in ((2, 0), (12, 10)):
        if add:
            extra_schools(w.unit_a, add)
        for name, send in requests:
            with queries() as q:
                response = send()
            assert response.status_code == 200, name
            counts[total, name] = len(q)
    for name, _send in requests:
        assert counts[2, name] == counts[12, name], (name, counts)
    assert max(counts.values()) <= 13, counts  # session, account, access, years, the figures
    html = page_text(client.get(URL))
    assert html.count("Trường THCS Số ") >= 10
