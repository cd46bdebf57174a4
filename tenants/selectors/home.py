"""The platform home of province and unit staff: what waits for them (unlock requests to decide, windows opening or
locking within a week, schools whose schema is behind or failed to update, last month's monthly-duty gaps), then a
short overview of their scope (their units, the number of schools, students and records by state from the public
rollups).

Public tables only, never a school's schema (DESIGN §3). Each function runs a constant number of queries whatever
the number of schools, and reads only within the person's scope: the units and schools their roles reach today
(``Access.units_with`` / ``schools_with``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, F, Q, Sum, When
from hocba.kernel.recordstates import RecordState

from ..models import DataCategory, ExceptionStatus, MonthlyDutyCheck, School, SchoolRollup, Window, WindowException
from ..models.schools import SchoolStatus
from ..windows import setter_label, setter_tiers
from .access import Access
from .windows import window_scope

SHOWN = 10  # items of a list shown on the home; the rest are counted
SOON = dt.timedelta(days=7)


@dataclass(frozen=True)
class Listing:
    """The first items of a list and how many there are in all."""

    items: tuple
    count: int

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.items))


EMPTY = Listing((), 0)


# --------------------------------------------------------------------------------- unlock requests


@dataclass(frozen=True)
class PendingRequest:
    id: int
    school_id: int
    school_name: str
    category_label: str
    classes: int
    students: int
    until: dt.datetime
    requested_at: dt.datetime


def requests_awaiting(acc: Access) -> Listing:
    """Unlock requests waiting for this person's decision: on a province or unit window of a unit where they hold
    ``windows.decide`` (the tier that set the lock decides, ``WindowAuthority.may_decide``), oldest first. None
    without that capability (no query); else two queries."""
    units = acc.units_with("windows.decide")
    if not units:
        return EMPTY
    qs = WindowException.objects.filter(status=ExceptionStatus.REQUESTED, window__unit_id__in=units)
    count = qs.count()
    if not count:
        return EMPTY
    rows = qs.order_by("requested_at", "pk").values_list(
        "pk", "school_id", "school__name", "window__category", "class_ids", "student_ids", "until", "requested_at"
    )[:SHOWN]
    items = tuple(
        PendingRequest(pk, school_id, name, str(DataCategory(category).label), len(classes), len(students), until, at)
        for pk, school_id, name, category, classes, students, until, at in rows
    )
    return Listing(items, count)


# ----------------------------------------------------------------------------- windows of the week


@dataclass(frozen=True)
class WindowSoon:
    id: int
    category_label: str
    scope: str
    tier_label: str
    grades: tuple[int, ...]
    opens_at: dt.datetime
    locks_at: dt.datetime
    opens_soon: bool  # it opens within the week (else: it is open and locks within the week)
    locks_soon: bool
    days: int  # whole days until the first of these moments


def windows_soon(acc: Access, *, now: dt.datetime) -> Listing:
    """The windows the person sees (their units', the units' above, their schools' own) that open or lock within the
    next seven days, the soonest first. Not cancelled. None without ``windows.view`` (no query); else three
    queries at most (the windows, their count, their setters' level)."""
    if not acc.has("windows.view"):
        return EMPTY
    scope = window_scope(acc)
    end = now + SOON
    opening = Q(opens_at__gt=now, opens_at__lte=end)
    locking = Q(locks_at__gt=now, locks_at__lte=end)
    qs = Window.objects.filter(scope.q(), opening | locking, cancelled_at__isnull=True)
    soon = qs.annotate(at=Case(When(opening, then=F("opens_at")), default=F("locks_at"))).order_by("at", "pk")
    rows = list(soon.select_related("school")[:SHOWN])
    if not rows:
        return EMPTY
    count = len(rows) if len(rows) < SHOWN else qs.count()
    setters = setter_tiers(rows)
    items = []
    for w in rows:
        if w.school_id:
            name = w.school.name
        else:
            node = scope.tree.nodes.get(w.unit_id)
            name = node.name if node else ""
        opens_soon, locks_soon = now < w.opens_at <= end, now < w.locks_at <= end
        first = w.opens_at if opens_soon else w.locks_at
        items.append(
            WindowSoon(
                w.pk,
                str(DataCategory(w.category).label),
                name,
                setter_label(setters, w),
                tuple(w.grades),
                w.opens_at,
                w.locks_at,
                opens_soon,
                locks_soon,
                max(0, (first - now).days),
            )
        )
    return Listing(tuple(items), count)


# ------------------------------------------------------------------------------------ school schemas


@dataclass(frozen=True)
class SchemaTrouble:
    school_id: int
    school_name: str
    error: str  # empty: behind the current version, not failed
    checked_at: dt.datetime | None


def schools_behind(school_ids: set[int], *, head: str) -> Listing:
    """The active schools among ``school_ids`` whose schema failed to update (``School.schema_error``) or is not at
    ``head`` (the current migration head's digest): the failed first. Two queries at most."""
    if not school_ids:
        return EMPTY
    qs = School.objects.filter(pk__in=school_ids, status=SchoolStatus.ACTIVE).filter(
        ~Q(schema_error="") | ~Q(schema_head=head)
    )
    rows = list(
        qs.annotate(failed=Case(When(~Q(schema_error=""), then=0), default=1))
        .order_by("failed", "name", "pk")
        .values_list("pk", "name", "schema_error", "schema_checked_at")[:SHOWN]
    )
    if not rows:
        return EMPTY
    count = len(rows) if len(rows) < SHOWN else qs.count()
    return Listing(tuple(SchemaTrouble(*row) for row in rows), count)


# ------------------------------------------------------------------------------------- monthly duty


@dataclass(frozen=True)
class DutyGap:
    school_id: int
    school_name: str
    classes_without_update: int
    classes: int


@dataclass(frozen=True)
class DutyGaps:
    month: dt.date
    checked: int  # schools of the scope checked for the month
    schools: Listing  # those with classes without an update, the most first
    classes_without_update: int


def duty_gaps(school_ids: set[int], *, month: dt.date) -> DutyGaps:
    """The month's monthly-duty check (``tenants.duty``) over ``school_ids``: how many were checked, the classes
    without an attendance or conduct update, the schools that have some. Two queries at most."""
    if not school_ids:
        return DutyGaps(month, 0, EMPTY, 0)
    qs = MonthlyDutyCheck.objects.filter(school_id__in=school_ids, month=month)
    totals = qs.aggregate(
        checked=Count("id"),
        schools=Count("id", filter=Q(classes_without_update__gt=0)),
        classes=Sum("classes_without_update"),
    )
    if not totals["schools"]:
        return DutyGaps(month, totals["checked"], EMPTY, 0)
    rows = (
        qs.filter(classes_without_update__gt=0)
        .order_by("-classes_without_update", "school__name", "school_id")
        .values_list("school_id", "school__name", "classes_without_update", "classes")[:SHOWN]
    )
    return DutyGaps(
        month,
        totals["checked"],
        Listing(tuple(DutyGap(*row) for row in rows), totals["schools"]),
        totals["classes"] or 0,
    )


# ----------------------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class StateFigure:
    state: str
    label: str
    count: int
    percent: int


@dataclass(frozen=True)
class Figures:
    """The rollups of a school year summed over the schools of the scope."""

    year_start: int
    schools: int  # schools with a rollup row that year
    students: int
    records: int
    states: tuple[StateFigure, ...]

    @property
    def label(self) -> str:
        return f"{self.year_start}–{self.year_start + 1}"


def rollup_figures(school_ids: set[int], *, year: int) -> Figures | None:
    """The latest school year up to ``year`` with rollups in the scope, summed: students and records by state. One
    aggregate query, never a row per school."""
    if not school_ids:
        return None
    states = list(RecordState)
    sums = {state.value: Sum(f"records_{state.value}") for state in states}
    row = (
        SchoolRollup.objects.filter(school_id__in=school_ids, year_start__lte=year)
        .values("year_start")
        .annotate(n_schools=Count("id"), n_students=Sum("students"), **sums)
        .order_by("-year_start")
        .first()
    )
    if row is None:
        return None
    records = sum(row[s.value] or 0 for s in states)
    figures = tuple(
        StateFigure(
            s.value, str(s.label), row[s.value] or 0, round(100 * (row[s.value] or 0) / records) if records else 0
        )
        for s in states
    )
    return Figures(row["year_start"], row["n_schools"], row["n_students"] or 0, records, figures)


@dataclass(frozen=True)
class UnitSummary:
    id: int
    name: str
    kind_label: str
    role_label: str
    units_below: int
    schools: int


def units_summary(acc: Access) -> list[UnitSummary]:
    """The units the person holds a role in, with the units and schools below each today. No query (the access
    profile holds the tree and the placements)."""
    tree = acc.tree
    if tree is None:
        return []
    out = []
    for g in acc.grants:
        node = tree.nodes.get(g.unit_id) if g.unit_id else None
        if node is None:
            continue
        below = tree.descendants(node.id)
        schools = sum(1 for unit in acc.placements.values() if unit in below)
        out.append(UnitSummary(node.id, node.name, node.kind_label, g.role.label, len(below) - 1, schools))
    return out
