"""School days: which dates a class can be marked absent on, and the day the attendance page opens on.

The week: schools study Monday to Saturday or Monday to Friday (both are common in Vietnam, and nothing in the
school's settings says which); Sunday is never a school day. So attendance is taken on any day of the school year
but a Sunday. Plain functions of dates: no Django, no clock (``today`` is passed in); kept beside, not in, the
assessment rules, which import no date module at all.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

SUNDAY = 6  # date.weekday()
DAYS_OFF = frozenset({SUNDAY})


def is_day_off(day: dt.date) -> bool:
    return day.weekday() in DAYS_OFF


def is_school_day(day: dt.date, *, starts_on: dt.date, ends_on: dt.date) -> bool:
    return starts_on <= day <= ends_on and not is_day_off(day)


def first_school_day(*, starts_on: dt.date, ends_on: dt.date) -> dt.date:
    day = starts_on
    while is_day_off(day) and day < ends_on:
        day += dt.timedelta(days=1)
    return day


def last_school_day(*, starts_on: dt.date, ends_on: dt.date, today: dt.date) -> dt.date:
    """The latest school day of the year not after today: today itself on a school day, Saturday on a Sunday; the
    year's first school day before the year starts, its last one after it ends."""
    if today < starts_on:
        return first_school_day(starts_on=starts_on, ends_on=ends_on)
    day = min(today, ends_on)
    while is_day_off(day) and day > starts_on:
        day -= dt.timedelta(days=1)
    if is_day_off(day):
        return first_school_day(starts_on=starts_on, ends_on=ends_on)
    return day


def previous_school_day(day: dt.date, *, starts_on: dt.date, ends_on: dt.date) -> dt.date | None:
    day -= dt.timedelta(days=1)
    while day >= starts_on and is_day_off(day):
        day -= dt.timedelta(days=1)
    return day if starts_on <= day <= ends_on else None


def next_school_day(day: dt.date, *, starts_on: dt.date, ends_on: dt.date) -> dt.date | None:
    day += dt.timedelta(days=1)
    while day <= ends_on and is_day_off(day):
        day += dt.timedelta(days=1)
    return day if starts_on <= day <= ends_on else None


@dataclass(frozen=True)
class MonthDay:
    date: dt.date
    school_day: bool  # in the school year and not a day off
    day_off: bool  # a Sunday
    future: bool  # after today


def month_days(month: dt.date, *, starts_on: dt.date, ends_on: dt.date, today: dt.date) -> list[MonthDay]:
    """Every day of ``month``'s month, each said to be a school day or not."""
    first = month.replace(day=1)
    count = calendar.monthrange(first.year, first.month)[1]
    days = (first + dt.timedelta(days=i) for i in range(count))
    return [MonthDay(d, is_school_day(d, starts_on=starts_on, ends_on=ends_on), is_day_off(d), d > today) for d in days]


def shift_month(month: dt.date, step: int) -> dt.date:
    """The first day of the month ``step`` months after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + step
    return dt.date(index // 12, index % 12 + 1, 1)
