"""The one way school code writes the public rollups: deltas in the same transaction, and a
reconciliation that recomputes them from the school's own tables when they drift.

With ``HOCBA_ROLLUP_MODE=outbox`` (docs/operations.md §9.4) school code appends its deltas to its own outbox
(``schools.rollups.rollup_add``) and, once the write has committed, names the school in a Redis set
(``outbox_signal``); ``tenants.rollup_outbox`` drains the named schools into these rows."""

from __future__ import annotations

import functools
import logging

import redis
from django.conf import settings
from django.db import connection
from hocba.kernel import recordstates

log = logging.getLogger(__name__)

FIELDS = (
    "students",
    *(f"records_{state}" for state in recordstates.STATES),
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "absences",
)


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


def rollup_set(*, school_id: int, year_start: int, values: dict[str, int]) -> bool:
    """Overwrite the row with recomputed figures (reconciliation). True when they differ from the row's (drift
    fixed, or a row that was missing): the old row is read in the same statement, before the write."""
    columns = ", ".join(FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH old AS (SELECT ({columns}) AS figures FROM public.tenants_schoolrollup"
            f" WHERE school_id = %s AND year_start = %s)"
            f" INSERT INTO public.tenants_schoolrollup AS r"
            f" (school_id, year_start, {columns}, updated_at, reconciled_at)"
            f" VALUES (%s, %s, {', '.join(['%s'] * len(FIELDS))}, now(), now())"
            f" ON CONFLICT (school_id, year_start) DO UPDATE SET "
            + ", ".join(f"{k} = EXCLUDED.{k}" for k in FIELDS)
            + ", updated_at = now(), reconciled_at = now()"
            + f" RETURNING (SELECT figures FROM old) IS DISTINCT FROM ({', '.join(f'r.{k}' for k in FIELDS)})",
            [school_id, year_start, school_id, year_start, *(values.get(k, 0) for k in FIELDS)],
        )
        (changed,) = cursor.fetchone()
    return bool(changed)


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
