"""The province and unit boards over 3,000 schools (issue 14, DESIGN §3): ``boards``.

``python -m bench.boards_bench --scale full|small|tiny [--results-dir DIR] [--keep]``; ``bench.run`` (``make bench
BENCH=boards``) starts it in a child process because it runs against its own database: ``<bench db>_boards``
(``hocba_bench_boards`` by default) or ``BENCH_BOARDS_DATABASE_URL``; dropped and re-created at the start, dropped at
the end unless ``--keep`` / ``BENCH_BOARDS_KEEP=1``.

Setup, as the database owner: the public schema, roles and template; one school with a 45-student class and its
mathematics sheet (``bench.sheets.build_world``); a sample of real school schemas by ``school_create``
(``bench.provision.fill``); then, by bulk SQL, synthetic schools up to 3,000 in all, spread over units of the bench
province, each with its public rows — ``SchoolRollup``, ``ClassRollup`` per class, ``ResultDistribution`` cells,
``RollupDay`` per day, ``ComplianceSnapshot`` at two locks — and the accounts: a province admin (with TOTP, as
required) and one officer per unit. Measured as the application's login (``hocba_app``), like production:

* the province board and a unit board (``/manage/board/``, ``tenants.views.boards``) through the Django test client:
  the whole request (middleware, access profile, the selector's query, the template), server time in-process. The web
  process keeps the schools' rows and reads only those written since its last view (``tenants.selectors.boards.query``),
  so the province board is timed twice more: with 10% of its schools, drawn at random, writing their rollup row before
  each view, and as a process's first view (every row read). value = the province board's p95, the worse of nothing
  written and 10% written (goal ≤ 50 ms; the unit board's ≤ 20 ms). Their query counts are reported (and
  asserted constant by ``tests/tenants/test_boards.py``);
* baseline in the same run: the naive board, entering every real school schema and counting its figures
  (``tenants.perschool.rollup_figures``, the reconciliation's own counting), timed over the sample and scaled to
  3,000 schools; ratio = naive / board p95. The sample's schemas hold few rows, so the naive figure is a lower bound;
* freshness: a sheet save commits, and the school's public row read right after it holds the save's entries (the
  same-transaction rollup); the stale-class drain, when the code has one (``tenants.rollup_outbox``/``tenants.tasks``),
  is timed from the save's commit to the class row drained;
* the reconciliation (``tenants.tasks.rollups_reconcile_chunk``, what the beat fans out) over every real schema,
  per school, scaled to 3,000;
* the sheet save's p95 while the reconciliation loops over the real schools in another thread (its chain lock is
  what a save waits for), against the same save without it, alternating blocks;
* the statistics page (``tenants.views.statistics``) when it exists.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.util
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import common, rollup_modes
from .common import Deadline, Result, fmt, say, summary

NAMES = ("boards",)
PLATFORM_HOST = "hocba.localhost"
BOARD_URL = "/manage/board/"
PROVINCE_GOAL_MS = 50.0
UNIT_GOAL_MS = 20.0
DRAIN_GOAL_S = 5.0
GOAL = (
    "province board p95 ≤ 50 ms and unit board p95 ≤ 20 ms server time over 3,000 schools; rollups fresh at commit; "
    "stale classes drained ≤ 5 s"
)


@dataclass(frozen=True)
class BoardScale:
    name: str
    schools: int  # in all, real and synthetic
    real: int  # real school schemas (school_create), besides the sheet's school
    units: int  # units of the bench province the synthetic schools are spread over
    classes: int  # ClassRollup rows per synthetic school
    days: int  # RollupDay rows per synthetic school
    warmup: int
    runs: int  # board requests timed, per board
    naive_runs: int  # passes of the per-school live loop over the real schools
    reconcile_runs: int
    save_rounds: int  # rounds of (block with the reconciliation running, block without), order alternating
    save_block: int
    fill_workers: int = 2
    fill_deadline: float = 20 * 60
    deadline: float = 300.0  # per measured loop


SCALES = {
    "full": BoardScale(
        "full",
        schools=3000,
        real=100,
        units=30,
        classes=15,
        days=120,
        warmup=3,
        runs=20,
        naive_runs=3,
        reconcile_runs=3,
        save_rounds=6,
        save_block=10,
        deadline=600.0,
    ),
    "small": BoardScale(
        "small",
        schools=3000,
        real=10,
        units=30,
        classes=12,
        days=20,
        warmup=1,
        runs=6,
        naive_runs=2,
        reconcile_runs=2,
        save_rounds=4,
        save_block=5,
        fill_deadline=30.0,
        deadline=15.0,
    ),
    "tiny": BoardScale(
        "tiny",
        schools=60,
        real=2,
        units=3,
        classes=3,
        days=3,
        warmup=1,
        runs=3,
        naive_runs=1,
        reconcile_runs=1,
        save_rounds=2,
        save_block=2,
        fill_workers=1,
        fill_deadline=60.0,
        deadline=20.0,
    ),
}


def database_url() -> str:
    """``BENCH_BOARDS_DATABASE_URL``; else the bench database with ``_boards`` appended."""
    return common.derived_database_url("BENCH_BOARDS_DATABASE_URL", "_boards")


def launch(names: list[str], scale: str, results_dir: Path) -> int:
    return common.launch_module("bench.boards_bench", names, scale, results_dir, "board")


def _owner() -> tuple[str, str]:
    from django.db import connections

    d = connections["default"].settings_dict
    return d["USER"], d["PASSWORD"]


# --- the province: real schools, synthetic ones, their public rows, the accounts ----------------------------------


def _units(province_id: int, count: int) -> list[int]:
    from tenants.models import AdministrativeUnit, UnitKind
    from tenants.services.units import unit_create

    province = AdministrativeUnit.objects.get(pk=province_id)
    return [
        unit_create(
            actor=None,
            kind=UnitKind.COMMUNE,
            name=f"Xã Bench Bảng {k + 1:02d}",
            official_code=f"BENCH-B{k + 1:02d}",
            parent=province,
        ).pk
        for k in range(count)
    ]


SYNTHETIC_SQL = """
WITH made AS (
  INSERT INTO tenants_school
    (schema_name, moet_code, name, search_name, slug, levels, status, created_on, schema_head, schema_error)
  SELECT 'bench_syn_' || lpad(i::text, 5, '0'), 'BS' || lpad(i::text, 8, '0'), 'Trường Bench tổng hợp số ' || i,
         'truong bench tong hop so ' || i, 'bench-syn-' || lpad(i::text, 5, '0'),
         CASE i %% 3 WHEN 0 THEN ARRAY['primary'] WHEN 1 THEN ARRAY['lower_secondary']
                     ELSE ARRAY['upper_secondary'] END,
         'active', DATE '2025-07-01',
         CASE WHEN i %% 97 = 0 THEN 'behind' ELSE %(head)s END, CASE WHEN i %% 211 = 0 THEN 'failed' ELSE '' END
  FROM generate_series(1, %(count)s) AS i
  RETURNING id
)
SELECT array_agg(id ORDER BY id) FROM made
"""


def _synthetic(scale: BoardScale, units: list[int], count: int, year: int, head: str) -> dict:
    """``count`` schools with no schema, placed over ``units``, and the public rows of each, by bulk SQL; the seconds
    each step took and the rows made."""
    from django.db import connection, transaction

    out: dict = {}
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SYNTHETIC_SQL, {"head": head, "count": count})
        ids = cursor.fetchone()[0] or []
        cursor.execute(
            "INSERT INTO tenants_schoolplacement (school_id, unit_id, valid_from)"
            " SELECT s, (%s::bigint[])[1 + (n - 1) %% %s], current_date"
            " FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(s, n)",
            [units, len(units), ids],
        )
    out["schools_seconds"] = time.perf_counter() - t
    steps = {
        "schoolrollup": (
            "INSERT INTO tenants_schoolrollup (school_id, year_start, students, records_draft, records_submitted,"
            " records_approved, records_signed, records_locked, entries, entries_term1, entries_term2,"
            " conduct_entries, absences, classes, records_reopened, profile_complete, sheets_required_term1,"
            " sheets_done_term1, sheets_required_term2, sheets_done_term2, conduct_done_term1, conduct_done_term2,"
            " records_archived, edits_after_approval, edits_counted_to, updated_at, reconciled_at)"
            " SELECT s, %(year)s, 400 + s %% 300, 100 + s %% 50, 50 + s %% 40, 150 + s %% 90, s %% 60, s %% 20,"
            " 9000 + s %% 999, 6000, 3000 + s %% 999, 700, s %% 500, %(classes)s, s %% 7, 350 + s %% 50,"
            " %(classes)s * 12, %(classes)s * 12 - s %% 30, %(classes)s * 12, s %% (%(classes)s * 12), 400, s %% 400,"
            " 0, s %% 11, 0, now() - (s %% 600) * interval '1 minute', now() - interval '20 minutes'"
            " FROM unnest(%(ids)s::bigint[]) AS s"
        ),
        "classrollup": (
            "INSERT INTO tenants_classrollup (school_id, year_start, class_id, name, grade, students, records_draft,"
            " records_submitted, records_approved, records_signed, records_locked, sheets_required_term1,"
            " sheets_done_term1, sheets_required_term2, sheets_done_term2, updated_at)"
            " SELECT s, %(year)s, c, (6 + c %% 4) || 'A' || c, 6 + c %% 4, 35, 10, 5, 15, 4, 1, 12, 12 - c %% 3, 12,"
            " c %% 12, now() FROM unnest(%(ids)s::bigint[]) AS s, generate_series(1, %(classes)s) AS c"
        ),
        "resultdistribution": (
            "INSERT INTO tenants_resultdistribution (school_id, year_start, grade, gender, ethnicity, measure, value,"
            " count, updated_at)"
            " SELECT s, %(year)s, g, sex, eth, m, v, 1 + (s + g) %% 40, now()"
            " FROM unnest(%(ids)s::bigint[]) AS s, generate_series(6, 9) AS g, unnest(ARRAY['M', 'F']) AS sex,"
            " unnest(ARRAY['01', '00']) AS eth, unnest(ARRAY['learning', 'conduct']) AS m,"
            " unnest(ARRAY['T', 'K', 'D']) AS v"
        ),
        "rollupday": (
            "INSERT INTO tenants_rollupday (school_id, year_start, day, figures)"
            " SELECT s, %(year)s, current_date - d, jsonb_build_object('students', 400,"
            " 'records', jsonb_build_object('draft', 300 - 10 * (%(days)s - d), 'approved', 10 * (%(days)s - d)),"
            " 'records_total', 300, 'sheets_required_term1', 144, 'sheets_done_term1', 144 - d)"
            " FROM unnest(%(ids)s::bigint[]) AS s, generate_series(1, %(days)s) AS d"
        ),
    }
    params = {"ids": ids, "year": year, "classes": scale.classes, "days": scale.days}
    for table, sql in steps.items():
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            out[f"{table}_rows"] = cursor.rowcount
        out[f"{table}_seconds"] = time.perf_counter() - t
    out["ids"] = ids
    return out


def _snapshots(province_id: int, school_ids: list[int], year: int) -> int:
    """Two locked province windows of the year and a snapshot of every school at each (bulk SQL)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from tenants.models import Window

    now = timezone.now()
    made = 0
    for k, category in enumerate(("scores_1", "conduct")):
        window = Window.objects.create(
            tier="province",
            unit_id=province_id,
            category=category,
            year_start=year,
            opens_at=now - dt.timedelta(days=60 - 10 * k),
            locks_at=now - dt.timedelta(days=20 - 10 * k),
            reason="Bench: lịch đã khóa",
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tenants_compliancesnapshot (window_id, school_id, year_start, locks_at, taken_at, figures)"
                " SELECT %s, s, %s, %s, %s, jsonb_build_object('students', 400, 'records_total', 300,"
                " 'records', jsonb_build_object('draft', 200, 'approved', 100), 'rollup_missing', false)"
                " FROM unnest(%s::bigint[]) AS s",
                [window.pk, year, window.locks_at, window.locks_at, school_ids],
            )
            made += cursor.rowcount
    return made


