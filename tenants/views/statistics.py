"""Statistics for province and unit staff (``/manage/statistics/``, ``statistics.view``): counts per level, grade,
unit and school, the results of the approved record books by grade, gender or ethnic group, completion over time —
each table with its chart — and the whole as an Excel workbook, one sheet per table (``?format=xlsx``,
``statistics.export``). Filters: year, level, unit, school (drill-down: the "< 5" rule), grade, grouping.

Public tables only, through ``selectors.statistics``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from hocba.kernel import charts
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import GRADES, LEVEL_CHOICES
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.recordstates import STATES
from hocba.kernel.refusals import refusal_response
from hocba.kernel.schoolyear import current_school_year
from hocba.kernel.spreadsheets import (
    BORDER,
    MUTED_FONT,
    TITLE_FONT,
    XLSX_CONTENT_TYPE,
    set_widths,
    sheet_title,
    style_header,
    xlsx_bytes,
)
from openpyxl import Workbook

from ..selectors import statistics as stats
from .common import access

PAGE_SCHOOLS = 300  # schools listed on the page; a wider scope shows its units (drill down) and exports every school
EXPORT_ROWS = 20000  # rows of every table in one workbook; a province of 3,500 schools needs some 4,000

STATE_LABELS = {
    "draft": _("Đang nhập"),
    "submitted": _("Đã trình"),
    "approved": _("Đã duyệt"),
    "signed": _("Đã ký"),
    "locked": _("Đã khóa"),
}


def year_label(year: int) -> str:
    return f"{year}–{year + 1}"


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def count_headers(first: str, *, school_figures: bool) -> list[str]:
    headers = [first, _g("Trường"), _g("Học sinh"), _g("Lớp"), *(str(STATE_LABELS[s]) for s in STATES)]
    headers += [_g("Tỷ lệ duyệt"), _g("Sổ điểm xong / cần"), _g("Tỷ lệ sổ điểm")]
    if school_figures:
        headers += [_g("Tỷ lệ nhập hạnh kiểm/phẩm chất"), _g("Tỷ lệ hồ sơ đủ"), _g("Đã lưu trữ")]
    return headers


def count_cells(c: stats.Counts, *, school_figures: bool) -> list:
    cells = [c.label, c.schools, c.students, c.classes, *(c.records.get(s, 0) for s in STATES)]
    cells += [f"{c.approved_pct}%", f"{c.sheets_done}/{c.sheets_required}", f"{c.sheets_pct}%"]
    if school_figures:
        archived = "—" if c.archived is None else c.archived
        cells += [_pct(c.conduct_pct), _pct(c.profile_pct), archived]
    return cells


def completion_chart(days: tuple[stats.CompletionDay, ...]) -> charts.Chart:
    return charts.line_chart(
        [
            charts.Series(_g("Sổ điểm đã xong"), tuple(d.sheets_pct for d in days)),
            charts.Series(_g("Học bạ đã duyệt trở lên"), tuple(d.approved_pct for d in days)),
            charts.Series(_g("Học bạ đã ký trở lên"), tuple(d.signed_pct for d in days)),
        ],
        labels=[d.day.strftime("%d/%m/%Y") for d in days],
        title=_g("Tiến độ hoàn thành theo ngày"),
        label_header=_g("Ngày"),
        unit="%",
        y_max=100,
        chart_id="chart-completion",
        note=_g("Số liệu chụp mỗi ngày một lần, từ bảng tổng hợp của các trường."),
    )


def distribution_chart(table: stats.MeasureTable) -> charts.Chart:
    series = [
        charts.Series(label, tuple(r.counts[i] for r in table.rows)) for i, label in enumerate(table.value_labels)
    ]
    chart = charts.bar_chart(
        series,
        labels=[r.label for r in table.rows],
        title=table.label,
        label_header=str(stats.BY_LABELS[table.by]),
        stacked=True,
        chart_id=f"chart-{table.measure}",
        note=_g("Các ô dưới 5 hiện “< 5”.") if table.masked else "",
    )
    if table.masked:
        return chart
    headers = (*chart.headers, _g("Tổng"))
    rows = tuple((*row, charts.number(r.total)) for row, r in zip(chart.rows, table.rows, strict=True))
    return charts.Chart(chart.title, chart.svg, headers, rows, chart.note, chart.chart_id)


def _load(request) -> tuple:
    acc = access(request)
    years, default = stats.statistics_years(acc, current=current_school_year())
    filters = stats.statistics_filters(request.GET, acc=acc, years=years, default_year=default)
    return acc, years, filters


class StatisticsView(CapabilityRequiredMixin, TemplateView):
    required_capability = stats.CAPABILITY
    template_name = "tenants/statistics.html"

    def get(self, request, *args, **kwargs):
        try:
            acc, years, filters = _load(request)
            fmt = request.GET.get("format", "")
            if fmt not in ("", "html", "xlsx"):
                raise DomainError(
                    "statistics_bad_format", _("Định dạng “%(value)s” không có."), params={"value": fmt[:20]}
                )
            if fmt == "xlsx" and not acc.has(stats.EXPORT_CAPABILITY):
                raise DomainError("forbidden", _("Bạn không có quyền tải số liệu thống kê."), http_status=403)
            summary = stats.statistics_summary(acc, filters)
            distributions = stats.statistics_distributions(acc, filters)
            completion = stats.statistics_completion(acc, filters)
            if fmt == "xlsx":
                rows = (
                    len(summary.by_school)
                    + len(summary.by_unit)
                    + len(summary.by_grade)
                    + len(completion)
                    + sum(len(t.rows) for t in distributions)
                )
                if rows > EXPORT_ROWS:
                    raise DomainError(
                        "statistics_export_too_large",
                        _("Số liệu có %(rows)s dòng, quá %(limit)s dòng của một tệp; hãy lọc hẹp hơn."),
                        params={"rows": rows, "limit": EXPORT_ROWS},
                    )
        except DomainError as exc:
            return refusal_response(request, exc)
        if fmt == "xlsx":
            response = HttpResponse(
                statistics_workbook(summary, distributions, completion), content_type=XLSX_CONTENT_TYPE
            )
            name = f"thong-ke-{filters.year}-{timezone.localdate():%Y%m%d}.xlsx"
            response["Content-Disposition"] = content_disposition_header(True, name)
            response["Cache-Control"] = "no-store"
            return response
        self.acc, self.years, self.filters = acc, years, filters
        self.summary, self.distributions, self.completion = summary, distributions, completion
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        f, acc, summary = self.filters, self.acc, self.summary
        school_figures = not f.by_class
        ctx = {
            "filters": f,
            "year_label": year_label(f.year),
            "years": [(y, year_label(y)) for y in self.years],
            "levels": LEVEL_CHOICES,
            "grades": GRADES,
            "bys": [(k, str(v)) for k, v in stats.BY_LABELS.items()],
            "unit_choices": unit_choices(acc),
            "unit_path": acc.tree.path(f.unit_id) if acc.tree and f.unit_id else [],
            "school_name": summary.by_school[0].label if f.school_id and summary.by_school else "",
            "summary": summary,
            "school_figures": school_figures,
            "count_headers": count_headers("", school_figures=school_figures)[1:],
            "total_cells": count_cells(summary.total, school_figures=school_figures)[1:],
            "level_rows": [count_cells(c, school_figures=False) for c in summary.by_level],
            "grade_rows": [count_cells(c, school_figures=False) for c in summary.by_grade],
            "unit_rows": [
                (
                    "" if c.direct else "?" + urlencode(f.query(unit=c.unit_id, school="")),
                    count_cells(c, school_figures=school_figures),
                )
                for c in summary.by_unit
            ],
            "school_count": len(summary.by_school),
            "school_rows": [
                ("?" + urlencode(f.query(school=c.key)), c.moet_code, count_cells(c, school_figures=school_figures))
                for c in summary.by_school
            ]
            if len(summary.by_school) <= PAGE_SCHOOLS
            else [],
            "page_schools": PAGE_SCHOOLS,
            "completion_chart": completion_chart(self.completion) if self.completion else None,
            "distribution_charts": [(t, distribution_chart(t)) for t in self.distributions],
            "has_results": any(t.rows for t in self.distributions),
            "masked": f.school_id is not None,
            "can_export": acc.has(stats.EXPORT_CAPABILITY),
            "export_url": "?" + urlencode({**f.query(), "format": "xlsx"}),
        }
        return super().get_context_data(**ctx, **kwargs)


def unit_choices(acc) -> list[tuple[int, str]]:
    """The units of the scope, each indented under its parent (no query: the access profile holds the tree)."""
    units = acc.units_with(stats.CAPABILITY)
    if not acc.tree:
        return []
    out: list[tuple[int, str]] = []

    def walk(unit_id: int, depth: int) -> None:
        node = acc.tree.nodes.get(unit_id)
        if node is None:
            return
        out.append((unit_id, "\u2003" * depth + node.name))
        for child in sorted(acc.tree.children.get(unit_id, ()), key=lambda c: acc.tree.nodes[c].name):
            if child in units:
                walk(child, depth + 1)

    for unit_id in sorted(u for u in units if acc.tree.nodes.get(u) and acc.tree.nodes[u].parent_id not in units):
        walk(unit_id, 0)
    return out


def _sheet(wb: Workbook, used: set[str], title: str, subtitle: str, headers: list[str], rows: list[list]) -> None:
    ws = wb.create_sheet(sheet_title(title, used))
    ws.cell(row=1, column=1, value=title).font = TITLE_FONT
    ws.cell(row=2, column=1, value=subtitle).font = MUTED_FONT
    for col, header in enumerate(headers, start=1):
        ws.cell(row=4, column=col, value=header)
    style_header(ws, 4, 1, len(headers))
    for r, row in enumerate(rows, start=5):
        for col, value in enumerate(row, start=1):
            ws.cell(row=r, column=col, value=value).border = BORDER
    ws.freeze_panes = ws.cell(row=5, column=2)
    set_widths(ws, [34, *([12] * (len(headers) - 1))])


def statistics_workbook(
    summary: stats.Summary, distributions: list[stats.MeasureTable], completion: tuple[stats.CompletionDay, ...]
) -> bytes:
    """Every table of the page, one sheet each, with the same figures (and the same "< 5")."""
    f = summary.filters
    school_figures = not f.by_class
    subtitle = _g("Năm học %(year)s · lập lúc %(when)s") % {
        "year": year_label(f.year),
        "when": timezone.localtime().strftime("%H:%M %d/%m/%Y"),
    }
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    _sheet(
        wb,
        used,
        _g("Theo trường"),
        subtitle,
        [_g("Trường"), _g("Mã trường"), *count_headers("", school_figures=school_figures)[2:]],
        [
            [c.label, c.moet_code, *count_cells(c, school_figures=school_figures)[2:]]
            for c in (*summary.by_school, summary.total)
        ],
    )
    if summary.by_unit:
        _sheet(
            wb,
            used,
            _g("Theo đơn vị"),
            subtitle,
            count_headers(_g("Đơn vị"), school_figures=school_figures),
            [count_cells(c, school_figures=school_figures) for c in summary.by_unit],
        )
    _sheet(
        wb,
        used,
        _g("Theo cấp học"),
        subtitle,
        count_headers(_g("Cấp học"), school_figures=False),
        [count_cells(c, school_figures=False) for c in summary.by_level],
    )
    _sheet(
        wb,
        used,
        _g("Theo khối lớp"),
        subtitle,
        count_headers(_g("Khối lớp"), school_figures=False),
        [count_cells(c, school_figures=False) for c in summary.by_grade],
    )
    for table in distributions:
        headers = [str(stats.BY_LABELS[table.by]), *table.value_labels, *([] if table.masked else [_g("Tổng")])]
        rows = [
            [
                r.label,
                *(stats.SMALL_CELL_TEXT if c is None else c for c in r.counts),
                *([] if table.masked else [r.total]),
            ]
            for r in table.rows
        ]
        _sheet(wb, used, table.label, subtitle, headers, rows)
    if completion:
        headers = [_g("Ngày"), _g("Trường"), _g("Sổ điểm xong"), _g("Sổ điểm cần"), _g("Học bạ")]
        headers += [_g("Đã duyệt trở lên"), _g("Đã ký trở lên")]
        rows = [
            [
                d.day.strftime("%d/%m/%Y"),
                d.schools,
                d.sheets_done,
                d.sheets_required,
                d.records,
                d.approved_or_further,
                d.signed_or_further,
            ]
            for d in completion
        ]
        _sheet(wb, used, _g("Tiến độ theo ngày"), subtitle, headers, rows)
    return xlsx_bytes(wb)
