"""What the statistics page (``/manage/statistics/``) says on screen (issue 14's screenshots): a year without an
approved record book says so where the results would be, and the units table has a row for the schools placed directly
under the province, as the board does, so that its rows add up to the total."""

from __future__ import annotations

import re

from tenants.models import ResultDistribution, School, SchoolPlacement
from tenants.selectors import statistics as stats
from tenants.selectors.access import access_for
from tests.support import DAY, client_for, page_text
from tests.tenants.test_statistics import YEAR, school_rollup

URL = "/manage/statistics/"
NO_RESULTS = "Chưa có học bạ nào được duyệt trong năm học"
DIRECT_ROW = "Trường trực thuộc Sở GD&amp;ĐT Thử nghiệm"


def direct_school(province_id: int) -> int:
    """An upper-secondary school placed in the province itself, not in one of its units, with 40 students."""
    school = School.objects.create(
        schema_name="s_stat_direct",
        moet_code="99000309",
        name="Trường THPT Trực Thuộc",
        slug="thpt-truc-thuoc",
        levels=["upper_secondary"],
        created_on=DAY,
    )
    SchoolPlacement.objects.create(school=school, unit_id=province_id, valid_from=DAY)
    school_rollup(school.pk, students=40, classes=1, records_draft=40)
    return school.pk


def table_rows(html: str, table_class: str) -> list[tuple[str, list[str]]]:
    """A table's body rows: the row header's text and its figure cells' texts."""
    body = html.split(f'class="pin {table_class}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        head = re.sub(r"<[^>]+>", "", re.search(r"<th[^>]*>(.*?)</th>", row, flags=re.S).group(1)).strip()
        rows.append((head, re.findall(r'<td class="n">([^<]*)</td>', row)))
    return rows


def test_a_year_without_an_approved_record_says_so_where_the_results_would_be(w):
    school_rollup(w.school_a, students=60, classes=2, records_draft=60)
    client = client_for(w.account("province_admin"))
    html = page_text(client.get(URL))
    results = html.split("Kết quả học tập, rèn luyện, đánh giá cuối năm", 1)[1]
    assert 'id="no-results"' in results and NO_RESULTS in results
    assert f"{YEAR}–{YEAR + 1}" in results.split('id="no-results"', 1)[1].split("</p>", 1)[0]
    english = page_text(client.get(URL, HTTP_ACCEPT_LANGUAGE="en"))
    assert "No record book has been approved" in english and NO_RESULTS not in english

    # One approved record's result: the results show, the message does not.
    ResultDistribution.objects.create(
        school_id=w.school_a,
        year_start=YEAR,
        grade=6,
        gender="M",
        ethnicity="01",
        measure="learning",
        value="tot",
        count=1,
    )
    shown = page_text(client.get(URL))
    assert 'id="no-results"' not in shown and NO_RESULTS not in shown
    assert 'id="measure-learning"' in shown


def test_units_table_has_the_schools_directly_under_the_province_and_adds_up(w):
    school_rollup(w.school_a, students=60, classes=2, records_draft=60)
    school_rollup(w.school_b, students=30, classes=1, records_draft=30)
    direct_school(w.province)
    html = page_text(client_for(w.account("province_admin")).get(URL))
    rows = table_rows(html, "statistics-units")
    assert [head for head, _cells in rows] == ["Phường Bình Minh", "Xã An Thạnh", DIRECT_ROW]
    # columns: schools, students, classes, then the records by state
    figures = {head: (int(cells[0]), int(cells[1]), int(cells[2])) for head, cells in rows}
    assert figures[DIRECT_ROW] == (1, 40, 1)
    total = re.findall(r'<td class="n">([^<]*)</td>', html.split('class="statistics-total"', 1)[1])[:3]
    assert [sum(f[i] for f in figures.values()) for i in range(3)] == [int(v) for v in total] == [3, 130, 4]
    # the unit rows drill down; the direct row has no unit of its own to open
    units = html.split('class="pin statistics-units"', 1)[1].split("</table>", 1)[0]
    assert f"unit={w.unit_a}" in units and f"unit={w.unit_b}" in units and f"unit={w.province}" not in units
    assert '<tr class="direct"><th scope="row">' + DIRECT_ROW + "</th>" in units
    # the same row in the selector (and so in the export and the API), marked as such
    acc = access_for(w.account("province_admin"))
    years, default = stats.statistics_years(acc, current=YEAR)
    summary = stats.statistics_summary(acc, stats.statistics_filters({}, acc=acc, years=years, default_year=default))
    assert [(c.label, c.direct, c.schools) for c in summary.by_unit][-1] == (DIRECT_ROW.replace("&amp;", "&"), True, 1)
    assert sum(c.students for c in summary.by_unit) == summary.total.students == 130


def test_a_unit_without_units_below_keeps_its_single_row(w):
    school_rollup(w.school_a, students=60, classes=2, records_draft=60)
    direct_school(w.province)
    html = page_text(client_for(w.account("unit_a_admin")).get(URL))
    assert [head for head, _cells in table_rows(html, "statistics-units")] == ["Xã An Thạnh"]
    assert "Trường trực thuộc" not in html and "Trường THPT Trực Thuộc" not in html
