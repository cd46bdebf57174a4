"""The ``students`` figures moving with the days (``schools.onroll``): what the days since the figures were last
brought up to date changed, added as a delta like any write's (``rollups.rollup_add``, either rollup mode). The
reconciliation (``tenants.rollup_days.reconcile_on_day``) adds it first, in its transaction, so the day's expected
moves are not taken for drift while a real drift still is."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count

from . import onroll
from .models import Enrolment, SchoolClass
from .rollups import OUTBOX_TABLE, classes_changed, rollup_add
from .services.common import take_chain_lock


def students_day_moves(*, school_id: int, after: dt.date) -> dict[int, int]:
    """Add to each school year's ``students`` figure those on the roll today minus those on it on ``after``, counted
    among the enrolments that start or end in between; returns {start_year: delta} (the years that moved). In the
    caller's transaction, under the locks the reconciliation then takes, in its order (the chain lock: writers wait,
    no delta of theirs is counted twice; then the outbox, before any public row: drains wait)."""
    take_chain_lock()
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {OUTBOX_TABLE} IN EXCLUSIVE MODE")
    today = onroll.school_today()
    if after >= today:
        return {}
    rows = (
        Enrolment.objects.filter(onroll.rolls_changed_between(after, today))
        .values_list("school_class_id", "school_class__year__start_year")
        .annotate(now=Count("id", filter=onroll.on_roll(today)), then=Count("id", filter=onroll.on_roll(after)))
        .order_by()
    )
    moves: dict[int, int] = {}
    by_class: dict[int, int] = {}
    for class_id, year, now, then in rows:
        if now != then:
            moves[year] = moves.get(year, 0) + now - then
            by_class[class_id] = now - then
    for year_start, delta in moves.items():
        if delta:
            rollup_add(school_id=school_id, year_start=year_start, students=delta)
    if by_class:  # the classes' rows move alike, and recompute who of their students counts as complete
        classes = SchoolClass.objects.filter(pk__in=list(by_class)).select_related("year")
        classes_changed(school_id=school_id, classes=[(c, {"students": by_class[c.pk]}) for c in classes], stale=True)
    return {year: delta for year, delta in moves.items() if delta}
