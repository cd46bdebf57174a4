"""Result distributions for a scope (``models.ResultDistribution``): how many approved record books of the year hold
each value of a measure, grouped by grade, gender and/or ethnic group, for a set of units or of schools. One query
whatever the number of schools.

Statistics' display rule: below unit level (the scope is one school) a cell under 5 is not shown as its number but
as "< 5" (``SMALL_CELL``), so that a handful of pupils cannot be recognised from their results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Sum
from django.utils.translation import gettext
from hocba.kernel import ethnicity

from ..models import ResultDistribution, SchoolPlacement
from .tree import today

GROUPINGS = ("grade", "gender", "ethnicity")
SMALL_CELL = 5  # below unit level, a cell under this is shown as "< 5"
SMALL_CELL_TEXT = "< 5"


@dataclass(frozen=True)
class DistributionCell:
    grade: int | None  # None: not grouped by it
    gender: str | None
    ethnicity: str | None  # the group's code ("00": other/unknown)
    value: str
    count: int | None  # None: hidden by the "< 5" rule
    shown: str  # what a board prints: the number, or "< 5"

    @property
    def ethnicity_name(self) -> str:
        """The group's official name (a proper noun, the same in every language); the other/unknown bucket's name in
        the active language."""
        if self.ethnicity is None:
            return ""
        return (
            gettext("Khác / chưa xác định")
            if self.ethnicity not in ethnicity.BY_CODE
            else ethnicity.name_of(self.ethnicity)
        )


@dataclass(frozen=True)
class Distribution:
    year_start: int
    measure: str
    by: tuple[str, ...]
    masked: bool  # the "< 5" rule applied (the scope is a single school)
    cells: tuple[DistributionCell, ...]


def result_distribution(
    *,
    year_start: int,
    measure: str,
    by: Iterable[str] = (),
    unit_ids: Iterable[int] | None = None,
    school_ids: Iterable[int] | None = None,
    day: dt.date | None = None,
) -> Distribution:
    """The distribution of ``measure`` in ``year_start`` over the schools placed (on ``day``, today by default) under
    one of ``unit_ids`` — the caller passes the units it covers, descendants included — and/or the ``school_ids``,
    grouped by ``by`` (a subset of ``GROUPINGS``). A scope of one school alone applies the "< 5" rule. One query;
    the caller has checked that the person may see the scope."""
    requested = set(by)
    if requested - set(GROUPINGS):
        raise ValueError(f"unknown groupings {sorted(requested - set(GROUPINGS))}")
    by = tuple(g for g in GROUPINGS if g in requested)
    unit_ids = sorted(set(unit_ids or ()))
    school_ids = sorted(set(school_ids or ()))
    masked = not unit_ids and len(school_ids) == 1
    if not unit_ids and not school_ids:
        return Distribution(year_start, measure, by, masked, ())
    rows = ResultDistribution.objects.filter(year_start=year_start, measure=measure)
    placed = SchoolPlacement.objects.on(day or today()).filter(unit_id__in=unit_ids).values("school_id")
    if unit_ids and school_ids:
        rows = rows.filter(school_id__in=placed) | rows.filter(school_id__in=school_ids)
    elif unit_ids:
        rows = rows.filter(school_id__in=placed)
    else:
        rows = rows.filter(school_id__in=school_ids)
    found = rows.values(*by, "value").annotate(n=Sum("count")).filter(n__gt=0).order_by(*by, "value")
    cells = []
    for row in found:
        hidden = masked and row["n"] < SMALL_CELL
        cells.append(
            DistributionCell(
                grade=row.get("grade"),
                gender=row.get("gender"),
                ethnicity=row.get("ethnicity"),
                value=row["value"],
                count=None if hidden else row["n"],
                shown=SMALL_CELL_TEXT if hidden else str(row["n"]),
            )
        )
    return Distribution(year_start, measure, by, masked, tuple(cells))
