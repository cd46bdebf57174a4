"""The one way school code writes the public rollups: deltas in the same transaction, and a
reconciliation that recomputes them from the school's own tables when they drift."""

from __future__ import annotations

from django.db import connection
from hocba.kernel import recordstates

FIELDS = (
    "students",
    *(f"records_{state}" for state in recordstates.STATES),
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "absences",
)


def rollup_add(*, school_id: int, year_start: int, **deltas: int) -> None:
    """Add ``deltas`` to the school's row for the year (created on first use). One statement."""
    unknown = set(deltas) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown rollup fields {sorted(unknown)}")
    deltas = {k: v for k, v in deltas.items() if v}
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
