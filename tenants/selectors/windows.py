"""Reads of open/lock windows: which windows a person sees, which apply to a school, their order, their timeline,
the scopes a person may schedule, the exceptions in view, and the schools a window reaches.

Visibility lives here (DESIGN §4): pages and API ask these functions and never filter windows themselves. What a
person may *do* to a window is ``tenants.windows.WindowAuthority``; what saving does is ``tenants.services.windows``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from hocba.kernel.forms import LOCAL_FORMAT
from hocba.kernel.levels import grades_of
from hocba.kernel.schoolyear import current_school_year, school_year_bounds

from ..models import (
    AdministrativeUnit,
    DataCategory,
    ExceptionStatus,
    School,
    SchoolPlacement,
    Window,
    WindowException,
    WindowTier,
)
from ..windows import WindowAuthority, setter_label, setter_tiers
from . import tree as selectors
from .tree import unit_overseeing, unit_tree_on

TIER_ORDER = {WindowTier.PROVINCE: 0, WindowTier.UNIT: 1, WindowTier.SCHOOL: 2}


def today() -> dt.date:
    return timezone.localdate()


@dataclass
class Scope:
    """Where a person sees windows: units (with the units above them, whose windows apply) and schools."""

    units: set[int]
    schools: set[int]
    tree: selectors.UnitTree

    def q(self) -> Q:
        return Q(unit_id__in=self.units) | Q(school_id__in=self.schools)


def window_scope(acc, capability: str = "windows.view") -> Scope:
    day = acc.day
    tree = acc.tree or selectors.unit_tree_on(day)
    units = set(acc.units_with(capability))
    schools = set(acc.schools_with(capability))
    placements = dict(acc.placements)
    missing = [s for s in schools if s not in placements]
    if missing:  # schools held directly (a principal): where they sit today
        placements.update(
            SchoolPlacement.objects.on(day).filter(school_id__in=missing).values_list("school_id", "unit_id")
        )
    seen = set(units) | {placements[s] for s in schools if s in placements}
    above: set[int] = set()
    for unit_id in seen:
        above |= {unit_id, *tree.ancestors(unit_id)}
    return Scope(units | above, schools, tree)


def units_above(tier: str, unit: AdministrativeUnit | None, school: School | None, day: dt.date) -> set[int]:
    """The units whose windows are a higher tier than a window of this scope."""
    if tier == WindowTier.PROVINCE:
        return set()
    tree = unit_tree_on(day)
    if school is not None:
        node = unit_overseeing(school.pk, day)
        return {node.id, *tree.ancestors(node.id)} if node else set()
    return set(tree.ancestors(unit.pk))


def overlapping_categories(category: str):
    """Windows that govern the same data: the same category, or the whole year. A whole-year lock is
    compared with whole-year locks only: a category locked earlier above stays locked anyway."""
    if category == DataCategory.WHOLE_YEAR:
        return Q(category=DataCategory.WHOLE_YEAR)
    return Q(category=category) | Q(category=DataCategory.WHOLE_YEAR)


def school_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(School.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def scope_name(window: Window, tree: selectors.UnitTree, names: dict[int, str]) -> str:
    if window.school_id:
        return names.get(window.school_id, f"#{window.school_id}")
    node = tree.nodes.get(window.unit_id)
    return node.name if node else f"#{window.unit_id}"


def set_by_name(window: Window) -> str:
    return (window.set_by.full_name or window.set_by.username) if window.set_by else ""


CATEGORY_INDEX = {code: i for i, code in enumerate(DataCategory.values)}


def category_order(window: Window) -> tuple:
    return (CATEGORY_INDEX.get(window.category, 99), TIER_ORDER.get(window.tier, 9), window.opens_at, window.pk)


def windows_in_scope(acc, year: int | None, *, include_cancelled: bool = False) -> tuple[list[Window], Scope]:
    scope = window_scope(acc)
    qs = Window.objects.filter(scope.q()).select_related("set_by")
    if year is not None:
        qs = qs.filter(year_start=year)
    if not include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    return sorted(qs, key=category_order), scope


def window_in_scope(acc, pk: int) -> Window | None:
    return Window.objects.filter(window_scope(acc).q(), pk=pk).select_related("set_by").first()


def years_offered(acc, selected: int) -> list[int]:
    now = current_school_year()
    return sorted({now - 1, now, now + 1, selected}, reverse=True)


# ----------------------------------------------------------------------------------- the timeline


MONTHS = [9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7]


def timeline(windows: list[Window], year: int, labels: dict[int, str], now: dt.datetime | None = None) -> dict:
    """Bars per category across September–July, as percentages for plain HTML/CSS, and today's marker."""
    tz = timezone.get_default_timezone()
    start = dt.datetime(year, 9, 1, tzinfo=tz)
    _first, end = school_year_bounds(year)
    span = (end - start).total_seconds()

    def pct(moment: dt.datetime) -> float:
        return round(max(0.0, min(span, (moment - start).total_seconds())) * 100 / span, 2)

    months = []
    for m in MONTHS:
        first = dt.datetime(year if m >= 9 else year + 1, m, 1, tzinfo=tz)
        months.append({"label": f"T{m}", "left": f"{pct(first):.2f}", "month": m})
    rows = []
    setters = setter_tiers(w for w in windows if not w.cancelled_at)
    for code, label in DataCategory.choices:
        bars = []
        for w in sorted(
            (w for w in windows if w.category == code and not w.cancelled_at),
            key=lambda w: (TIER_ORDER.get(w.tier, 9), w.opens_at),
        ):
            left, right = pct(w.opens_at), pct(w.locks_at)
            bars.append(
                {
                    "window": w,
                    "left": f"{left:.2f}",
                    "width": f"{max(right - left, 0.6):.2f}",
                    "tier": w.tier,
                    "top": f"{len(bars) * 1.5 + 0.2:.1f}",
                    "tier_label": setter_label(setters, w),
                    "scope": labels.get(w.pk, ""),
                    "clipped_left": w.opens_at < start,
                    "clipped_right": w.locks_at > end,
                    "outside": w.locks_at <= start or w.opens_at >= end,
                    "opens": timezone.localtime(w.opens_at).strftime(LOCAL_FORMAT),
                    "locks": timezone.localtime(w.locks_at).strftime(LOCAL_FORMAT),
                    "grades": w.grades,
                }
            )
        rows.append({"category": code, "label": label, "bars": bars, "height": f"{max(1, len(bars)) * 1.5 + 0.4:.1f}"})
    now = now or timezone.now()
    marker = f"{pct(now):.2f}" if start <= now < end else None
    return {
        "year": year,
        "label": f"{year}–{year + 1}",
        "months": months,
        "rows": rows,
        "today": marker,
        "today_text": timezone.localtime(now).strftime("%d/%m/%Y"),
    }