def _give_totp(account) -> None:
    """An administrator must hold a second factor to open the pages: a TOTP authenticator, as set up at first use."""
    import pyotp
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.models import Authenticator

    Authenticator.objects.get_or_create(
        user=account,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": get_adapter().encrypt(pyotp.random_base32())}},
    )


def _accounts(province_id: int, units: list[int]) -> dict:
    from tenants.models import AdministrativeUnit
    from tenants.services.accounts import account_create

    def make(username: str, role: str, unit_id: int):
        return account_create(
            actor=None,
            username=username,
            full_name=username.replace("-", " ").title(),
            email=f"{username}@bench.hocba.vn",
            password=None,
            role=role,
            unit=AdministrativeUnit.objects.get(pk=unit_id),
        )

    admin = make("so-quantri-bench", "province_admin", province_id)
    _give_totp(admin)
    officers = [make(f"phong-bench-{k + 1:02d}", "unit_staff", unit_id).pk for k, unit_id in enumerate(units)]
    return {"province_admin": admin.pk, "unit_officers": officers}


# --- the measures ---------------------------------------------------------------------------------------------


def _client(account_id: int):
    from django.test import Client

    from tenants.models import Account

    client = Client(HTTP_HOST=PLATFORM_HOST)
    client.force_login(Account.objects.get(pk=account_id), backend="django.contrib.auth.backends.ModelBackend")
    return client


