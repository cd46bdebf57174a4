"""This school's rollups: the figures recomputed from its own tables (reconciliation), and the one way the school's
services add their deltas (``rollup_add``): into the public row in the same transaction (``HOCBA_ROLLUP_MODE=inline``)
or into the school's outbox, drained by a worker within seconds (``outbox``, docs/operations.md §9.4)."""

from __future__ import annotations

import functools

from django.db import connection, transaction
from django.db.models import Count
from django_tenants.utils import get_public_schema_name
from hocba.kernel import recordstates

from tenants import rollups as public_rollups

from .models import Absence, Assessment, Conduct, Enrolment, RecordBook, RollupOutbox, SchoolYear

OUTBOX_TABLE = RollupOutbox._meta.db_table
FIELDS = public_rollups.FIELDS


def school_figures(year: SchoolYear) -> dict[str, int]:
    by_term = dict(Assessment.objects.filter(year=year).values_list("term").annotate(n=Count("id")))
    states = dict(RecordBook.objects.filter(year=year).values_list("state").annotate(n=Count("id")))
    return {
        "students": Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True).count(),
        **{f"records_{state}": states.get(state, 0) for state in recordstates.STATES},
        "entries": sum(by_term.values()),
        "entries_term1": by_term.get(1, 0),
        "entries_term2": by_term.get(2, 0),
        "conduct_entries": Conduct.objects.filter(year=year).count(),
        "absences": Absence.objects.filter(year=year).count(),
    }


def rollup_add(*, school_id: int, year_start: int, **deltas: int) -> None:
    """Add ``deltas`` to the school's rollup row for the year, in the caller's transaction: one statement either way.

    ``outbox``: one row appended to this school's outbox (same schema, same node: all-or-nothing with the write,
    no second node in the commit); once the transaction commits the school is named for the next drain. A write
    that rolls back leaves neither row nor signal."""
    if not public_rollups.outbox_mode():
        public_rollups.rollup_add(school_id=school_id, year_start=year_start, **deltas)
        return
    deltas = public_rollups.clean_deltas(deltas)
    if not deltas:
        return
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("rollup_add in outbox mode must run inside the school's schema")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OUTBOX_TABLE} (year_start, {', '.join(deltas)}, created_at)"
            f" VALUES (%s, {', '.join(['%s'] * len(deltas))}, clock_timestamp())",
            [year_start, *deltas.values()],
        )
    transaction.on_commit(functools.partial(public_rollups.outbox_signal, school_id), robust=True)


def _take(where: str = "", params: tuple = ()) -> dict:
    sums = ", ".join(f"sum({f})::integer" for f in FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH taken AS (DELETE FROM {OUTBOX_TABLE} {where} RETURNING *)"
            f" SELECT year_start, count(*), extract(epoch FROM clock_timestamp() - min(created_at))::float, {sums}"
            " FROM taken GROUP BY year_start ORDER BY year_start",
            params,
        )
        found = cursor.fetchall()
    return {
        "years": {year: dict(zip(FIELDS, values, strict=True)) for year, _n, _lag, *values in found},
        "rows": sum(n for _year, n, *_rest in found),
        "lag": max((lag for _year, _n, lag, *_rest in found), default=None),
    }


def outbox_take() -> dict:
    """Delete this school's outbox rows and return their sums per school year (``years``), their number (``rows``)
    and the age in seconds of the oldest (``lag``). One statement: a concurrent drain waits on the rows' locks and
    then finds them gone, so each row is summed exactly once; rows of writes not committed yet stay for the next."""
    return _take()


def figures_clearing_outbox() -> dict:
    """The school's figures per school year recomputed from its tables (``figures``) and, as of the same moment, the
    outbox rows of those years taken (``years``, ``rows``, ``lag`` as ``outbox_take``): the outbox is locked first
    (EXCLUSIVE: reads go on, writers wait at their outbox row and drains at their DELETE), so no write can commit
    between the figures read and the rows taken — every row taken is a write the figures include, and every write
    they miss keeps its row for the next drain. The caller's transaction (``tenants.rollup_outbox.reconcile_school``)
    holds the lock until it has overwritten the public rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {OUTBOX_TABLE} IN EXCLUSIVE MODE")
    figures = {year.start_year: school_figures(year) for year in SchoolYear.objects.all()}
    return {"figures": figures, **_take("WHERE year_start = ANY(%s)", (list(figures),))}
