"""Who is on the roll on a day: the one rule behind the class lists and sheets (who has left), the class sizes and
the school's ``students`` figure (``schools.rollups``).

An enrolment keeps its student on the class from ``starts_on`` up to the day before ``ends_on``: the end day is the
first day they are gone (a transfer out dated the 15th: on the class until the 14th, gone on the 15th; a class move
on the 15th: in the new class from the 15th, never in both). A change dated ahead changes nothing until its day
comes; the daily pass (``tenants.tasks.rollups_students_day``) then brings the figure to the new day.

"Today" is the school's calendar day (``TIME_ZONE``), read in one place (``school_today``) so that every count of
one request or job agrees, and so that tests can move it."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone


def school_today() -> dt.date:
    return timezone.localdate()


def on_roll(day: dt.date, prefix: str = "") -> Q:
    """The enrolments (``prefix``: the path to them, e.g. ``"enrolments__"``) that keep a student on a class on
    ``day``."""
    return Q(**{f"{prefix}starts_on__lte": day}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gt": day})
    )


def is_on_roll(starts_on: dt.date, ends_on: dt.date | None, day: dt.date) -> bool:
    """``on_roll`` for an enrolment in hand."""
    return starts_on <= day and (ends_on is None or ends_on > day)


def has_left(ends_on: dt.date | None, day: dt.date) -> bool:
    """Whether the student of an enrolment that ends on ``ends_on`` has left by ``day`` (the end day is gone)."""
    return ends_on is not None and ends_on <= day


# ``has_left`` in SQL, for the hand-written queries: ``LEFT_SQL.format(e="e")`` with the day as a parameter.
LEFT_SQL = "coalesce({e}.ends_on <= %s, false)"


def roll_change(
    before: tuple[dt.date, dt.date | None] | None, after: tuple[dt.date, dt.date | None] | None, day: dt.date
) -> int:
    """What a change of one enrolment's (starts_on, ends_on) — None: no enrolment — does to the count on ``day``:
    +1, 0 or -1. A change that takes effect later does nothing today."""
    return int(after is not None and is_on_roll(*after, day)) - int(before is not None and is_on_roll(*before, day))


def rolls_changed_between(after: dt.date | None, until: dt.date) -> Q:
    """The enrolments that start or end in (``after``, ``until``] (``after`` None: any day up to ``until``): those
    that make the count on ``until`` differ from the count on ``after``."""
    starts = Q(starts_on__lte=until) if after is None else Q(starts_on__gt=after, starts_on__lte=until)
    ends = Q(ends_on__lte=until) if after is None else Q(ends_on__gt=after, ends_on__lte=until)
    return starts | ends
