"""The one way school code writes the public rollups: deltas in the same transaction, and a
reconciliation that recomputes them from the school's own tables when they drift.

With ``HOCBA_ROLLUP_MODE=outbox`` (docs/operations.md §9.4) school code appends its deltas to its own outbox
(``schools.rollups.rollup_add``) and, once the write has committed, names the school in a Redis set
(``outbox_signal``); ``tenants.rollup_outbox`` drains the named schools into these rows."""

from __future__ import annotations

import functools
import json
import logging

import redis
from django.conf import settings
from django.db import connection
from hocba.kernel import recordstates

log = logging.getLogger(__name__)

# The figures a school's outbox carries (``schools.models.RollupOutbox`` has one column for each).
OUTBOX_FIELDS = (
    "students",
    *(f"records_{state}" for state in recordstates.STATES),
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "absences",
)
# Written straight into the public row in both modes, in the writer's transaction: rare writes (a class created, a
# record reopened) on the school's own row, which only that school's writers and its reconciliation touch — both
# under the school's chain lock, so the reconciliation's overwrite never loses one of these deltas.
INLINE_FIELDS = ("classes", "records_reopened")
FIELDS = (*OUTBOX_FIELDS, *INLINE_FIELDS)


def clean_deltas(deltas: dict[str, int]) -> dict[str, int]:
    """The deltas that change something; an unknown field is a programming error."""
    unknown = set(deltas) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown rollup fields {sorted(unknown)}")
    return {k: v for k, v in deltas.items() if v}


def rollup_add(*, school_id: int, year_start: int, **deltas: int) -> None:
    """Add ``deltas`` to the school's row for the year (created on first use). One statement."""
    deltas = clean_deltas(deltas)
    if not deltas:
        return
    columns = ", ".join(deltas)
    placeholders = ", ".join(["%s"] * len(deltas))
    updates = ", ".join(f"{k} = r.{k} + EXCLUDED.{k}" for k in deltas)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.tenants_schoolrollup AS r (school_id, year_start, {columns}, updated_at)"
            f" VALUES (%s, %s, {placeholders}, now())"
            f" ON CONFLICT (school_id, year_start) DO UPDATE SET {updates}, updated_at = now()",
            [school_id, year_start, *deltas.values()],
        )


