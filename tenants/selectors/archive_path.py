"""Where a school's signed books go in the archive store (issue 10, conflict 8): the province and the unit that
oversaw the school on the archive date — units are effective-dated and schools move and merge, so the tiers are read
as of that day, written into the key and the manifest, and never changed afterwards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models import School, UnitKind
from .tree import unit_overseeing, unit_tree_on


@dataclass(frozen=True)
class ArchiveTiers:
    """The official codes: the province, the overseeing unit ("" when the province oversees the school itself,
    as for upper-secondary schools since July 2025) and the school's MoET code."""

    province_code: str
    unit_code: str
    school_code: str


def archive_tiers(*, school_id: int, day: dt.date) -> ArchiveTiers:
    """The school's tiers on ``day``. A school with no placement that day is refused (``ValueError``): a key is never
    guessed."""
    school_code = School.objects.values_list("moet_code", flat=True).get(pk=school_id)
    unit = unit_overseeing(school_id, day)
    if unit is None:
        raise ValueError(f"school {school_id} has no overseeing unit on {day:%d/%m/%Y}")
    path = unit_tree_on(day).path(unit.id)
    province = next((n for n in path if n.kind == UnitKind.PROVINCE), path[0] if path else unit)
    unit_code = "" if unit.id == province.id else unit.official_code
    return ArchiveTiers(province.official_code, unit_code, school_code)
