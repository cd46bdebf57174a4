"""The daily pass of the ``students`` figures: a student counts on the days their enrolment keeps them on a class's
roll (``schools.onroll``), so a transfer out, an enrolment or a year's carry-over dated ahead changes the figure only
when its day comes — and nothing writes then. Each day, every school whose enrolments start or end between its last
reconciliation and today gets, first, what those days changed added as a delta (``schools.rollup_days``, under the
school's chain lock), then a reconciliation (``rollup_outbox.reconcile_school``: recomputed and overwritten under
the school's locks, so a write committing meanwhile keeps its delta, in either rollup mode). The delta keeps the
day's expected moves out of the drift the reconciliation records; the reconciliation makes the figures exact
whatever happened (a write dated today made before the pass counted twice by the delta is put right, as drift).

"Since the last reconciliation" is read from the school's public rows (``reconciled_at``): a school reconciled
today already holds today's figures and is left alone, so a second run the same day changes nothing, and a day
the pass missed is caught up by the next one (all the days since are looked at, not only the last).
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

RUN = "students-day"  # names the pass in the drift its reconciliations record


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


def students_day_chunk(schools: list[list]) -> dict[str, int]:
    """Reconcile the chunk's schools whose ``students`` figures moved with the days since their last
    reconciliation; a school that fails is logged and the others go on (tomorrow's pass looks at its days again)."""
    last = reconciled_days([school_id for school_id, _schema in schools])
    out = {"schools": len(schools), "reconciled": 0, "failed": 0}
    for school_id, schema_name in schools:
        try:
            after = last.get(school_id)
            if not perschool.students_day_due(schema_name, after=after):
                continue
            if after is not None:
                with transaction.atomic():
                    perschool.students_day_moves(schema_name, school_id=school_id, after=after)
            reconcile_school(school_id, schema_name, run=RUN)
            out["reconciled"] += 1
        except DatabaseError:
            log.exception("students day pass: %s failed", schema_name)
            out["failed"] += 1
    if out["reconciled"] or out["failed"]:
        log.info("students day pass: %s", out)
    return out