def _timed_gets(client, url: str, *, warmup: int, runs: int, deadline: Deadline, between=None) -> dict:
    """Wall and process CPU time of ``runs`` GETs after ``warmup``; the response's size and the statements of one.
    ``between()``, untimed, before each timed GET (writes, or the kept rows forgotten)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    captured = [q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")]
    statements = [q["sql"] for q in captured]
    sql_ms = sum(float(q["time"]) for q in captured) * 1000
    wall, cpu = [], []
    for _ in range(runs):
        if deadline.passed():
            break
        if between is not None:
            between()
        t, c = time.perf_counter(), time.process_time()
        response = client.get(url)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {
        "wall_ms": summary(wall),
        "cpu_ms": summary(cpu),
        "queries": len(statements),
        "sql_ms_one_request": sql_ms,
        "bytes": len(response.content),
    }


BUSY_SHARE = 0.10  # of the province's schools written between two views of the board


def _writes(school_ids: list[int], year: int):
    """Between two views of the board, ``BUSY_SHARE`` of the schools, drawn at random, write their rollup row (one
    committed statement: as many saves, for what the board reads)."""
    import random

    from django.db import connection

    rng = random.Random(14)
    count = max(1, round(len(school_ids) * BUSY_SHARE))

    def write():
        chosen = rng.sample(school_ids, min(count, len(school_ids)))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE public.tenants_schoolrollup SET entries = entries + 1, updated_at = now()"
                " WHERE year_start = %s AND school_id = ANY(%s::bigint[])",
                [year, chosen],
            )

    write.count = count
    return write


def _forget_kept_rows() -> None:
    """A web process that has not served the scope yet (or whose kept rows expired): every row read."""
    from tenants.selectors.boards import query

    query._KEPT.clear()


def _selector_ms(account_id: int, *, runs: int, unit_id: int | None = None) -> dict:
    """The board's selector alone (``tenants.selectors.boards.board``: the one query and the rows in memory)."""
    from hocba.kernel.schoolyear import current_school_year

    from tenants import provisioning
    from tenants.models import Account
    from tenants.selectors import boards
    from tenants.selectors.access import access_for

    acc = access_for(Account.objects.get(pk=account_id))
    head = provisioning.migration_head().digest
    scope = acc.schools_with(boards.CAPABILITY)
    years, year = boards.board_years(scope, current=current_school_year())
    filters = boards.BoardFilters(unit_id=unit_id)
    times, rows = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        data = boards.board(acc, year=year, years=years, head=head, filters=filters)
        times.append((time.perf_counter() - t) * 1000)
        rows = len(data.schools)
    return {**summary(times), "schools": rows, "scope": len(scope)}