def rollup_set(*, school_id: int, year_start: int, values: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Overwrite the row with recomputed figures (reconciliation) and return the fields that differed from the row's,
    as ``{field: (old, new)}`` (drift fixed). A row that was missing is created and is not drift: ``{}``. The old row
    is read in the same statement, before the write."""
    columns = ", ".join(FIELDS)
    new = {k: int(values.get(k, 0)) for k in FIELDS}
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH prior AS (SELECT {columns} FROM public.tenants_schoolrollup"
            f" WHERE school_id = %s AND year_start = %s)"
            f" INSERT INTO public.tenants_schoolrollup AS r"
            f" (school_id, year_start, {columns}, updated_at, reconciled_at)"
            f" VALUES (%s, %s, {', '.join(['%s'] * len(FIELDS))}, now(), now())"
            f" ON CONFLICT (school_id, year_start) DO UPDATE SET "
            + ", ".join(f"{k} = EXCLUDED.{k}" for k in FIELDS)
            + ", updated_at = now(), reconciled_at = now()"
            + " RETURNING (SELECT to_jsonb(prior) FROM prior)",
            [school_id, year_start, school_id, year_start, *new.values()],
        )
        (old,) = cursor.fetchone()
    if old is None:
        return {}
    if isinstance(old, str):  # a driver that leaves jsonb undecoded
        old = json.loads(old)
    return {k: (old[k], new[k]) for k in FIELDS if old[k] != new[k]}


# --- the outbox mode's signal: schools with deltas waiting ------------------------------------------------------

OUTBOX_MODE = "outbox"
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}


def outbox_mode() -> bool:
    return settings.ROLLUP_MODE == OUTBOX_MODE


def pending_key() -> str:
    """The Redis set of schools whose outbox has rows to drain (one per database: tests and demos share a Redis)."""
    return f"hocba:{connection.settings_dict['NAME']}:rollup-outbox"


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **REDIS_TIMEOUTS)


def pending_client() -> redis.Redis | None:
    """The Redis client of the signal, None without a Redis (the in-process broker: the sweep drains)."""
    url = getattr(settings, "REDIS_URL", "")
    return _client(url) if url else None


def outbox_signal(school_id: int) -> None:
    """After a school's write committed (``transaction.on_commit``): name the school for the next drain. Never raises:
    the write is committed whatever happens here, and a signal lost (Redis down) is found by the sweep."""
    client = pending_client()
    if client is None:
        return
    try:
        client.sadd(pending_key(), school_id)
    except (redis.RedisError, OSError) as exc:
        log.warning("rollup outbox: school %s not signalled (%s); the sweep will drain it", school_id, exc)


def outbox_signalled(limit: int) -> list[int]:
    """Take up to ``limit`` signalled schools out of the set (SPOP: two drains never take the same one)."""
    client = pending_client()
    if client is None:
        return []
    return [int(member) for member in client.spop(pending_key(), limit) or []]


# --- result distributions (``models.ResultDistribution``) -------------------------------------------------------

DISTRIBUTION_TABLE = "public.tenants_resultdistribution"
DISTRIBUTION_KEY = ("grade", "gender", "ethnicity", "measure", "value")
DISTRIBUTION_TYPES = ("smallint[]", "text[]", "text[]", "text[]", "text[]")


def _distribution_arrays(cells) -> tuple[list[list], list[int]]:
    merged: dict[tuple, int] = {}
    for key, n in cells:
        merged[tuple(key)] = merged.get(tuple(key), 0) + n
    merged = {k: n for k, n in merged.items() if n}
    return [list(column) for column in zip(*merged, strict=True)] if merged else [], list(merged.values())


def distribution_add(*, school_id: int, year_start: int, cells) -> None:
    """Add each ``(key, delta)`` of ``cells`` to the school's distribution cell for the year, ``key`` being (grade,
    gender, ethnic group, measure, value); cells are created on first use. One statement (none when nothing
    changes); the same key twice adds both. Written inline in both rollup modes."""
    columns, deltas = _distribution_arrays(cells)
    if not deltas:
        return
    names = ", ".join(DISTRIBUTION_KEY)
    arrays = ", ".join(f"%s::{t}" for t in DISTRIBUTION_TYPES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DISTRIBUTION_TABLE} AS r (school_id, year_start, {names}, count, updated_at)"
            f" SELECT %s, %s, {names}, n, now() FROM unnest({arrays}, %s::integer[]) AS d({names}, n)"
            f" ON CONFLICT (school_id, year_start, {names}) DO UPDATE SET count = r.count + EXCLUDED.count,"
            " updated_at = now()",
            [school_id, year_start, *columns, deltas],
        )


def distribution_set(*, school_id: int, cells: dict[tuple, int]) -> None:
    """Overwrite the school's cells with ``cells`` ({(year_start, grade, gender, ethnic group, measure, value):
    count}, the reconciliation's recomputed figures): upserted, and the school's other cells deleted. Two
    statements."""
    names = ", ".join(DISTRIBUTION_KEY)
    keys = list(cells)
    columns = [list(column) for column in zip(*keys, strict=True)] if keys else [[] for _ in range(6)]
    arrays = ", ".join(f"%s::{t}" for t in ("smallint[]", *DISTRIBUTION_TYPES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {DISTRIBUTION_TABLE} AS r WHERE school_id = %s AND (year_start, {names}) NOT IN"
            f" (SELECT * FROM unnest({arrays}))",
            [school_id, *columns],
        )
        if keys:
            cursor.execute(
                f"INSERT INTO {DISTRIBUTION_TABLE} AS r (school_id, year_start, {names}, count, updated_at)"
                f" SELECT %s, year_start, {names}, n, now()"
                f" FROM unnest({arrays}, %s::integer[]) AS d(year_start, {names}, n)"
                f" ON CONFLICT (school_id, year_start, {names})"
                " DO UPDATE SET count = EXCLUDED.count, updated_at = now()"
                " WHERE r.count IS DISTINCT FROM EXCLUDED.count",
                [school_id, *columns, list(cells.values())],
            )