# ------------------------------------------------------------------------------------ the preview


def tier_of(unit: AdministrativeUnit | None, school: School | None, tree: selectors.UnitTree) -> str:
    if school is not None:
        return WindowTier.SCHOOL
    node = tree.nodes.get(unit.pk) if unit else None
    return WindowTier.PROVINCE if node is not None and node.parent_id is None else WindowTier.UNIT


def all_grades(grades: list[int] | None, levels: list[str] | None) -> list[int]:
    out = set()
    for g in grades or []:
        try:
            out.add(int(g))
        except (TypeError, ValueError):
            continue
    return sorted(out | grades_of(levels))


def affected_schools(
    unit: AdministrativeUnit | None, school: School | None, grades: list[int], tree: selectors.UnitTree
) -> list[int]:
    """The schools a window of this scope reaches today: placements under the unit, by level when grades are named."""
    if school is not None:
        ids = [school.pk]
    elif unit is not None and unit.pk in tree.nodes:
        ids = list(selectors.school_placements_on(tree.day, unit_ids=tree.descendants(unit.pk)))
    else:
        return []
    if not grades or not ids:
        return ids
    wanted = set(grades)
    keep = []
    for school_id, levels in School.objects.filter(pk__in=ids).values_list("pk", "levels"):
        if grades_of(levels) & wanted:
            keep.append(school_id)
    return keep


# ------------------------------------------------------------------------------- choices of scope


def scope_choices(acc) -> list[tuple[str, str]]:
    """The units the person may schedule (tree order, indented) then the schools (school-tier locks)."""
    tree = acc.tree or selectors.unit_tree_on(acc.day)
    auth = WindowAuthority(acc)
    out: list[tuple[str, str]] = []

    def allowed(unit_id: int) -> bool:
        node = tree.nodes[unit_id]
        if node.parent_id is None:
            return unit_id in auth.province_units
        return unit_id in auth.schedule_units

    def walk(unit_id: int, depth: int) -> None:
        node = tree.nodes[unit_id]
        if allowed(unit_id):
            out.append((f"unit:{unit_id}", f"{'— ' * depth}{node.name} ({node.official_code})"))
        for child in tree.children.get(unit_id, ()):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root.id, 0)
    if auth.schedule_schools:
        for school_id, name in sorted(school_names(auth.schedule_schools).items(), key=lambda x: x[1]):
            out.append((f"school:{school_id}", _("Trường: %(name)s") % {"name": name}))
    return out