STAMP_WRITES = 1500  # rollup writes timed per block


def _stamp_cost(url: str, year: int, rounds: int, writes: int) -> dict:
    """What the board's stamp costs a rollup write (``tenants/0024``: a trigger and an index on the writing
    transaction): a sheet save's rollup upsert (``tenants.rollups.rollup_add``'s statement, in its own transaction)
    timed with the trigger and index and without them, alternating blocks, on the bench's own database as its owner;
    both are back in place at the end."""
    import random

    import psycopg

    upsert = (
        "INSERT INTO public.tenants_schoolrollup AS r (school_id, year_start, entries, updated_at)"
        " VALUES (%s, %s, 1, now()) ON CONFLICT (school_id, year_start)"
        " DO UPDATE SET entries = r.entries + EXCLUDED.entries, updated_at = EXCLUDED.updated_at"
    )
    out: dict = {"with": [], "without": [], "writes_per_block": writes}
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT school_id FROM public.tenants_schoolrollup WHERE year_start = %s LIMIT 500", [year]
            )
        ]

        def stamped(on: bool) -> None:
            if on:
                conn.execute(
                    "CREATE INDEX IF NOT EXISTS schoolrollup_board_xact"
                    " ON public.tenants_schoolrollup (year_start, board_xact)"
                )
                conn.execute("ALTER TABLE public.tenants_schoolrollup ENABLE TRIGGER schoolrollup_board_xact")
            else:
                conn.execute("DROP INDEX IF EXISTS schoolrollup_board_xact")
                conn.execute("ALTER TABLE public.tenants_schoolrollup DISABLE TRIGGER schoolrollup_board_xact")
            conn.execute("VACUUM public.tenants_schoolrollup")

        try:
            rng = random.Random(24)
            for r in range(rounds):
                for on in (False, True) if r % 2 == 0 else (True, False):
                    stamped(on)
                    times = []
                    for _ in range(writes):
                        t = time.perf_counter()
                        with conn.transaction():
                            conn.execute(upsert, (rng.choice(ids), year))
                        times.append((time.perf_counter() - t) * 1e6)
                    out["with" if on else "without"].extend(times)
        finally:
            stamped(True)
    with_, without = summary(out.pop("with")), summary(out.pop("without"))
    return {
        **out,
        "with_us": with_,
        "without_us": without,
        "p50_added_us": with_["p50"] - without["p50"] if with_["p50"] and without["p50"] else None,
        "p95_added_us": with_["p95"] - without["p95"] if with_["p95"] and without["p95"] else None,
    }


def _naive(real: list[tuple[int, str]], runs: int, deadline: Deadline) -> dict:
    """The naive board: into every school schema, counting (the reconciliation's own figures), one school after the
    other; per pass over the sample, and per school."""
    from tenants import perschool

    passes, per_school = [], []
    for _ in range(runs):
        if deadline.passed():
            break
        t = time.perf_counter()
        for _pk, schema in real:
            s = time.perf_counter()
            perschool.rollup_figures(schema)
            per_school.append((time.perf_counter() - s) * 1000)
        passes.append((time.perf_counter() - t) * 1000)
    return {"pass_ms": summary(passes), "per_school_ms": summary(per_school), "schools": len(real)}


