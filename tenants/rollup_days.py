"""The ``students`` figures move with the days: a student counts on the days their enrolment keeps them on a class's
roll (``schools.onroll``), so a transfer out, an enrolment or a year's carry-over dated ahead changes the figure only
when its day comes — and nothing writes then.

Every reconciliation of a school last reconciled on an earlier day (``reconcile_on_day``: the 30-minute pass and
the daily one) first adds, in its transaction, what the days since changed (``schools.rollup_days``, a delta under
the school's locks), then recomputes and overwrites (``rollup_outbox.reconcile_school``): the day's expected moves
are not taken for drift, and the figures are exact whatever happened (a write dated today made after midnight and
before the first reconciliation is counted twice by the delta: the reconciliation puts it right, as drift).

The daily pass (beat ``rollups-students-day``, just after midnight) reconciles only the schools whose enrolments
start or end between their last reconciliation (``reconciled_at`` of their public rows) and today. A school
reconciled today already holds today's figures and is left alone, so a second run the same day changes nothing;
a day the pass missed is caught up by the next one (all the days since are looked at, not only the last).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone

from . import perschool
from .models import SchoolRollup
from .rollup_outbox import reconcile_school

log = logging.getLogger(__name__)

RUN = "students-day"  # names the daily pass in the drift its reconciliations record


def reconciled_days(school_ids: list[int]) -> dict[int, dt.date]:
    """The day (local) each school's rollup rows were last reconciled; a school never reconciled is absent. One
    query."""
    rows = (
        SchoolRollup.objects.filter(school_id__in=school_ids, reconciled_at__isnull=False)
        .values("school_id")
        .annotate(last=Max("reconciled_at"))
        .values_list("school_id", "last")
    )
    return {school_id: timezone.localtime(last).date() for school_id, last in rows}


def reconcile_on_day(school_id: int, schema_name: str, *, after: dt.date | None, run: str = "") -> int:
    """``reconcile_school``, the ``students`` figures first brought from ``after`` (the day of the school's last
    reconciliation; None: never) to today, in the same transaction."""
    with transaction.atomic():
        if after is not None and after < timezone.localdate():
            perschool.students_day_moves(schema_name, school_id=school_id, after=after)
        return reconcile_school(school_id, schema_name, run=run)


def students_day_chunk(schools: list[list]) -> dict[str, int]:
    """Reconcile the chunk's schools whose ``students`` figures moved with the days since their last
    reconciliation; a school that fails is logged and the others go on (the next pass looks at its days again)."""
    last = reconciled_days([school_id for school_id, _schema in schools])
    out = {"schools": len(schools), "reconciled": 0, "failed": 0}
    for school_id, schema_name in schools:
        after = last.get(school_id)
        try:
            if perschool.students_day_due(schema_name, after=after):
                reconcile_on_day(school_id, schema_name, after=after, run=RUN)
                out["reconciled"] += 1
        except DatabaseError:
            log.exception("students day pass: %s failed", schema_name)
            out["failed"] += 1
    if out["reconciled"] or out["failed"]:
        log.info("students day pass: %s", out)
    return out
