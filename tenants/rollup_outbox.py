"""Draining the schools' rollup outboxes into the public rollups (``HOCBA_ROLLUP_MODE=outbox``, docs/operations.md
§9.4), and the reconciliation, which must agree with rows not drained yet.

Who drains what:

* ``drain_signalled`` (beat ``rollups-drain``, every 5 s in outbox mode): the schools named in the Redis set by the
  writes' ``on_commit`` hooks;
* ``sweep_chunk`` (beat ``rollups-sweep``, every 5 min, either mode): every active school whose outbox still holds
  rows — a signal lost to a Redis outage or a worker killed after taking it — found with one query per chunk;
* ``drain_schools`` (the lock-time compliance snapshot): the chunk's schools, before their figures are copied;
* ``reconcile_school`` (every 30 min): overwrites the public rows with recomputed figures and deletes, in the same
  transaction and as of the same moment, the outbox rows those figures already include.

Each drain is one transaction per school: the outbox rows deleted and summed in the school, one upsert per school
year in public. Two drains of one school never count a row twice (the second waits on the rows' locks and then
finds them gone); a drain that fails leaves the rows where they were and names the school again.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from hocba.kernel import metrics

from . import perschool
from . import rollups as public_rollups
from .distributions import distributions_reconcile
from .models import RollupDrift, School
from .rollups import outbox_signal, outbox_signalled, rollup_add, rollup_set

log = logging.getLogger(__name__)

SIGNALLED_BATCH = 200  # schools taken from the set at a time
DRAIN_BUDGET_SECONDS = 4.0  # a drain task stops taking schools after this long: the next beat (5 s) goes on


def drain_school(school_id: int, schema_name: str, *, via: str) -> int:
    """Move this school's outbox rows into its public rollup rows, in one transaction; returns the rows drained."""
    with transaction.atomic():
        taken = perschool.rollup_outbox_take(schema_name)
        for year_start, deltas in taken["years"].items():
            rollup_add(school_id=school_id, year_start=year_start, **deltas)
    if taken["rows"]:
        metrics.rollup_outbox_drained(via=via, rows=taken["rows"], lag_seconds=taken["lag"])
    return taken["rows"]


def _schemas(school_ids: list[int]) -> dict[int, str]:
    return dict(School.objects.filter(pk__in=school_ids).values_list("pk", "schema_name"))


def drain_signalled(*, budget: float = DRAIN_BUDGET_SECONDS, batch: int = SIGNALLED_BATCH) -> dict[str, int]:
    """Drain the schools signalled since the last run, batch by batch, for at most ``budget`` seconds."""
    started = time.monotonic()
    out = {"schools": 0, "rows": 0, "failed": 0}
    failed: list[int] = []
    while time.monotonic() - started < budget:
        school_ids = outbox_signalled(batch)
        if not school_ids:
            break
        for school_id, schema_name in _schemas(school_ids).items():
            try:
                out["rows"] += drain_school(school_id, schema_name, via="signal")
                out["schools"] += 1
            except DatabaseError:
                log.exception("rollup outbox: draining %s failed; signalled again for the next run", schema_name)
                failed.append(school_id)
    for school_id in failed:  # after the loop: this run does not take them again
        outbox_signal(school_id)
    out["failed"] = len(failed)
    return out


def sweep_chunk(schools: list[list]) -> dict[str, int]:
    """Drain the chunk's schools whose outbox still holds rows (one query finds them)."""
    by_schema = {schema_name: school_id for school_id, schema_name in schools}
    out = {"schools": 0, "rows": 0, "failed": 0}
    for schema_name in perschool.schemas_with_outbox_rows(list(by_schema)):
        try:
            out["rows"] += drain_school(by_schema[schema_name], schema_name, via="sweep")
            out["schools"] += 1
        except DatabaseError:
            log.exception("rollup outbox: sweeping %s failed", schema_name)
            out["failed"] += 1
    if out["schools"]:
        log.info("rollup outbox sweep: %s", out)
    return out


def drain_schools(school_ids: list[int], *, via: str) -> int:
    """Drain these schools now (the lock-time snapshot, before it copies their figures); returns the rows drained."""
    return sum(drain_school(school_id, schema_name, via=via) for school_id, schema_name in _schemas(school_ids).items())