def _reconcile(real: list[tuple[int, str]], runs: int, deadline: Deadline) -> dict:
    from tenants import tasks

    passes, per_school = [], []
    for r in range(runs):
        if deadline.passed():
            break
        t = time.perf_counter()
        for school in real:
            s = time.perf_counter()
            tasks.rollups_reconcile_chunk([list(school)], f"bench-{r}")
            per_school.append((time.perf_counter() - s) * 1000)
        passes.append((time.perf_counter() - t) * 1000)
    return {"pass_ms": summary(passes), "per_school_ms": summary(per_school), "schools": len(real)}


def _stale_drain():
    """The drain of stale classes (``ClassRollup.stale_since``) when the code has one: a function of
    ``tenants.rollup_outbox`` or ``tenants.tasks`` whose name says it drains stale classes; None otherwise."""
    for module_name in ("tenants.rollup_outbox", "tenants.tasks"):
        module = importlib.import_module(module_name)
        for name in sorted(dir(module)):
            lowered = name.lower()
            if "drain" in lowered and ("stale" in lowered or "class" in lowered) and callable(getattr(module, name)):
                return f"{module_name}.{name}", getattr(module, name)
    return None


def _filled(cells: list[dict]) -> int:
    return sum(1 for c in cells if str(c.get("value", "")).strip())


def _freshness(world, scale: BoardScale, make_cells) -> dict:
    """Sheet saves commit, each clearing or filling a column (``rollup_modes.counting_cells``); the school's public
    row read right after each commit must have moved by the cells the save filled or cleared (same transaction)."""
    from django.db import connection

    from tenants.models import ClassRollup, SchoolRollup

    from . import sheets

    ref = world.one
    school_id = world.school.pk

    def entries() -> int:
        connection.set_schema_to_public()
        try:
            return SchoolRollup.objects.filter(school_id=school_id).values_list("entries", flat=True).first() or 0
        finally:
            connection.set_tenant(world.school)

    fresh, lags, seen, expected = 0, [], [], []
    runs = max(4, scale.save_block)
    previous = _filled(ref.last_cells)
    with sheets.acting_as(ref):
        for _ in range(runs):
            before = entries()
            cells = make_cells()
            sheets.save(ref, cells)
            t = time.perf_counter()
            after = entries()
            lags.append((time.perf_counter() - t) * 1000)
            now_filled = _filled(cells)
            seen.append(after - before)
            expected.append(now_filled - previous)
            fresh += after - before == now_filled - previous and now_filled != previous
            previous = now_filled
    out: dict = {
        "saves": runs,
        "public_row_current_at_commit": fresh == runs,
        "current_at_commit": fresh,
        "read_after_commit_ms": summary(lags),
        "entries_delta_seen": seen[:10],
        "entries_delta_expected": expected[:10],
    }
    found = _stale_drain()
    if found is None:
        out["stale_class_drain"] = {
            "measured": False,
            "note": "no drain of stale classes in tenants.rollup_outbox or tenants.tasks yet: not measurable",
        }
        return out
    name, drain = found
    drained_s, still_stale = [], 0
    deadline = Deadline(min(scale.deadline, 60.0))
    with sheets.acting_as(ref):
        for _ in range(3):
            if deadline.passed():
                break
            connection.set_tenant(world.school)
            sheets.save(ref, make_cells())
            committed = time.perf_counter()
            connection.set_schema_to_public()
            try:
                drain()
            except TypeError:
                drain([[school_id, world.school.schema_name]])
            drained_s.append(time.perf_counter() - committed)
            still_stale += ClassRollup.objects.filter(school_id=school_id, stale_since__isnull=False).count()
    connection.set_tenant(world.school)
    stats = summary(drained_s)
    out["stale_class_drain"] = {
        "measured": True,
        "function": name,
        "seconds_from_commit_to_drained": stats,
        "left_stale": still_stale,
        "goal_met": bool(stats["p95"] is not None and stats["p95"] <= DRAIN_GOAL_S and still_stale == 0),
        "note": "the drain called right after the save's commit; the beat's period comes on top",
    }
    return out


