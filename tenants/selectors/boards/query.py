"""The board's one query of the schools' figures, and the rows it returns kept in the web process.

A school's row: the school (name, code, levels, status, schema state), its rollup of the year (which also holds the
year's last lock as its snapshot had it), the year's exceptions to locks and the drift its last reconciliation
fixed, each aggregated once over the scope rather than looked up per school; times as integers.

Kept rows (:func:`school_rows`): reading and sending 3,000 schools' rows of 35 values cost more than the rest of a
province's board. So a web process keeps the rows of the scopes it served, with the database snapshot they were
read under, and at the next board asks again only for the rows written since: a school or rollup row whose writing
transaction that snapshot did not see (the column ``board_xact``, the writer's top-level transaction id, stamped by
a trigger — ``tenants/0024``; deleting a rollup row stamps its school), and every school with an exception or drift
this year (those two are aggregates of other tables, read afresh whenever they are not zero; a school not returned
has none). The answer is the same as reading every row again, in the same statement as the check, whatever commits
meanwhile: a transaction still running when the rows were read is not in their snapshot, so its rows are asked for
again once it has committed. Only outside a transaction (a request in autocommit sees committed rows only); a scope
kept longer than ``HOCBA_BOARD_ROWS_SECONDS`` or read from another database, server start or table is read whole
again."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.db import connection
from hocba.kernel.recordstates import STATES

from ..arrays import array_literal as _array

ROLLUP_FIELDS = {
    "students": "students",
    "classes": "classes",
    "archived": "records_archived",
    "sheets_required_term1": "sheets_required_term1",
    "sheets_done_term1": "sheets_done_term1",
    "sheets_required_term2": "sheets_required_term2",
    "sheets_done_term2": "sheets_done_term2",
    "conduct_done_term1": "conduct_done_term1",
    "conduct_done_term2": "conduct_done_term2",
    "profile_complete": "profile_complete",
    "edits_after_approval": "edits_after_approval",
    **{s: f"records_{s}" for s in STATES},
}

# The year's exceptions and last reconciliation's drift, each aggregated once over the schools of the
# scope (``%(ids)s``) and joined; parameters ``year`` and ``ids``.
_DERIVED = """
WITH scope AS (SELECT unnest(%(ids)s::bigint[]) AS id),
ex AS (
  SELECT x.school_id,
         count(*) FILTER (WHERE x.status = 'requested') AS open_requests,
         count(*) FILTER (WHERE x.status = 'approved') AS approved
    FROM public.tenants_windowexception x JOIN public.tenants_window w ON w.id = x.window_id
   WHERE w.year_start = %(year)s AND x.school_id IN (SELECT id FROM scope)
   GROUP BY x.school_id
),
dr AS (
  SELECT d.school_id, count(*) AS n
    FROM public.tenants_rollupdrift d
    JOIN public.tenants_schoolrollup r
      ON r.school_id = d.school_id AND r.year_start = d.year_start AND r.reconciled_at = d.found_at
   WHERE d.year_start = %(year)s AND d.school_id IN (SELECT id FROM scope)
   GROUP BY d.school_id
)
"""
_JOINS = """
  JOIN public.tenants_school s ON s.id = scope.id
  LEFT JOIN public.tenants_schoolrollup r ON r.school_id = s.id AND r.year_start = %(year)s
  LEFT JOIN ex ON ex.school_id = s.id
  LEFT JOIN dr ON dr.school_id = s.id
