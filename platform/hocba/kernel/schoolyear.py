"""The school year's calendar. A school year runs from 1 August to 31 July (local time) and is named by
the calendar year it starts in: 2025 is the school year 2025–2026."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

FIRST_MONTH = 8  # August


def school_year_of(day: dt.date) -> int:
    """The school year (its first calendar year) a day belongs to."""
    return day.year if day.month >= FIRST_MONTH else day.year - 1


def current_school_year() -> int:
    """The school year of today's local date."""
    return school_year_of(timezone.localdate())


def first_day(year_start: int) -> dt.date:
    """The first day of a school year."""
    return dt.date(year_start, FIRST_MONTH, 1)


def school_year_bounds(year_start: int) -> tuple[dt.datetime, dt.datetime]:
    """The school year as local moments: from its first day at 00:00 to the next year's first day at 00:00
    (excluded)."""
    tz = timezone.get_default_timezone()
    return (dt.datetime(year_start, FIRST_MONTH, 1, tzinfo=tz), dt.datetime(year_start + 1, FIRST_MONTH, 1, tzinfo=tz))


def year_param(value, default: int | None = None) -> int:
    """A school year from a query parameter; the default (else the current year) when it is not one."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default or current_school_year()
    return year if 2000 <= year <= 2100 else (default or current_school_year())