def _save_while_reconciling(world, real: list[tuple[int, str]], scale: BoardScale, make_cells) -> dict:
    """Sheet saves with the reconciliation looping over the real schools (the sheet's school among them) in another
    thread and connection, against the same saves without it; alternating blocks."""
    from django.db import connection, connections

    from tenants import tasks

    from . import sheets

    ref = world.one
    schools = [*real, (world.school.pk, world.school.schema_name)]
    running = threading.Event()
    stop = threading.Event()
    passes = [0]
    errors: list[str] = []

    def reconciler() -> None:
        try:
            while not stop.is_set():
                if not running.wait(0.05):
                    continue
                for school in schools:
                    if stop.is_set() or not running.is_set():
                        break
                    tasks.rollups_reconcile_chunk([list(school)], "bench-save")
                passes[0] += 1
        except Exception as exc:  # reported in the result: the measure is void then
            errors.append(repr(exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=reconciler, name="bench-reconcile", daemon=True)
    thread.start()
    got: dict[bool, list[float]] = {True: [], False: []}
    deadline = Deadline(scale.deadline)
    try:
        connection.set_tenant(world.school)
        with sheets.acting_as(ref):
            for _ in range(3):
                sheets.save(ref, make_cells())
            for r in range(scale.save_rounds):
                if deadline.passed():
                    break
                for state in (True, False) if r % 2 == 0 else (False, True):
                    if state:
                        running.set()
                        time.sleep(0.05)
                    else:
                        running.clear()
                        time.sleep(0.05)
                    for _ in range(scale.save_block):
                        t = time.perf_counter()
                        sheets.save(ref, make_cells())
                        got[state].append((time.perf_counter() - t) * 1000)
    finally:
        running.clear()
        stop.set()
        thread.join(timeout=60)
    on, off = summary(got[True]), summary(got[False])
    return {
        "with_reconciliation_ms": on,
        "without_ms": off,
        "overhead_p95_ms": on["p95"] - off["p95"] if on["p95"] is not None and off["p95"] is not None else None,
        "overhead_p50_ms": on["p50"] - off["p50"] if on["p50"] is not None and off["p50"] is not None else None,
        "reconciliation_passes_meanwhile": passes[0],
        "schools_reconciled_per_pass": len(schools),
        "errors": errors,
        "values_per_save": ref.values,
    }


def _statistics(account_id: int, scale: BoardScale, deadline: Deadline) -> dict:
    """The statistics page's GET (no parameter) of ``tenants.views.statistics``, when that module exists."""
    if importlib.util.find_spec("tenants.views.statistics") is None:
        return {"measured": False, "note": "tenants/views/statistics.py does not exist yet"}
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                view = getattr(p.callback, "view_class", None) or p.callback
                if getattr(view, "__module__", "") == "tenants.views.statistics" and not p.pattern.converters:
                    yield "/" + prefix + str(p.pattern)

    urls = [u for u in walk(get_resolver("hocba.urls_public").url_patterns, "") if "<" not in u]
    if not urls:
        return {"measured": False, "note": "tenants.views.statistics is routed nowhere without parameters"}
    client = _client(account_id)
    out = {"measured": True, "pages": {}}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            out["pages"][url] = {"status": response.status_code}
            continue
        out["pages"][url] = _timed_gets(client, url, warmup=0, runs=max(3, scale.runs // 2), deadline=deadline)
    return out


# --- the run --------------------------------------------------------------------------------------------------


def run(scale: BoardScale, results_dir: Path, machine: dict, url: str) -> Result:
    from django.conf import settings
    from django.db import connection
    from hocba.kernel.schoolyear import current_school_year

    from tenants import provisioning
    from tenants.models import School, SchoolPlacement, UnitVersion

    from . import provision, sheets

    owner = _owner()
    setup: dict = {}
    t = time.perf_counter()
    world = sheets.build_world(sheets.SCALES["small"], ["sheet_save_one"], url)  # ends logged in as the application
    setup["sheet_school_seconds"] = time.perf_counter() - t
    sheets.login_as(*owner)
    connection.set_schema_to_public()
    t = time.perf_counter()
    public = provision.build_public()
    sheets._quiet("db_roles")
    unit_id = public["unit_id"]
    province_id = (
        UnitVersion.objects.filter(unit_id=unit_id, valid_to__isnull=True).values_list("parent_id", flat=True).get()
    )
    setup["public_seconds"] = time.perf_counter() - t
    fill = provision.fill(unit_id, 0, scale.real, workers=scale.fill_workers, deadline=Deadline(scale.fill_deadline))
    say(f"boards: {fill['schools']} real schools by school_create in {fill['seconds']:.1f} s")
    real = list(
        School.objects.filter(pk__in=SchoolPlacement.objects.filter(unit_id=unit_id).values("school_id"))
        .order_by("pk")
        .values_list("pk", "schema_name")
    )
    year = current_school_year()
    head = provisioning.migration_head().digest
    units = _units(province_id, scale.units)
    synthetic_count = max(0, scale.schools - len(real))  # the sheet's school is in a province of its own
    syn = _synthetic(scale, units, synthetic_count, year, head)
    ids = syn.pop("ids")
    snapshots = _snapshots(province_id, ids + [pk for pk, _s in real], year)
    accounts = _accounts(province_id, [unit_id, *units])
    in_province = School.objects.filter(
        pk__in=SchoolPlacement.objects.filter(unit_id__in=[unit_id, *units], valid_to__isnull=True).values("school_id")
    ).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    say(
        f"boards: {in_province} schools in the bench province ({len(real)} real, {len(ids)} synthetic) over "
        f"{len(units) + 1} units; {syn['classrollup_rows']} class rows, {syn['rollupday_rows']} daily rows, "
        f"{syn['resultdistribution_rows']} distribution cells, {snapshots} snapshots"
    )

    # Measured as the application, like production.
    sheets.login_as(settings.DB_APP_USER, settings.DB_APP_PASSWORD)
    connection.set_schema_to_public()
    user = sheets.current_user()
    # as a web worker does once the application is loaded (gunicorn's post_worker_init, hocba.kernel.gcsettle)
    from hocba.kernel import gcsettle

    frozen = gcsettle.settle()
    say(f"boards: {frozen} objects set aside from the garbage collector, as a web worker does at start")
    province = _timed_gets(
        _client(accounts["province_admin"]),
        BOARD_URL,
        warmup=scale.warmup,
        runs=scale.runs,
        deadline=Deadline(scale.deadline),
    )
    province_busy = _timed_gets(
        _client(accounts["province_admin"]),
        BOARD_URL,
        warmup=1,
        runs=scale.runs,
        deadline=Deadline(scale.deadline),
        between=_writes([school_id for school_id, _schema in real] + list(ids), year),
    )
    province_cold = _timed_gets(
        _client(accounts["province_admin"]),
        BOARD_URL,
        warmup=1,
        runs=max(3, scale.runs // 2),
        deadline=Deadline(scale.deadline),
        between=_forget_kept_rows,
    )
    officer = accounts["unit_officers"][1] if len(accounts["unit_officers"]) > 1 else accounts["unit_officers"][0]
    unit_board = _timed_gets(
        _client(officer), BOARD_URL, warmup=scale.warmup, runs=scale.runs, deadline=Deadline(scale.deadline)
    )
    province_selector = _selector_ms(accounts["province_admin"], runs=max(3, scale.runs // 2))
    unit_selector = _selector_ms(officer, runs=max(3, scale.runs))
    naive = _naive(real, scale.naive_runs, Deadline(scale.deadline))
    naive_per_school = naive["per_school_ms"]["p50"]
    naive_scaled = naive_per_school * in_province if naive_per_school is not None else None
    say(
        f"boards: province board p50 {fmt(province['wall_ms']['p50'], 1)} ms p95 {fmt(province['wall_ms']['p95'], 1)} "
        f"ms ({province['queries']} queries, {province_selector['schools']} schools); unit board p50 "
        f"{fmt(unit_board['wall_ms']['p50'], 1)} p95 {fmt(unit_board['wall_ms']['p95'], 1)} ms "
        f"({unit_board['queries']} queries, {unit_selector['schools']} schools); naive loop "
        f"{fmt(naive_per_school, 2)} ms/school → {fmt(naive_scaled, 0)} ms for {in_province}"
    )
    say(
        f"boards: province board with {round(BUSY_SHARE * 100)}% of the schools written between views p50 "
        f"{fmt(province_busy['wall_ms']['p50'], 1)} p95 {fmt(province_busy['wall_ms']['p95'], 1)} ms; a process's "
        f"first view (every row read) p50 {fmt(province_cold['wall_ms']['p50'], 1)} p95 "
        f"{fmt(province_cold['wall_ms']['p95'], 1)} ms"
    )
    connection.set_tenant(world.school)
    make_cells = rollup_modes.counting_cells(world.one.next_cells, world.one.columns[-1][0])
    fresh = _freshness(world, scale, make_cells)
    connection.set_schema_to_public()
    reconcile = _reconcile(
        [*real, (world.school.pk, world.school.schema_name)], scale.reconcile_runs, Deadline(scale.deadline)
    )
    per_school = reconcile["per_school_ms"]["p50"]
    reconcile_scaled_s = per_school * scale.schools / 1000 if per_school is not None else None
    say(
        f"boards: reconciliation {fmt(per_school, 1)} ms/school (p50 over {reconcile['schools']} schools) → "
        f"{fmt(reconcile_scaled_s, 1)} s for {scale.schools} schools, one worker"
    )
    overhead = _save_while_reconciling(world, real, scale, make_cells)
    connection.set_schema_to_public()
    stats = _statistics(accounts["province_admin"], scale, Deadline(scale.deadline))
    full = scale.name.startswith("full")
    stamp = _stamp_cost(url, year, rounds=4 if full else 2, writes=STAMP_WRITES if full else 100)
    say(
        f"boards: a rollup write p50 {fmt(stamp['with_us']['p50'], 0)} µs with the board's stamp (trigger and index), "
        f"{fmt(stamp['without_us']['p50'], 0)} µs without ({fmt(stamp['p50_added_us'], 0)} µs; p95 "
        f"{fmt(stamp['p95_added_us'], 0)} µs)"
    )

    # the province board's p95, the worse of: nothing written between views, and a tenth of the schools written
    quiet_p95, busy_p95 = province["wall_ms"]["p95"], province_busy["wall_ms"]["p95"]
    value = None if quiet_p95 is None or busy_p95 is None else max(quiet_p95, busy_p95)
    unit_p95 = unit_board["wall_ms"]["p95"]
    drain = fresh["stale_class_drain"]
    goal_met = bool(
        value is not None
        and value <= PROVINCE_GOAL_MS
        and unit_p95 is not None
        and unit_p95 <= UNIT_GOAL_MS
        and fresh["public_row_current_at_commit"]
        and (not drain.get("measured") or drain.get("goal_met"))
        and in_province >= scale.schools
    )
    result = Result(
        name="boards",
        metric=f"ms server time of the province board (/manage/board/, {in_province} schools, a province admin) "
        "through the Django test client in-process: middleware, access profile, selector, template; value = p95, "
        f"the worse of nothing written between views and {round(BUSY_SHARE * 100)}% of the schools written",
        unit="ms",
        value=value,
        baseline={
            "what": f"the naive board: entering every school schema and counting (tenants.perschool.rollup_figures), "
            f"p50 per school over {len(real)} real schemas × {in_province} schools, same run",
            "value": naive_scaled,
        },
        ratio=(naive_scaled / value) if naive_scaled and value else None,
        goal=GOAL,
        scale=scale.name,
        runs=province["wall_ms"]["runs"],
        p50=province["wall_ms"]["p50"] if value == quiet_p95 else province_busy["wall_ms"]["p50"],
        p95=value,
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "ratio_is": "naive per-school loop scaled to the province's schools / province board p95",
        "province_board": {**province, "selector_ms": province_selector, "goal_ms": PROVINCE_GOAL_MS},
        "province_board_busy": {
            **province_busy,
            "what": f"{round(BUSY_SHARE * 100)}% of the schools, drawn at random, write their rollup row before "
            "each view",
        },
        "province_board_first_view": {
            **province_cold,
            "what": "the web process keeps no rows for the scope (its first view, or kept rows expired): every "
            "row read",
        },
        "unit_board": {**unit_board, "selector_ms": unit_selector, "goal_ms": UNIT_GOAL_MS},
        "naive_live_loop": {
            **naive,
            "scaled_ms": naive_scaled,
            "note": "the sample's schemas hold almost no rows: the naive figure is a lower bound",
        },
        "freshness": fresh,
        "board_stamp_on_rollup_writes": stamp,
        "reconciliation": {
            **reconcile,
            "scaled_seconds": reconcile_scaled_s,
            "scaled_to": scale.schools,
            "what": "tenants.tasks.rollups_reconcile_chunk per school (recompute under the chain lock, compare, "
            "overwrite, drift recorded, distributions), one worker, as the application; scaled = p50 × schools",
        },
        "sheet_save_during_reconciliation": overhead,
        "statistics": stats,
        "schools_in_province": in_province,
        "real_schools": len(real),
        "synthetic": syn,
        "snapshots": snapshots,
        "units": len(units) + 1,
        "fill": fill,
        "setup": setup,
        "database_user": user,
        "loadavg": list(os.getloadavg()),
        "rollup_mode": settings.ROLLUP_MODE,
    }
    path = result.write(results_dir, extra)
    say(
        f"boards: freshness at commit {fresh['public_row_current_at_commit']}; stale-class drain "
        f"{'measured' if drain.get('measured') else 'not measurable yet'}; sheet save p95 "
        f"{fmt(overhead['with_reconciliation_ms']['p95'], 1)} ms while reconciling vs "
        f"{fmt(overhead['without_ms']['p95'], 1)} ms (+{fmt(overhead['overhead_p95_ms'], 1)}); statistics "
        f"{'measured' if stats.get('measured') else 'not measurable yet'}"
    )
    say(
        f"boards: province p95 {fmt(value, 1)} ms (goal {PROVINCE_GOAL_MS:.0f}), unit p95 {fmt(unit_p95, 1)} ms (goal "
        f"{UNIT_GOAL_MS:.0f}), naive {fmt(naive_scaled, 0)} ms, ratio {fmt(result.ratio, 1)}×; goal "
        f"{'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.boards_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(NAMES))
    parser.add_argument("--keep", action="store_true", default=os.environ.get("BENCH_BOARDS_KEEP", "") not in {"", "0"})
    parser.add_argument("--results-dir", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--schools", type=int, help="override the scale: schools in all")
    parser.add_argument("--real", type=int, help="override the scale: real school schemas")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    overrides = {k: v for k, v in {"schools": args.schools, "real": args.real}.items() if v is not None}
    if overrides:
        scale = dataclasses.replace(scale, name=f"{scale.name}+custom", **overrides)
    selected = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in selected if n not in NAMES]
    if unknown:
        raise SystemExit(f"bench: unknown board benchmark(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    url = database_url()
    common.prepare_environment(url)
    os.environ["HOCBA_BASE_DOMAIN"] = "hocba.localhost"
    common.database_recreate(url)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, PLATFORM_HOST]
    started = time.perf_counter()
    failed = False
    try:
        machine = {**common.machine(), "loadavg": list(os.getloadavg())}
        run(scale, args.results_dir, machine, url)
    except Exception:
        failed = True
        raise
    finally:
        connections.close_all()
        if args.keep:
            say(f"bench: kept database {common.database_name(url)}")
        else:
            common.database_drop(url)
        print(
            f"bench: boards {'failed' if failed else 'done'} in {time.perf_counter() - started:.1f} s "
            f"(scale {scale.name})",
            file=sys.stderr,
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