"""
_SCHEMA = (
    "CASE WHEN coalesce(s.schema_error, '') <> '' THEN 'failed'"
    " WHEN s.schema_head IS DISTINCT FROM %(head)s THEN 'behind' ELSE 'ok' END"
)
_FIGURES = {
    **{k: f"coalesce(r.{c}, 0)" for k, c in ROLLUP_FIELDS.items()},
    "open_requests": "coalesce(ex.open_requests, 0)",
    "approved_exceptions": "coalesce(ex.approved, 0)",
    "drift": "coalesce(dr.n, 0)",
}
# a time as whole seconds since the epoch (a float8 date_part: a numeric extract cost several milliseconds over
# thousands of rows); shown to the minute, sorted to the second
_SECONDS = "floor(date_part('epoch', %s))::bigint"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def moment(seconds: int | None) -> dt.datetime | None:
    """A time the query returned as seconds since the epoch, as a datetime."""
    return None if seconds is None else _EPOCH + dt.timedelta(seconds=seconds)


# One school's columns as the query returns them, in order: the name, the SQL.
_COLUMNS = (
    ("id", "s.id"),
    ("name", "s.name"),
    ("search", "s.search_name"),
    ("moet_code", "s.moet_code"),
    ("levels", "array_to_string(s.levels, ',')"),  # text: one string, no list per school
    ("status", "s.status"),
    ("schema", _SCHEMA),
    ("has_rollup", "r.id IS NOT NULL"),
    *_FIGURES.items(),
    # times as seconds since the epoch: thousands of timestamps cost far more to read as datetimes than as
    # integers; only the shown rows turn them back (``moment``)
    ("updated_at", _SECONDS % "r.updated_at"),
    ("reconciled_at", _SECONDS % "r.reconciled_at"),
    ("lock_at", _SECONDS % "r.lock_at"),  # the year's last lock, copied from its snapshot (tenants/0023)
    ("lock_records", "r.lock_records"),
    ("lock_approved", "r.lock_approved"),
)
AT = {name: i for i, (name, _sql) in enumerate(_COLUMNS)}
_SELECT = "SELECT " + ", ".join(sql for _name, sql in _COLUMNS)
_SCHOOLS_SQL = _DERIVED + _SELECT + " FROM scope" + _JOINS

# This statement's snapshot and where it reads from (a server started again, a table made anew: nothing kept holds).
_NOW = """,
now AS (SELECT pg_current_snapshot()::text AS seen,
               concat_ws(':', current_database(), pg_postmaster_start_time(),
                         'public.tenants_school'::regclass::oid,
                         'public.tenants_schoolrollup'::regclass::oid) AS origin)
"""
# Every row of the scope, and the snapshot (one row more).
_ALL_SQL = (
    _DERIVED
    + _NOW
    + ", changed AS ("
    + _SELECT
    + " FROM scope"
    + _JOINS
    + ") SELECT changed.*, now.seen, now.origin FROM now LEFT JOIN changed ON true"
)
# The rows of the scope written since the snapshot ``%(seen)s`` — a school or rollup row of a transaction it did not
# see (nothing older than the snapshot's oldest running transaction can be one), found before the rows are joined —
# and of every school with an exception or drift; then the snapshot (always one row).
_SINCE_SQL = (
    _DERIVED
    + _NOW
    + """,
