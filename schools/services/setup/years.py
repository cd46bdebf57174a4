"""A school's years: opening one (with the GDPT 2018 curriculum of its levels) and changing its dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import ordered_levels

from ...access import SchoolAccess
from ...curriculum import CURRICULUM, DEPARTMENTS
from ...models import Department, SchoolYear, Subject
from ...selectors import school_levels
from ..common import require, school_write
from .common import _int

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _check_dates(
    start_year: int, starts_on: dt.date | None, term2_starts_on: dt.date | None, ends_on: dt.date | None
) -> None:
    for field, value in (("starts_on", starts_on), ("term2_starts_on", term2_starts_on), ("ends_on", ends_on)):
        if not isinstance(value, dt.date):
            raise DomainError("years.missing_date", _("Cần có ngày (dd/mm/yyyy)."), field=field)
    assert starts_on and term2_starts_on and ends_on
    if starts_on.year != start_year:
        raise DomainError(
            "years.bad_start",
            _("Ngày bắt đầu năm học phải trong năm %(year)s."),
            params={"year": start_year},
            field="starts_on",
        )
    if ends_on.year != start_year + 1:
        raise DomainError(
            "years.bad_end",
            _("Ngày kết thúc năm học phải trong năm %(year)s."),
            params={"year": start_year + 1},
            field="ends_on",
        )
    if not starts_on < term2_starts_on:
        raise DomainError(
            "years.dates_order", _("Ngày bắt đầu học kì II phải sau ngày bắt đầu năm học."), field="term2_starts_on"
        )
    if not term2_starts_on < ends_on:
        raise DomainError(
            "years.dates_order", _("Ngày kết thúc năm học phải sau ngày bắt đầu học kì II."), field="ends_on"
        )


def default_dates(start_year: int) -> tuple[dt.date, dt.date, dt.date]:
    """5/9, 12/1 and 31/5: what a year opens with unless the school says otherwise."""
    return dt.date(start_year, 9, 5), dt.date(start_year + 1, 1, 12), dt.date(start_year + 1, 5, 31)


def _curriculum_ensure(levels: Iterable[str]) -> None:
    """The GDPT 2018 subjects of the levels and their departments, where the school does not have them yet."""
    departments = {d.code: d for d in Department.objects.all()}
    for code, name in DEPARTMENTS.items():
        if code not in departments:
            departments[code] = Department.objects.create(code=code, name=name)
    existing = set(Subject.objects.values_list("level", "code"))
    new = []
    for level in levels:
        for order, (code, name, grades, periods, grading, dept, tested) in enumerate(CURRICULUM[level]):
            if (level, code) not in existing:
                new.append(
                    Subject(
                        level=level,
                        code=code,
                        name=name,
                        grades=list(grades),
                        periods_per_year=periods,
                        grading=grading,
                        department=departments[dept],
                        has_periodic_test=tested,
                        order=order,
                    )
                )
    Subject.objects.bulk_create(new)


@school_write
def school_year_open(*, access: SchoolAccess, start_year: int, levels: list[str]) -> SchoolYear:
    """Open a school year (5/9 to 31/5 by default) and make sure the curriculum of the levels exists.
    Idempotent: an existing year is returned as it is (the demo and the tests rely on it)."""
    require(access.can("school.setup"))
    starts_on, term2_starts_on, ends_on = default_dates(start_year)
    year, _created = SchoolYear.objects.get_or_create(
        start_year=start_year,
        defaults={"starts_on": starts_on, "term2_starts_on": term2_starts_on, "ends_on": ends_on},
    )
    _curriculum_ensure(levels)
    return year


@school_write
def school_year_create(
    *,
    access: SchoolAccess,
    start_year: Any,
    levels: Sequence[str],
    starts_on: dt.date | None = None,
    term2_starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> SchoolYear:
    """Open a new year from the setup pages or the API: refused if it exists; dates default to ``default_dates``."""
    require(access.can("school.setup"))
    start_year = _int(
        start_year, "years.bad_start_year", _("Năm bắt đầu phải là một số từ 2000 đến 2100."), "start_year"
    )
    if not FIRST_YEAR <= start_year <= LAST_YEAR:
        raise DomainError("years.bad_start_year", _("Năm bắt đầu phải là một số từ 2000 đến 2100."), field="start_year")
    allowed = school_levels(access)
    chosen = set(levels or ())
    if not chosen or chosen - set(allowed):
        raise DomainError("years.bad_levels", _("Hãy chọn cấp học trong các cấp học của trường."), field="levels")
    levels = ordered_levels(chosen)
    defaults = default_dates(start_year)
    starts_on, term2_starts_on, ends_on = (
        starts_on or defaults[0],
        term2_starts_on or defaults[1],
        ends_on or defaults[2],
    )
    _check_dates(start_year, starts_on, term2_starts_on, ends_on)
    if SchoolYear.objects.filter(start_year=start_year).exists():
        raise DomainError(
            "years.exists",
            _("Năm học %(year)s đã được mở."),
            params={"year": f"{start_year}–{start_year + 1}"},
            field="start_year",
        )
    year = SchoolYear.objects.create(
        start_year=start_year, starts_on=starts_on, term2_starts_on=term2_starts_on, ends_on=ends_on
    )
    _curriculum_ensure(levels)
    return year


@school_write
def school_year_update(
    *,
    access: SchoolAccess,
    year: SchoolYear,
    starts_on: dt.date | None,
    term2_starts_on: dt.date | None,
    ends_on: dt.date | None,
) -> SchoolYear:
    require(access.can("school.setup"))
    _check_dates(year.start_year, starts_on, term2_starts_on, ends_on)
    year.starts_on, year.term2_starts_on, year.ends_on = starts_on, term2_starts_on, ends_on
    year.save(update_fields=["starts_on", "term2_starts_on", "ends_on"])
    return year