# --- the drain of stale classes: the figures no write knows the change of (``rollups.DERIVED_FIELDS``) -----------

STALE_BATCH = 100  # schools taken at a time


def drain_stale_school(school_id: int, schema_name: str) -> int:
    """Recompute this school's stale classes and its derived figures, in one transaction under its chain lock;
    returns the classes written."""
    with transaction.atomic():
        return perschool.class_rollups_refresh(schema_name, school_id=school_id)["classes"]


def drain_stale(*, budget: float = DRAIN_BUDGET_SECONDS, batch: int = STALE_BATCH) -> dict[str, int]:
    """Drain the schools with stale classes, the longest waiting first, for at most ``budget`` seconds (beat every
    2 s: a class marked stale by a commit is current within seconds). The wait of each school's oldest mark is
    observed (``hocba_rollup_outbox_lag_seconds{via="stale"}``): the freshness of these figures."""
    started = time.monotonic()
    out = {"schools": 0, "classes": 0, "failed": 0}
    failed: set[int] = set()
    while time.monotonic() - started < budget:
        waiting = [
            (school_id, lag) for school_id, lag in public_rollups.stale_schools(batch) if school_id not in failed
        ]
        if not waiting:
            break
        schemas = _schemas([school_id for school_id, _lag in waiting])
        for school_id, lag in waiting:
            if school_id not in schemas:  # the school is gone: its rows went with it
                failed.add(school_id)
                continue
            try:
                out["classes"] += drain_stale_school(school_id, schemas[school_id])
                out["schools"] += 1
                metrics.rollup_outbox_drained(via="stale", rows=1, lag_seconds=lag)
            except DatabaseError:
                log.exception("stale classes: draining %s failed; the next run tries again", schemas[school_id])
                failed.add(school_id)
    out["failed"] = len(failed)
    return out


def drain_stale_of(school_ids: list[int]) -> int:
    """Drain these schools' stale classes now (the lock-time snapshot, before it copies their figures): one query
    when none is stale; returns the classes written."""
    stale = public_rollups.stale_among(school_ids)
    return sum(drain_stale_school(school_id, schema) for school_id, schema in _schemas(stale).items())


def _class_drift(school_id: int, found: dict[int, dict[int, dict]], run: str) -> list[RollupDrift]:
    """Overwrite the school's class rows with the recomputed ones (``found``: {year: {class id: figures}}), rows of
    classes (or years) no longer there deleted, and return the drift: each figure of a row that differed, a row
    missing or left over counted from or to 0. The sheets of a class still marked stale are pending, not drift."""
    kept = public_rollups.class_rows(school_id)
    drift: list[RollupDrift] = []
    for (year_start, class_id), row in kept.items():
        if class_id not in found.get(year_start, {}):
            drift += [
                RollupDrift(school_id=school_id, year_start=year_start, table="classrollup",
                            field=f"{class_id}.{f}", old=row[f], new=0, run=run)
                for f in public_rollups.CLASS_FIELDS if row[f]
            ]  # fmt: skip
    for year_start, classes in found.items():
        for class_id, figures in classes.items():
            row = kept.get((year_start, class_id))
            if row is None:
                continue  # a row created by the reconciliation is not drift
            fields = public_rollups.CLASS_DELTA_FIELDS if row["stale"] else public_rollups.CLASS_FIELDS
            drift += [
                RollupDrift(school_id=school_id, year_start=year_start, table="classrollup",
                            field=f"{class_id}.{f}", old=row[f], new=figures[f], run=run)
                for f in fields if row[f] != figures[f]
            ]  # fmt: skip
    for year_start in {y for y, _c in kept} - set(found):
        public_rollups.class_rows_set(school_id=school_id, year_start=year_start, rows={}, fields=())
    for year_start, classes in found.items():
        public_rollups.class_rows_set(
            school_id=school_id, year_start=year_start, rows=classes, fields=public_rollups.CLASS_FIELDS
        )
    public_rollups.class_rows_reconciled(school_id)
    return drift


