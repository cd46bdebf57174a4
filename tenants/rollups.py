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
# Recomputed, never added: the figures of the sheets' and profiles' completeness, which no write knows the change of
# (an enrolment alters the required cells of every sheet of its class). A write marks its class stale
# (``class_rollup_add(stale=True)``) and the drain of stale classes (``tenants.rollup_outbox.drain_stale``) sets
# them within seconds; the reconciliation recomputes them with the others.
DERIVED_FIELDS = (
    "profile_complete",
    "sheets_required_term1",
    "sheets_done_term1",
    "sheets_required_term2",
    "sheets_done_term2",
    "conduct_done_term1",
    "conduct_done_term2",
)
# Added inline by their writers (the record books archived: the archive's writer adds to it through ``rollup_add``);
# the reconciliation sets them only when the school's figures name them (``schools.rollups.school_figures`` does).
KEPT_ELSEWHERE = ("records_archived",)
RECONCILED = (*FIELDS, *DERIVED_FIELDS)
CLASS_FIELDS = (
    "students",
    *(f"records_{state}" for state in recordstates.STATES),
    "sheets_required_term1",
    "sheets_done_term1",
    "sheets_required_term2",
    "sheets_done_term2",
)
CLASS_DELTA_FIELDS = CLASS_FIELDS[:6]  # students and states move with the writes; sheets by the drain
CLASS_SHEET_FIELDS = CLASS_FIELDS[6:]


def clean_deltas(deltas: dict[str, int]) -> dict[str, int]:
    """The deltas that change something; an unknown field is a programming error."""
    unknown = set(deltas) - set(FIELDS) - set(KEPT_ELSEWHERE)
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
    is read in the same statement, before the write. ``FIELDS`` always, the ``DERIVED_FIELDS`` and ``KEPT_ELSEWHERE``
    given in ``values``."""
    fields = (*FIELDS, *(k for k in (*DERIVED_FIELDS, *KEPT_ELSEWHERE) if k in values))
    columns = ", ".join(fields)
    new = {k: int(values.get(k, 0)) for k in fields}
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH prior AS (SELECT {columns} FROM public.tenants_schoolrollup"
            f" WHERE school_id = %s AND year_start = %s)"
            f" INSERT INTO public.tenants_schoolrollup AS r"
            f" (school_id, year_start, {columns}, updated_at, reconciled_at)"
            f" VALUES (%s, %s, {', '.join(['%s'] * len(fields))}, now(), now())"
            f" ON CONFLICT (school_id, year_start) DO UPDATE SET "
            + ", ".join(f"{k} = EXCLUDED.{k}" for k in fields)
            + ", updated_at = now(), reconciled_at = now()"
            + " RETURNING (SELECT to_jsonb(prior) FROM prior)",
            [school_id, year_start, school_id, year_start, *new.values()],
        )
        (old,) = cursor.fetchone()
    if old is None:
        return {}
    if isinstance(old, str):  # a driver that leaves jsonb undecoded
        old = json.loads(old)
    return {k: (old[k], new[k]) for k in fields if old[k] != new[k]}


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


# --- per class (``models.ClassRollup``) and the figures recomputed by the drain of stale classes ------------------

CLASS_TABLE = "public.tenants_classrollup"


def class_rollup_add(*, school_id: int, year_start: int, classes: list[tuple], stale: bool = False) -> None:
    """Add deltas to class rows of the school's year, created on first use: ``classes`` is a list of ``(class id,
    name, grade, {field: delta})`` (``CLASS_DELTA_FIELDS``); ``stale``: the write may have changed their sheets'
    completeness, so the drain recomputes them (``stale_since`` kept when already set). One statement, in the
    writer's transaction, in both rollup modes (a class's row is its own: only its school's writers, queued on the
    chain lock, touch it)."""
    if not classes:
        return
    rows, params = [], []
    for class_id, name, grade, deltas in classes:
        unknown = set(deltas) - set(CLASS_DELTA_FIELDS)
        if unknown:
            raise ValueError(f"unknown class rollup fields {sorted(unknown)}")
        rows.append("(%s, %s, %s, %s, %s, " + ", ".join(["%s"] * len(CLASS_DELTA_FIELDS)) + ")")
        params += [school_id, year_start, class_id, name, grade, *(int(deltas.get(k, 0)) for k in CLASS_DELTA_FIELDS)]
    columns = ", ".join(CLASS_DELTA_FIELDS)
    updates = ", ".join(f"{k} = r.{k} + EXCLUDED.{k}" for k in CLASS_DELTA_FIELDS)
    stale_sql = "clock_timestamp()" if stale else "NULL::timestamptz"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CLASS_TABLE} AS r (school_id, year_start, class_id, name, grade, {columns},"
            " sheets_required_term1, sheets_done_term1, sheets_required_term2, sheets_done_term2,"
            " stale_since, updated_at)"
            f" SELECT v.*, 0, 0, 0, 0, {stale_sql}, now() FROM (VALUES {', '.join(rows)}) AS v"
            f" ON CONFLICT (school_id, year_start, class_id) DO UPDATE SET {updates}, name = EXCLUDED.name,"
            " grade = EXCLUDED.grade, stale_since = coalesce(r.stale_since, EXCLUDED.stale_since), updated_at = now()",
            params,
        )


def stale_years(school_id: int) -> list[int]:
    """The school years of the school with a stale class (the drain's work)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT year_start FROM {CLASS_TABLE} WHERE school_id = %s AND stale_since IS NOT NULL",
            [school_id],
        )
        return [year for (year,) in cursor.fetchall()]


