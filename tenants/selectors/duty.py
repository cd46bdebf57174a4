"""The monthly-duty figure for the boards: per school and month, from the public ``MonthlyDutyCheck`` rows written by
the beat job (``tenants.duty``); never a look into a school."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models import MonthlyDutyCheck


@dataclass(frozen=True)
class DutyRow:
    school_id: int
    school_name: str
    month: dt.date
    checked_at: dt.datetime
    classes: int
    classes_without_update: int
    teachers_notified: int
    without_update: list


def latest_checked_month(school_ids: set[int]) -> dt.date | None:
    """The latest month checked in any of these schools."""
    return (
        MonthlyDutyCheck.objects.filter(school_id__in=school_ids).order_by("-month").values_list("month", flat=True)
    ).first()


def monthly_duty_board(*, school_ids: set[int], month: dt.date) -> list[DutyRow]:
    """The month's figure of each of these schools that was checked, by school name: one query."""
    rows = (
        MonthlyDutyCheck.objects.filter(school_id__in=school_ids, month=month)
        .select_related("school")
        .order_by("school__name", "school_id")
    )
    return [
        DutyRow(
            school_id=r.school_id,
            school_name=r.school.name,
            month=r.month,
            checked_at=r.checked_at,
            classes=r.classes,
            classes_without_update=r.classes_without_update,
            teachers_notified=r.teachers_notified,
            without_update=r.without_update,
        )
        for r in rows
    ]
