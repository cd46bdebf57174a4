"""The rollups' reconciliation as the platform and the boards show it: when each school's figures were last checked
against its own tables, and the drift that check found and fixed (``RollupDrift``). Public rows only, never a look
into a school; a constant number of queries whatever the number of schools."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Q, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from hocba.kernel.recordstates import RecordState

from ..models import RollupDrift, SchoolRollup

RECENT_DRIFT = 10  # drift rows shown per school

FIELD_LABELS = {
    "students": _("Học sinh"),
    "entries": _("Ô điểm đã nhập"),
    "entries_term1": _("Ô điểm học kỳ I"),
    "entries_term2": _("Ô điểm học kỳ II"),
    "conduct_entries": _("Đánh giá rèn luyện"),
    "absences": _("Buổi nghỉ học"),
}


@dataclass(frozen=True)
class Drift:
    school_id: int
    year_start: int
    table: str
    field: str
    old: int
    new: int
    found_at: dt.datetime
    run: str

    @property
    def label(self) -> str:
        if self.field.startswith("records_") and self.field[8:] in RecordState.values:
            return gettext("Học bạ: %(state)s") % {"state": RecordState(self.field[8:]).label}
        return str(FIELD_LABELS.get(self.field, self.field))

    @property
    def year_label(self) -> str:
        return f"{self.year_start}–{self.year_start + 1}"


@dataclass(frozen=True)
class Reconciliation:
    """A school's last reconciliation (``None`` before the first) and the figures it fixed (``fixed``); ``drift`` is
    the most recent drift recorded for the school, newest first (up to ``RECENT_DRIFT``, whichever pass found it)."""

    school_id: int
    reconciled_at: dt.datetime | None
    fixed: int
    drift: tuple[Drift, ...]


def reconciliations(*, school_ids: list[int] | set[int], recent: int = RECENT_DRIFT) -> dict[int, Reconciliation]:
    """Per school of ``school_ids`` (the caller's scope: ``visible_school_ids`` or a board's schools): three queries."""
    school_ids = list(school_ids)
    last = dict(
        SchoolRollup.objects.filter(school_id__in=school_ids)
        .values_list("school_id")
        .annotate(at=Max("reconciled_at"))
        .values_list("school_id", "at")
    )
    recent_rows = (
        RollupDrift.objects.filter(school_id__in=school_ids)
        .annotate(n=Window(RowNumber(), partition_by="school_id", order_by=["-found_at", "-id"]))
        .filter(n__lte=recent)
        .order_by("school_id", "-found_at", "-id")
        .values_list("school_id", "year_start", "table", "field", "old", "new", "found_at", "run")
    )
    drift: dict[int, list[Drift]] = {}
    for row in recent_rows:
        drift.setdefault(row[0], []).append(Drift(*row))
    # The drift of each school's last pass: its rows carry the pass's time, which its rollup rows were stamped with.
    last_pass = Q()
    for school_id, at in last.items():
        if at is not None:
            last_pass |= Q(school_id=school_id, found_at=at)
    fixed = (
        dict(
            RollupDrift.objects.filter(last_pass)
            .values_list("school_id")
            .annotate(n=Count("id"))
            .values_list("school_id", "n")
        )
        if last_pass
        else {}
    )
    return {
        school_id: Reconciliation(
            school_id=school_id,
            reconciled_at=last.get(school_id),
            fixed=fixed.get(school_id, 0),
            drift=tuple(drift.get(school_id, ())),
        )
        for school_id in school_ids
    }


def reconciliation(*, school_id: int, recent: int = RECENT_DRIFT) -> Reconciliation:
    return reconciliations(school_ids=[school_id], recent=recent)[school_id]