def stale_schools(limit: int) -> list[tuple[int, float]]:
    """Up to ``limit`` schools with stale classes, the longest waiting first, with the wait of their oldest in
    seconds. One query on the partial index of stale rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT school_id, extract(epoch FROM clock_timestamp() - min(stale_since))::float FROM {CLASS_TABLE}"
            " WHERE stale_since IS NOT NULL GROUP BY school_id ORDER BY min(stale_since) LIMIT %s",
            [limit],
        )
        return [(school_id, lag) for school_id, lag in cursor.fetchall()]


def stale_among(school_ids: list[int]) -> list[int]:
    """The schools among ``school_ids`` with a stale class. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT school_id FROM {CLASS_TABLE} WHERE stale_since IS NOT NULL AND school_id = ANY(%s)",
            [list(school_ids)],
        )
        return [school_id for (school_id,) in cursor.fetchall()]


def class_rows(school_id: int) -> dict[tuple[int, int], dict]:
    """The school's class rows: {(year_start, class_id): {field: value, "name", "grade", "stale": bool}}."""
    fields = ", ".join(CLASS_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT year_start, class_id, name, grade, stale_since IS NOT NULL, {fields} FROM {CLASS_TABLE}"
            " WHERE school_id = %s",
            [school_id],
        )
        return {
            (year, class_id): {
                "name": name,
                "grade": grade,
                "stale": stale,
                **dict(zip(CLASS_FIELDS, values, strict=True)),
            }
            for year, class_id, name, grade, stale, *values in cursor.fetchall()
        }


def class_rows_set(*, school_id: int, year_start: int, rows: dict[int, dict], fields: tuple[str, ...]) -> None:
    """Overwrite ``fields`` of the year's class rows with ``rows`` ({class_id: {"name", "grade", field: value}}),
    creating the missing ones, deleting those of classes no longer there, and clear their ``stale_since``: the
    figures are the school's as of now, read under its chain lock (drain, reconciliation). Two statements."""
    ids = list(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {CLASS_TABLE} WHERE school_id = %s AND year_start = %s AND NOT (class_id = ANY(%s))",
            [school_id, year_start, ids],
        )
        if not ids:
            return
        names = ", ".join(fields)
        arrays = ", ".join(["%s::integer[]"] * len(fields))
        cursor.execute(
            f"INSERT INTO {CLASS_TABLE} AS r (school_id, year_start, class_id, name, grade, {names}, stale_since,"
            " updated_at, reconciled_at)"
            f" SELECT %s, %s, v.* , NULL, now(), NULL FROM unnest(%s::bigint[], %s::text[], %s::smallint[], {arrays})"
            f" AS v(class_id, name, grade, {names})"
            f" ON CONFLICT (school_id, year_start, class_id) DO UPDATE SET name = EXCLUDED.name,"
            " grade = EXCLUDED.grade, "
            + ", ".join(f"{k} = EXCLUDED.{k}" for k in fields)
            + ", stale_since = NULL, updated_at = now()",
            [
                school_id,
                year_start,
                ids,
                [rows[i]["name"] for i in ids],
                [rows[i]["grade"] for i in ids],
                *([int(rows[i][k]) for i in ids] for k in fields),
            ],
        )