def resolve_scope(value: str) -> tuple[AdministrativeUnit | None, School | None]:
    kind, _sep, raw = (value or "").partition(":")
    try:
        pk = int(raw)
    except ValueError:
        return None, None
    if kind == "unit":
        return unit_by_id(pk), None
    if kind == "school":
        return None, School.objects.filter(pk=pk).first()
    return None, None


def exceptions_in_scope(acc, *, status: str | None = None):
    """Requests from the schools in scope, and those on windows the person decides. Never another branch's
    schools' requests, even on a province window that applies to both."""
    scope = window_scope(acc)
    qs = WindowException.objects.filter(
        Q(school_id__in=scope.schools) | Q(window__unit_id__in=acc.units_with("windows.decide"))
    ).select_related("window", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs, scope


# ------------------------------------------------------------------------------- a school's windows


def school_chain(school_id: int, day: dt.date | None = None) -> set[int]:
    """The units above a school today (its unit and their ancestors): their windows apply to it."""
    day = day or today()
    node = selectors.unit_overseeing(school_id, day)
    return {node.id, *selectors.unit_tree_on(day).ancestors(node.id)} if node else set()


def school_grades(school: School) -> set[int]:
    return grades_of(school.levels)


def windows_for_school(school: School, year: int | None, *, include_cancelled: bool = False) -> list[Window]:
    """The windows that apply to one school (its own, its units'), keeping only those for its grades."""
    chain = school_chain(school.pk)
    qs = Window.objects.filter(Q(school_id=school.pk) | Q(unit_id__in=chain)).select_related("set_by")
    if year is not None:
        qs = qs.filter(year_start=year)
    if not include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    grades = school_grades(school)
    return sorted((w for w in qs if not w.grades or not grades or set(w.grades) & grades), key=category_order)


def default_opening(school: School, category: str, year: int, grades: list[int]) -> dt.datetime:
    """Where an early lock starts when the principal leaves it blank: the latest opening among the windows
    above for the same data (so that the lock only narrows them), else the start of the school year."""
    above = units_above(WindowTier.SCHOOL, None, school, timezone.localdate())
    start, _end = school_year_bounds(year)
    if not above:
        return start
    qs = Window.objects.filter(
        overlapping_categories(category), year_start=year, cancelled_at__isnull=True, unit_id__in=above
    )
    opens = [w.opens_at for w in qs if not (w.grades and grades and not set(w.grades) & set(grades))]
    return max([start, *opens])


def pending_exceptions(window_ids: list[int]) -> dict[int, int]:
    """{window id: requests waiting for a decision}."""
    return dict(
        WindowException.objects.filter(window__in=window_ids, status=ExceptionStatus.REQUESTED)
        .values("window_id")
        .annotate(n=Count("id"))
        .values_list("window_id", "n")
    )


def unit_by_id(unit_id: int) -> AdministrativeUnit | None:
    return AdministrativeUnit.objects.filter(pk=unit_id).first()


def school_by_id(school_id: int) -> School | None:
    return School.objects.filter(pk=school_id).exclude(schema_name="public").first()


def window_with_setter(pk: int) -> Window | None:
    return Window.objects.select_related("set_by").filter(pk=pk).first()


def window_not_cancelled(pk: int) -> Window | None:
    return Window.objects.filter(pk=pk, cancelled_at__isnull=True).first()


def exceptions_of_school(school_id: int):
    """A school's own requests (what its site shows), with their windows and people."""
    return WindowException.objects.filter(school_id=school_id).select_related("window", "requested_by", "decided_by")


def exception_with_people(pk: int) -> WindowException | None:
    return WindowException.objects.select_related("window", "requested_by", "decided_by").filter(pk=pk).first()


def school_lock(school_id: int, pk: int) -> Window | None:
    """One of the school's own (school-tier) windows."""
    return Window.objects.filter(pk=pk, school_id=school_id, tier=WindowTier.SCHOOL).first()