def reconcile_school(school_id: int, schema_name: str, *, run: str = "") -> int:
    """Recompute this school's rollup rows from its tables; returns the number of school years. Counted in the
    metrics, with whether any figure had drifted (``hocba_rollup_reconciled_schools_total{drift="fixed"}``); every
    figure fixed is recorded (``RollupDrift``: school, year, table, field, old → new, when, ``run``) and logged, one
    line per school with drift. A row created by the reconciliation (none before) is not drift. The result
    distributions are recomputed in the same transaction (``tenants.distributions``), their drift recorded alike
    (table ``resultdistribution``, the cell as grade/gender/ethnicity/measure/value), and the ethnicity values
    naming none of the 54 groups logged per school.

    One transaction, under the school's chain lock (the writers' lock, taken before anything else as they do) and
    with its outbox locked: the figures read, the outbox rows of those years taken and added to the public rows (they
    are in the figures), the public rows overwritten — so drift is what differs from the public rows plus the rows
    not drained yet. No write commits between the read and the overwrite: one that committed before is in the
    figures (and its outbox row taken), one that comes after waits and adds its delta on top of the new figures
    (inline) or keeps its outbox row for the next drain (outbox): nothing counted twice or lost
    (tests/tenants/test_rollup_reconcile.py, tests/tenants/test_rollup_outbox.py)."""
    fixed: list[RollupDrift] = []
    with transaction.atomic():
        found = perschool.rollup_figures_clearing_outbox(schema_name)
        for year_start, deltas in found["years"].items():
            rollup_add(school_id=school_id, year_start=year_start, **deltas)
        pending = set(public_rollups.stale_years(school_id))  # derived figures not drained yet: not drift
        for year_start, values in found["figures"].items():
            differing = rollup_set(school_id=school_id, year_start=year_start, values=values)
            fixed += [
                RollupDrift(school_id=school_id, year_start=year_start, field=field, old=old, new=new, run=run)
                for field, (old, new) in differing.items()
                if not (year_start in pending and field in public_rollups.DERIVED_FIELDS)
            ]
        fixed += _class_drift(school_id, found["classes"], run)
        public_rollups.rollup_days_write(
            school_id=school_id, day=timezone.localdate(), figures=_day_figures(school_id, list(found["figures"]))
        )
        distributions = distributions_reconcile(school_id, schema_name)
        fixed += [
            RollupDrift(
                school_id=school_id,
                year_start=d.year_start,
                table="resultdistribution",
                field=f"{d.grade}/{d.gender}/{d.ethnicity}/{d.measure}/{d.value}",
                old=d.recorded,
                new=d.actual,
                run=run,
            )
            for d in distributions.drift
        ]
        if fixed:
            found_at = transaction_now()
            for drift in fixed:
                drift.found_at = found_at
            RollupDrift.objects.bulk_create(fixed)
    if found["rows"]:
        metrics.rollup_outbox_drained(via="reconcile", rows=found["rows"], lag_seconds=found["lag"])
    if fixed:
        log.warning(
            "rollup drift fixed: school %s (%s), %d figure(s): %s",
            school_id,
            schema_name,
            len(fixed),
            "; ".join(f"{d.year_start} {d.table}.{d.field} {d.old} -> {d.new}" for d in fixed),
            extra={
                "event": "rollup_drift",
                "school_id": school_id,
                "schema_name": schema_name,
                "run": run,
                "drift": [
                    {"year_start": d.year_start, "table": d.table, "field": d.field, "old": d.old, "new": d.new}
                    for d in fixed
                ],
            },
        )
    if distributions.unmapped:
        log.info(
            "ethnicity values naming none of the 54 groups: school %s (%s): %s",
            school_id,
            schema_name,
            "; ".join(f"{value!r} × {n}" for value, n in distributions.unmapped.items()),
            extra={"event": "ethnicity_unmapped", "school_id": school_id, "unmapped": distributions.unmapped},
        )
    metrics.rollups_reconciled(drifted=bool(fixed))
    return len(found["figures"])


def _day_figures(school_id: int, years: list[int]) -> dict[int, dict]:
    """The school's rows of these years as the day's copy (``RollupDay.figures``): every figure of the row."""
    return public_rollups.rows_for_day(school_id, years)


def transaction_now():
    """The current transaction's start time (``now()``): the ``reconciled_at`` the rows were stamped with."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]