def class_rows_reconciled(school_id: int) -> None:
    """Stamp the school's class rows as reconciled now (the reconciliation's transaction time)."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CLASS_TABLE} SET reconciled_at = now() WHERE school_id = %s", [school_id])


def derived_set(*, school_id: int, year_start: int, values: dict[str, int]) -> None:
    """Overwrite the year's ``DERIVED_FIELDS`` of the school's row (the drain of stale classes), created if missing."""
    columns = ", ".join(DERIVED_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO public.tenants_schoolrollup AS r (school_id, year_start, {columns}, updated_at)"
            f" VALUES (%s, %s, {', '.join(['%s'] * len(DERIVED_FIELDS))}, now())"
            " ON CONFLICT (school_id, year_start) DO UPDATE SET "
            + ", ".join(f"{k} = EXCLUDED.{k}" for k in DERIVED_FIELDS)
            + ", updated_at = now()",
            [school_id, year_start, *(int(values.get(k, 0)) for k in DERIVED_FIELDS)],
        )


def edits_counted(school_id: int) -> int:
    """The school's last audit entry the daily count of edits after approval has read (0: none yet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(edits_counted_to), 0) FROM public.tenants_schoolrollup WHERE school_id = %s",
            [school_id],
        )
        return cursor.fetchone()[0]


def edits_add(*, school_id: int, counted_to: int, by_year: dict[int, int]) -> None:
    """Add the edits after approval found per school year and move the school's mark to ``counted_to`` on all its
    rows (a year with edits and no row gets one). Two statements."""
    with connection.cursor() as cursor:
        if by_year:
            cursor.execute(
                "INSERT INTO public.tenants_schoolrollup AS r (school_id, year_start, edits_after_approval, updated_at)"
                " SELECT %s, y, n, now() FROM unnest(%s::smallint[], %s::integer[]) AS v(y, n)"
                " ON CONFLICT (school_id, year_start) DO UPDATE SET"
                " edits_after_approval = r.edits_after_approval + EXCLUDED.edits_after_approval, updated_at = now()",
                [school_id, list(by_year), list(by_year.values())],
            )
        cursor.execute(
            "UPDATE public.tenants_schoolrollup SET edits_counted_to = %s"
            " WHERE school_id = %s AND edits_counted_to < %s",
            [counted_to, school_id, counted_to],
        )


DAY_FIGURES = (*RECONCILED, *KEPT_ELSEWHERE, "edits_after_approval")


def rows_for_day(school_id: int, years: list[int]) -> dict[int, dict[str, int]]:
    """The school's rows of these years, their figures (``DAY_FIGURES``) as a dict: the day's copy. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT year_start, {', '.join(DAY_FIGURES)} FROM public.tenants_schoolrollup"
            " WHERE school_id = %s AND year_start = ANY(%s)",
            [school_id, years],
        )
        return {year: dict(zip(DAY_FIGURES, values, strict=True)) for year, *values in cursor.fetchall()}


def rollup_days_write(*, school_id: int, day, figures: dict[int, dict]) -> int:
    """The school's figures of each year on ``day`` (``RollupDay``), once: a day already written is kept (``ON
    CONFLICT DO NOTHING``); returns the rows written. One statement."""
    if not figures:
        return 0
    years = list(figures)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.tenants_rollupday (school_id, year_start, day, figures)"
            " SELECT %s, y, %s, f FROM unnest(%s::smallint[], %s::jsonb[]) AS v(y, f)"
            " ON CONFLICT (school_id, year_start, day) DO NOTHING",
            [school_id, day, years, [json.dumps(figures[y]) for y in years]],
        )
        return cursor.rowcount