hit AS (
  SELECT s.id FROM scope JOIN public.tenants_school s ON s.id = scope.id
   WHERE s.board_xact >= pg_snapshot_xmin(%(seen)s::pg_snapshot)
     AND NOT pg_visible_in_snapshot(s.board_xact, %(seen)s::pg_snapshot)
  UNION
  SELECT r.school_id FROM scope JOIN public.tenants_schoolrollup r ON r.school_id = scope.id
   WHERE r.year_start = %(year)s AND r.board_xact >= pg_snapshot_xmin(%(seen)s::pg_snapshot)
     AND NOT pg_visible_in_snapshot(r.board_xact, %(seen)s::pg_snapshot)
  UNION SELECT school_id FROM ex
  UNION SELECT school_id FROM dr
),
changed AS ("""
    + _SELECT
    + " FROM hit scope"
    + _JOINS
    + ") SELECT changed.*, now.seen, now.origin FROM now LEFT JOIN changed ON true"
)

# the aggregates of other tables, read afresh whenever not zero
_SPARSE_AT = (AT["open_requests"], AT["approved_exceptions"], AT["drift"])


def _with_ids(sql: str, ids: str) -> str:
    """The scope's ids written into the statement (an ``array_literal``: digits, commas and braces only), not sent as
    a parameter: a prepared statement's generic plan does not know how many there are, and planned for ten."""
    return sql.replace("%(ids)s", f"'{ids}'")


def fetch_rows(school_ids, *, year: int, head: str) -> list[tuple]:
    """Every school of ``school_ids`` with its figures, read now."""
    with connection.cursor() as cursor:
        # a set: the scope's ids are joined as they come, a duplicate would repeat its school
        cursor.execute(_with_ids(_SCHOOLS_SQL, _array(set(school_ids))), {"year": year, "head": head})
        return cursor.fetchall()


class _Kept:
    __slots__ = ("rows", "seen", "origin", "since", "sparse")

    def __init__(self, since: float) -> None:
        self.since = since
        self.forget()

    def forget(self) -> None:
        self.rows: dict[int, tuple] = {}
        self.seen: str | None = None
        self.origin = ""
        self.sparse: set[int] = set()  # the schools whose kept row has exceptions or drift


_KEPT: OrderedDict[tuple, _Kept] = OrderedDict()
_MOST = 32  # scopes kept; the least recently served goes first
_LOCK = threading.Lock()
_ZEROS = dict.fromkeys(_SPARSE_AT, 0)
# rows the last call read from the database, for the tests and the bench to see what the kept rows saved
last_read = 0


_SNAPSHOT = re.compile(r"\d+:\d+:[\d,]*")


def _refresh(kept: _Kept, ids: str, *, year: int, head: str) -> None:
    """Bring ``kept`` up to date. The scope's ids and the snapshot are written into the statement as literals, not
    sent as parameters: a prepared statement's generic plan knows neither the number of ids nor the snapshot, and
    ran 4 to 5 times slower than the plan made for them; the text changes with the snapshot, so it is planned anew."""
    global last_read
    sql = _with_ids(_ALL_SQL if kept.seen is None else _SINCE_SQL, ids)
    if kept.seen is not None:
        if not _SNAPSHOT.fullmatch(kept.seen):
            raise ValueError(f"not a snapshot: {kept.seen!r}")
        sql = sql.replace("%(seen)s", f"'{kept.seen}'")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"year": year, "head": head})
        result = cursor.fetchall()
    seen, origin = result[0][-2], result[0][-1]
    if kept.seen is not None and origin != kept.origin:  # another server or table: nothing kept holds
        kept.forget()
        _refresh(kept, ids, year=year, head=head)
        return
    rows, returned, sparse = kept.rows, set(), set()
    for r in result:
        if r[0] is None:  # nothing written since: the one row of the snapshot
            continue
        row = r[:-2]
        rows[row[0]] = row
        returned.add(row[0])
        if row[_SPARSE_AT[0]] or row[_SPARSE_AT[1]] or row[_SPARSE_AT[2]]:
            sparse.add(row[0])
    for school_id in kept.sparse - returned:  # its exceptions and drift are gone: not returned means none
        rows[school_id] = tuple(_ZEROS.get(i, v) for i, v in enumerate(rows[school_id]))
    kept.seen, kept.origin, kept.sparse = seen, origin, sparse
    last_read = len(returned)


def school_rows(school_ids, *, year: int, head: str) -> list[tuple]:
    """Every school of ``school_ids`` with its figures, as current as reading them now (:data:`AT` names the
    columns), from the rows kept for this scope when the request is outside a transaction."""
    global last_read
    seconds = settings.HOCBA_BOARD_ROWS_SECONDS
    if seconds <= 0 or connection.in_atomic_block or not connection.get_autocommit():
        rows = fetch_rows(school_ids, year=year, head=head)
        last_read = len(rows)
        return rows
    ids = frozenset(school_ids)
    key = (connection.settings_dict["NAME"], year, head, ids)
    now = time.monotonic()
    with _LOCK:
        kept = _KEPT.get(key)
        if kept is None or now - kept.since >= seconds:
            kept = _Kept(now)
            _KEPT[key] = kept
            while len(_KEPT) > _MOST:
                _KEPT.popitem(last=False)
        _KEPT.move_to_end(key)
        try:
            _refresh(kept, _array(ids), year=year, head=head)
        except BaseException:
            _KEPT.pop(key, None)  # half brought up to date: read whole next time
            raise
        return list(kept.rows.values())
