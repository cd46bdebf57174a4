"""The principal's summary of the school (``/summary/``): the school's own figures as the province and its unit see
them on their boards — its rollup row for a school year, each class, the figures copied at each lock, the year-end
start at a whole-year lock, completion over time and the last reconciliation with the drift it fixed.

Public rows of this school only, read through ``tenants.selectors`` (never the school's own tables: the page shows
what the boards show); a constant number of queries whatever the number of classes, locks or days."""

from __future__ import annotations

from django.utils.translation import gettext as _
from hocba.kernel import charts
from hocba.kernel.schoolyear import current_school_year

from tenants.selectors.boards import board_year, board_years
from tenants.selectors.rollups import reconciliation
from tenants.selectors.school_summary import DayFigures, school_summary

from .common import SchoolTemplatePage

CAPABILITY = "summary.view"


def year_label(year: int) -> str:
    return f"{year}–{year + 1}"


def completion_chart(days: tuple[DayFigures, ...]) -> charts.Chart:
    """Completion over time, oldest day first: sheets finished and record books approved or further, in per cent."""
    return charts.line_chart(
        [
            charts.Series(_("Sổ điểm đã nhập đủ"), tuple(d.sheets.total_pct for d in days)),
            charts.Series(_("Học bạ đã duyệt trở lên"), tuple(d.records.final_pct for d in days)),
        ],
        labels=[d.day.strftime("%d/%m/%Y") for d in days],
        title=_("Tiến độ theo ngày"),
        label_header=_("Ngày"),
        unit="%",
        y_max=100,
        chart_id="summary-completion",
        note=_("Số liệu chụp mỗi ngày một lần, lần đối soát đầu tiên trong ngày."),
    )


class SchoolSummaryView(SchoolTemplatePage):
    """The school's figures for a school year (``?year=``: one with figures on record, else the current one)."""

    required_capability = CAPABILITY
    template_name = "schools/school_summary.html"

    def get_context_data(self, **kwargs):
        school_id = self.request.tenant.pk
        years, default = board_years({school_id}, current=current_school_year())
        year = board_year(self.request.GET.get("year"), years=years, default=default)
        summary = school_summary(school_id=school_id, year=year)
        checked = reconciliation(school_id=school_id)
        return super().get_context_data(
            school=self.request.tenant,
            summary=summary,
            figures=summary.figures,
            year_label=year_label(year),
            years=[(y, year_label(y)) for y in years],
            reconciliation=checked,
            drift=[d for d in checked.drift if d.year_start == year],
            completion=completion_chart(summary.days) if summary.days else None,
            **kwargs,
        )
