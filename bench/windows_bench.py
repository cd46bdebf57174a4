"""Open/lock windows (DESIGN §5): ``windows_check_overhead`` and ``windows_change_2000``.

``python -m bench.windows_bench --scale full|small|tiny [--only a,b] [--results-dir DIR] [--keep]``; ``bench.run``
(``make bench``) starts this module in a child process (``launch``) because it runs against its own database:
``<bench db>_windows`` (``hocba_bench_windows`` by default) or ``BENCH_WINDOWS_DATABASE_URL``; dropped and re-created
at the start, dropped at the end unless ``--keep`` / ``BENCH_WINDOWS_KEEP=1``.

Setup runs as the database owner (migrations, roles, template, schools), the measured work as the application's
role (``hocba_app``), like production.

* ``windows_check_overhead``: the one-subject sheet save of ``bench.sheets`` (Toán, 45 students × 7 columns = 315
  values, ``sheets.sheet_save`` in-process, every value changed by every save) with 20 windows that all apply to it
  (province, unit and school tiers; scores_1 and whole_year; with and without a grade filter; all open), window
  triggers enabled, against the same save with ``schools_assessment``'s window triggers disabled (``ALTER TABLE …
  DISABLE TRIGGER window_ins, window_upd, window_del`` by the owner on a connection of its own), alternating blocks in
  the same run. value = p95(with) − p95(without). Extra: the triggers' own time from ``EXPLAIN (ANALYZE)`` of the
  save's upsert, and a check that the same save is refused once a window locks.
* ``windows_change_2000``: a province window covering N schools (2,000 at full scale, 100 small), every school a real
  schema made by ``school_create`` (``bench.provision.fill``). Timed: ``window_update`` (the service: validation, one
  row, platform audit entry; committed) locking it and re-opening it, alternately; right after each change, a write
  in a school drawn at random among the N (its year, class and student made beforehand, untimed), as the application
  (raw SQL: the trigger decides for every path), must be refused
  (after a lock) or accepted (after a re-opening), by the database trigger. Baseline in the same run: the same change
  made the naive way, one window row per school (N school-tier rows, changed by one UPDATE statement).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import common, rollup_modes
from .common import Deadline, Result, fmt, say, summary

NAMES = ("windows_check_overhead", "windows_change_2000")
REPO = common.BENCH_DIR.parent
CHECK_GOAL = "window check adds ≤ 2 ms at p95 to a one-subject sheet save (20 windows in scope)"
CHANGE_GOAL = "changing a province window covering 2,000 schools ≤ 50 ms at p95, effective at once in every school"
WINDOW_TRIGGERS = ("window_ins", "window_upd", "window_del")


@dataclass(frozen=True)
class WindowScale:
    name: str
    check_warmup: int
    check_rounds: int  # rounds of (block with the window triggers, block without), order alternating
    check_block: int
    check_discard: int  # first saves of each block not counted (the ALTER TABLE invalidated the cached plans)
    explain_runs: int  # EXPLAIN (ANALYZE) of the save's upsert: the window triggers' own time
    windows: int  # windows applying to the measured save
    schools: int  # schools under the province window
    fill_workers: int
    change_rounds: int  # each: lock (timed) + refused write, re-open (timed) + accepted write
    baseline_runs: int
    deadline: float = 300.0  # per measured loop
    fill_deadline: float = 20 * 60


SCALES = {
    "full": WindowScale(
        "full",
        check_warmup=5,
        check_rounds=12,
        check_block=12,
        check_discard=2,
        explain_runs=10,
        windows=20,
        schools=2000,
        fill_workers=2,
        change_rounds=30,
        baseline_runs=10,
        deadline=600.0,
        fill_deadline=20 * 60,
    ),
    "small": WindowScale(
        "small",
        check_warmup=3,
        check_rounds=6,
        check_block=6,
        check_discard=2,
        explain_runs=5,
        windows=20,
        schools=100,
        fill_workers=2,
        change_rounds=10,
        baseline_runs=4,
        deadline=60.0,
        fill_deadline=90.0,
    ),
    "tiny": WindowScale(
        "tiny",
        check_warmup=1,
        check_rounds=2,
        check_block=3,
        check_discard=1,
        explain_runs=1,
        windows=20,
        schools=4,
        fill_workers=1,
        change_rounds=2,
        baseline_runs=1,
        deadline=30.0,
        fill_deadline=60.0,
    ),
}


# --- the database ---------------------------------------------------------------------------------


def database_url() -> str:
    """``BENCH_WINDOWS_DATABASE_URL``; else the bench database with ``_windows`` appended."""
    return common.derived_database_url("BENCH_WINDOWS_DATABASE_URL", "_windows")


def launch(names: list[str], scale: str, results_dir: Path) -> int:
    return common.launch_module("bench.windows_bench", names, scale, results_dir, "window")


def _owner() -> tuple[str, str]:
    from django.db import connections

    d = connections["default"].settings_dict
    return d["USER"], d["PASSWORD"]


class WindowSwitch:
    """Enable/disable ``schools_assessment``'s window triggers as the owner, on a connection of its own."""

    def __init__(self, owner_url: str, schema: str):
        from .sheets import AuditSwitch

        self._switch = AuditSwitch(owner_url, schema)
        self._switch.TRIGGERS = WINDOW_TRIGGERS

    def set(self, on: bool) -> None:
        self._switch.set(on)

    def enabled(self) -> dict:
        return self._switch.enabled()

    def close(self) -> None:
        self._switch.close()


def current_year_start() -> int:
    from hocba.kernel.schoolyear import current_school_year

    return current_school_year()


# --- windows_check_overhead ---------------------------------------------------------------------------


def _windows_for(school, year_start: int, count: int) -> list:
    """``count`` open windows that all apply to a grade-6 scores_1 save in ``school``: the three tiers, scores_1 and
    whole_year, with and without grade filters."""
    from django.utils import timezone

    from tenants.models import SchoolPlacement, UnitVersion, Window

    unit_id = (
        SchoolPlacement.objects.filter(school=school, valid_to__isnull=True).values_list("unit_id", flat=True).get()
    )
    province_id = (
        UnitVersion.objects.filter(unit_id=unit_id, valid_to__isnull=True).values_list("parent_id", flat=True).get()
    )
    now = timezone.now()
    tiers = [("province", province_id, None), ("unit", unit_id, None), ("school", None, school.pk)]
    grade_sets = [[], [6, 7, 8, 9], [6], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]
    rows = []
    for i in range(count):
        tier, unit, school_id = tiers[i % 3]
        span = dt.timedelta(days=10 - i % 7)  # lower tiers narrower, as the service would require
        rows.append(
            Window(
                tier=tier,
                unit_id=unit,
                school_id=school_id,
                grades=grade_sets[i % 4],
                category="scores_1" if i % 2 == 0 else "whole_year",
                year_start=year_start,
                opens_at=now - span,
                locks_at=now + span,
                reason=f"bench window {i + 1}",
            )
        )
    return Window.objects.bulk_create(rows)


def run_check(scale: WindowScale, results_dir: Path, machine: dict, url: str) -> Result:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from tenants.models import Window
    from tenants.windows import WindowLocked

    from . import sheets

    t = time.perf_counter()
    world = sheets.build_world(sheets.SCALES[scale.name], ["sheet_save_one"], url)  # ends logged in as hocba_app
    ref = world.one
    connection.set_schema_to_public()
    windows = _windows_for(world.school, sheets.START_YEAR, scale.windows)
    connection.set_tenant(world.school)
    setup_seconds = time.perf_counter() - t
    user = sheets.current_user()
    say(f"windows_check_overhead: setup {setup_seconds:.1f} s, {len(windows)} windows, measuring as {user}")

    switch = WindowSwitch(url, world.school.schema_name)
    got: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    rounds_done = 0
    deadline = Deadline(scale.deadline)
    try:
        with sheets.acting_as(ref):
            for _ in range(scale.check_warmup):
                sheets.save(ref, ref.next_cells())
            switch.set(False)
            sheets.save(ref, ref.next_cells())  # warm the other state too
            for r in range(scale.check_rounds):
                if deadline.passed():
                    break
                for state in (True, False) if r % 2 == 0 else (False, True):
                    switch.set(state)
                    for i in range(scale.check_block):
                        wall, c, _out = sheets.timed(lambda: sheets.save(ref, ref.next_cells()))
                        if i >= scale.check_discard:
                            got[state].append(wall)
                            cpu[state].append(c)
                rounds_done += 1
            switch.set(True)
            sheets.save(ref, ref.next_cells())
            explains = [
                sheets.explain_upsert(lambda: sheets.save(ref, ref.next_cells())) for _ in range(scale.explain_runs)
            ]
            explained = explains[-1]
            # BENCH_ROLLUP_MODES=inline,outbox: the same save, window triggers on, in both rollup modes.
            modes = (
                rollup_modes.compare(
                    lambda c: sheets.save(ref, c),
                    rollup_modes.counting_cells(ref.next_cells, ref.columns[-1][0]),
                    rounds=max(4, scale.check_rounds),
                    block=scale.check_block,
                    discard=scale.check_discard,
                    deadline=Deadline(scale.deadline),
                )
                if rollup_modes.comparing()
                else None
            )
            # Proof that the triggers measured were really checking: lock one of the windows, the same save is refused.
            connection.set_schema_to_public()
            Window.objects.filter(pk=windows[0].pk).update(locks_at=timezone.now() - dt.timedelta(seconds=1))
            connection.set_tenant(world.school)
            try:
                sheets.save(ref, ref.next_cells())
                refused_when_locked = False
            except WindowLocked:
                refused_when_locked = True
    finally:
        triggers_after = switch.enabled()
        switch.close()
    on, off = summary(got[True]), summary(got[False])
    value = on["p95"] - off["p95"] if on["p95"] is not None and off["p95"] is not None else None
    p50 = on["p50"] - off["p50"] if on["p50"] is not None and off["p50"] is not None else None
    trigger_ms = {k: v for k, v in (explained.get("triggers_ms") or {}).items() if k.startswith("window_")}
    trigger_runs = [
        sum(v or 0 for k, v in (e.get("triggers_ms") or {}).items() if k.startswith("window_")) for e in explains
    ]
    trigger_stats = summary(trigger_runs)
    goal_met = bool(value is not None and value <= 2.0 and refused_when_locked and all(triggers_after.values()))
    result = Result(
        name="windows_check_overhead",
        metric=f"ms added at p95 by the window triggers to a one-subject sheet save ({ref.values} values, "
        f"{len(ref.students)} students × {len(ref.columns)} columns) with {len(windows)} windows applying: "
        "p95(with) − p95(without); p50 = p50(with) − p50(without); wall time of sheets.sheet_save in-process, "
        "commit included",
        unit="ms",
        value=value,
        baseline={
            "what": "the same save with schools_assessment's window triggers disabled (window_ins, window_upd, "
            "window_del, by the owner), alternating blocks in the same run; p95 ms",
            "value": off["p95"],
        },
        ratio=(on["p95"] / off["p95"]) if on["p95"] and off["p95"] else None,
        goal=CHECK_GOAL,
        scale=scale.name,
        runs=on["runs"],
        p50=p50,
        p95=value,
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "with_windows_ms": on,
        "without_window_triggers_ms": off,
        "process_cpu_ms": {"with": summary(cpu[True]), "without": summary(cpu[False])},
        "ratio_is": "p95 with / p95 without",
        "window_triggers_explain_ms": {
            "last": trigger_ms,
            "per_save": trigger_stats,
            "note": "the window triggers' own execution time inside the upsert statement, "
            "EXPLAIN (ANALYZE) as the application (transaction rolled back): the "
            "server-side cost without the wall-clock noise of a shared machine",
        },
        "upsert_explain": explained,
        "discarded_per_block": scale.check_discard,
        "windows": len(windows),
        "windows_detail": "tiers province/unit/school × scores_1/whole_year × grade filters "
        "{}, {6..9}, {6}, {1..12}; all open, all applying to the save",
        "refused_once_a_window_locked": refused_when_locked,
        "triggers_enabled_after": triggers_after,
        "rounds": rounds_done,
        "block": scale.check_block,
        "setup_seconds": setup_seconds,
        "database_user": user,
        "loadavg": list(os.getloadavg()),
        "rollup_mode": settings.ROLLUP_MODE,
        **({"rollup_modes": modes} if modes else {}),
    }
    path = result.write(results_dir, extra)
    sheets.say_modes("windows_check_overhead (window triggers on)", modes)
    say(
        f"windows_check_overhead: save with {len(windows)} windows p50 {fmt(on['p50'], 2)} ms p95 {fmt(on['p95'], 2)}, "
        f"triggers disabled p50 {fmt(off['p50'], 2)} p95 {fmt(off['p95'], 2)} ({on['runs']}+{off['runs']} runs); "
        f"overhead p50 {fmt(p50, 2)} ms, p95 {fmt(value, 2)} ms; window triggers in EXPLAIN ANALYZE "
        f"p50 {fmt(trigger_stats['p50'], 2)} ms p95 {fmt(trigger_stats['p95'], 2)} ms; refused once locked: "
        f"{refused_when_locked}; goal {CHECK_GOAL}: {'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


# --- windows_change_2000 ------------------------------------------------------------------------------


@dataclass
class Probe:
    """A school ready for a write: its schema, one student, the subject and year of the cell written."""

    school_id: int
    schema: str
    student: int
    subject: int
    year: int
    value: int = 0


def _probe(school_id: int, schema: str, year_start: int) -> Probe:
    from django.db import connection
    from django.utils import timezone

    from schools.models import Subject
    from schools.services.common import system_access
    from schools.services.setup import class_create, school_year_open
    from schools.services.students import student_enrol

    connection.set_schema(schema)
    try:
        system = system_access(school_id)
        year = school_year_open(access=system, start_year=year_start, levels=["lower_secondary"])
        klass = class_create(access=system, year=year, name="6A1", grade=6, homeroom_teacher_id=None)
        student = student_enrol(
            access=system,
            school_class=klass,
            today=timezone.localdate(),
            profile={"full_name": "Trần Văn Thử", "date_of_birth": "05/03/2014", "gender": "M"},
        )
        subject = Subject.objects.get(level="lower_secondary", code="toan")
        return Probe(school_id, schema, student.pk, subject.pk, year.pk)
    finally:
        connection.set_schema_to_public()


def _write(probe: Probe) -> tuple[bool, str]:
    """One score written in the school as the application (raw SQL: the trigger decides for every path).
    (accepted, SQLSTATE when refused)."""
    from django.db import DatabaseError, connection, transaction

    probe.value = probe.value % 100 + 1
    connection.set_schema(probe.schema)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO schools_assessment"
                " (student_id, subject_id, year_id, term, kind, seq, score, verdict, text)"
                " VALUES (%s, %s, %s, 1, 'tx', 1, %s, '', '')"
                " ON CONFLICT (student_id, subject_id, year_id, term, kind, seq) DO UPDATE SET score = EXCLUDED.score",
                [probe.student, probe.subject, probe.year, probe.value / 10],
            )
        return True, ""
    except DatabaseError as exc:
        return False, getattr(exc.__cause__, "sqlstate", "") or type(exc).__name__
    finally:
        connection.set_schema_to_public()


def _restrict(schema: str) -> None:
    """What ``db_roles`` does in each school schema: the application may not write its audit table or migrations."""
    from django.db import connection

    from tenants.dbroles import SCHOOL_RESTRICTIONS

    connection.set_schema(schema)
    try:
        with connection.cursor() as cursor:
            cursor.execute(SCHOOL_RESTRICTIONS)
    finally:
        connection.set_schema_to_public()


def _public_and_schools(scale: WindowScale, owner: tuple[str, str]) -> dict:
    """As the owner: public schema, roles, template, the bench province and unit, N schools by school_create."""
    from . import provision, sheets

    sheets.login_as(*owner)
    t = time.perf_counter()
    setup = provision.build_public()
    # The roles and the owner's default privileges first: the schemas made next get the writers' grants as they are
    # created (a db_roles pass over 2,000 schemas afterwards took 10 min here); the per-school restrictions are applied
    # to the schools written in (``_restrict``).
    sheets._quiet("db_roles")
    public_seconds = time.perf_counter() - t
    fill = provision.fill(
        setup["unit_id"], 0, scale.schools, workers=scale.fill_workers, deadline=Deadline(scale.fill_deadline)
    )
    say(
        f"windows_change_2000: {fill['schools']} schools by school_create in {fill['seconds']:.1f} s "
        f"({fmt(fill['per_school'])} s/school, {scale.fill_workers} worker(s)); public {public_seconds:.1f} s"
    )
    return {"unit_id": setup["unit_id"], "fill": fill, "public_seconds": public_seconds}


def run_change(scale: WindowScale, results_dir: Path, machine: dict, url: str) -> Result:
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from tenants.models import AdministrativeUnit, School, UnitVersion, Window
    from tenants.reminders import window_schools
    from tenants.services.windows import school_year_bounds, window_create, window_update

    from . import sheets

    owner = getattr(run_change, "owner", None) or _owner()
    built = _public_and_schools(scale, owner)
    province = AdministrativeUnit.objects.get(
        pk=UnitVersion.objects.filter(unit_id=built["unit_id"], valid_to__isnull=True)
        .values_list("parent_id", flat=True)
        .get()
    )
    year_start = current_year_start()
    start, end = school_year_bounds(year_start)
    now = timezone.now()
    opens = max(start, now - dt.timedelta(days=1))
    open_until = min(end - dt.timedelta(hours=1), now + dt.timedelta(days=30))
    window = window_create(
        actor=None,
        category="scores_1",
        year_start=year_start,
        unit=province,
        opens_at=opens,
        locks_at=open_until,
        reason="Bench: lịch cấp Sở",
    )
    schools = window_schools(window)  # every school of the bench province: the ones just made
    covered = len(schools)
    # The naive model for the baseline: one window row per school (another category: no effect on the probes).
    naive = Window.objects.bulk_create(
        [
            Window(
                tier="school",
                school_id=pk,
                category="attendance",
                year_start=year_start,
                opens_at=opens,
                locks_at=open_until,
                reason="bench naive per-school",
            )
            for pk, _schema in schools
        ]
    )

    # The schools written in: drawn at random among the N for every round, their year, class and student made now
    # (untimed, as the owner).
    rng = random.Random(2_000)
    picks = [schools[rng.randrange(len(schools))] for _ in range(scale.change_rounds)]
    probes: dict[int, Probe] = {}
    for pk, schema in picks:
        if pk not in probes:
            probes[pk] = _probe(pk, schema, year_start)
            _restrict(schema)

    sheets.login_as(settings.DB_APP_USER, settings.DB_APP_PASSWORD)  # measured as the application
    connection.set_schema_to_public()
    user = sheets.current_user()
    changes: list[float] = []
    lock_ms: list[float] = []
    reopen_ms: list[float] = []
    to_refusal_ms: list[float] = []
    refused = accepted = wrong = 0
    samples = []
    baseline: list[float] = []
    one_row: list[float] = []
    positions = (
        {int((k + 0.5) * scale.change_rounds / scale.baseline_runs) for k in range(scale.baseline_runs)}
        if scale.baseline_runs
        else set()
    )
    deadline = Deadline(scale.deadline)
    # warm-up: one change each way, one write
    window_update(actor=None, window=window, locks_at=open_until - dt.timedelta(seconds=1))
    window_update(actor=None, window=window, locks_at=open_until)
    stopped = False
    # BENCH_ROLLUP_MODES=inline,outbox: the rounds alternate between the rollup modes.
    round_modes = rollup_modes.modes() if rollup_modes.comparing() else [settings.ROLLUP_MODE]
    by_mode: dict[str, list[float]] = {m: [] for m in round_modes}
    for r in range(scale.change_rounds):
        if deadline.passed():
            stopped = True
            break
        pk, schema = picks[r]
        probe = probes[pk]
        ok, _state = _write(probe)
        assert ok, f"the window should be open in {schema}"
        round_mode = round_modes[r % len(round_modes)]
        with rollup_modes.mode(round_mode):
            t0 = time.perf_counter()
            window_update(actor=None, window=window, locks_at=timezone.now() - dt.timedelta(seconds=1))
            t1 = time.perf_counter()
            ok, state = _write(probe)
            t2 = time.perf_counter()
            refused += not ok and state == "HB423"
            wrong += ok or state != "HB423"
            window_update(actor=None, window=window, locks_at=open_until - dt.timedelta(seconds=r % 2))
            t3 = time.perf_counter()
        ok2, state2 = _write(probe)
        accepted += ok2
        wrong += not ok2
        lock_ms.append((t1 - t0) * 1000)
        reopen_ms.append((t3 - t2) * 1000)
        changes += [lock_ms[-1], reopen_ms[-1]]
        by_mode[round_mode] += [lock_ms[-1], reopen_ms[-1]]
        to_refusal_ms.append((t2 - t1) * 1000)
        samples.append(
            {
                "school": schema,
                "refused_after_lock": not ok and state == "HB423",
                "sqlstate": state,
                "accepted_after_reopen": ok2,
            }
        )
        if r in positions:
            # The same change as bare statements: the naive model's N rows, and the one row (its lock time unchanged).
            t4 = time.perf_counter()
            with transaction.atomic():
                Window.objects.filter(reason="bench naive per-school").update(
                    locks_at=F("locks_at") - dt.timedelta(seconds=1)
                )
            t5 = time.perf_counter()
            with transaction.atomic():
                Window.objects.filter(pk=window.pk).update(locks_at=F("locks_at"))
            t6 = time.perf_counter()
            baseline.append((t5 - t4) * 1000)
            one_row.append((t6 - t5) * 1000)
    # The rollup outbox's sweep (tenants.rollup_outbox.sweep_chunk) asks every school at once whether its outbox
    # holds rows: one query per chunk of 200 schemas. Its cost over all the schools, as the application.
    from tenants import perschool

    sweep_ms = []
    for _ in range(3):
        t = time.perf_counter()
        found = sum(len(perschool.schemas_with_outbox_rows([s for _pk, s in c])) for c in perschool.school_chunks())
        sweep_ms.append((time.perf_counter() - t) * 1000)
    stats = summary(changes)
    base = summary(baseline)
    bare = summary(one_row)
    value = stats["p95"]
    goal_met = bool(value is not None and value <= 50 and wrong == 0 and refused == len(lock_ms) and not stopped)
    result = Result(
        name="windows_change_2000",
        metric=f"ms wall time of window_update (service, one row, committed) on a province window covering {covered} "
        "schools, locking and re-opening alternately; value = p95; right after each change a write in a school "
        "drawn at random is refused (lock) / accepted (re-opening) by the database",
        unit="ms",
        value=value,
        baseline={
            "what": f"the naive model: one window row per school ({len(naive)} school-tier rows) changed by one bare "
            "UPDATE statement in a transaction (no validation, no audit), interleaved; p50 ms",
            "value": base["p50"],
        },
        ratio=(base["p50"] / bare["p50"]) if base["p50"] and bare["p50"] else None,
        goal=CHANGE_GOAL,
        scale=scale.name,
        runs=stats["runs"],
        p50=stats["p50"],
        p95=stats["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "schools_covered": covered,
        "schools_in_database": School.objects.count(),
        "lock_ms": summary(lock_ms),
        "reopen_ms": summary(reopen_ms),
        "baseline_ms": base,
        "one_row_bare_update_ms": bare,
        "ratio_is": "naive N-row UPDATE p50 / the province window's one-row UPDATE p50, both bare statements in a "
        "transaction (the service's validation and audit entry come on top of either)",
        "change_to_refused_write_ms": summary(to_refusal_ms),
        "refused_after_lock": refused,
        "accepted_after_reopen": accepted,
        "unexpected_answers": wrong,
        "distinct_schools_probed": len(probes),
        "samples": samples[:50],
        "stopped_by_deadline": stopped,
        "fill": built["fill"],
        "database_user": user,
        "loadavg": list(os.getloadavg()),
        "window_update_queries": "select_for_update, the unit tree, UPDATE of one row, the platform audit entry",
        "rollup_mode": settings.ROLLUP_MODE,
        "rollup_outbox_sweep_probe_ms": {
            **summary(sweep_ms),
            "schools": School.objects.filter(status="active").count(),
            "schools_with_rows": found,
            "what": "tenants.perschool.schemas_with_outbox_rows over every active school in chunks of 200 "
            "(one UNION ALL of EXISTS per chunk), as the application; 3 passes",
        },
    }
    if len(by_mode) > 1:
        stats_by_mode = {m: summary(v) for m, v in by_mode.items()}
        i, o = stats_by_mode.get("inline", {}), stats_by_mode.get("outbox", {})
        extra["rollup_modes"] = {
            "modes": round_modes,
            "wall_ms": stats_by_mode,
            "ratio_p50": o["p50"] / i["p50"] if i.get("p50") and o.get("p50") else None,
            "ratio_p95": o["p95"] / i["p95"] if i.get("p95") and o.get("p95") else None,
            "ratio_is": "outbox / inline, window_update's wall time in the rounds of each mode",
            "note": "neither the window change (public rows) nor the probe write (raw SQL) adds a rollup delta: the "
            "mode does not enter this path; the split shows the noise between rounds",
        }
    path = result.write(results_dir, extra)
    say(
        f"windows_change_2000: window_update on a window covering {covered} schools p50 {fmt(stats['p50'], 2)} ms "
        f"p95 {fmt(stats['p95'], 2)} ({stats['runs']} changes); bare statements: "
        f"one row p50 {fmt(bare['p50'], 2)} ms vs {len(naive)} per-school rows p50 {fmt(base['p50'], 2)} ms; "
        f"refused right after the lock {refused}/{len(lock_ms)} in {len(probes)} random schools, "
        f"accepted after re-opening {accepted}/{len(lock_ms)}; goal {CHANGE_GOAL}: "
        f"{'met' if goal_met else 'NOT met'} → {path}"
    )
    probe = extra["rollup_outbox_sweep_probe_ms"]
    say(
        f"windows_change_2000: rollup outbox sweep probe over {probe['schools']} schools p50 {fmt(probe['p50'], 1)} ms "
        f"({probe['schools_with_rows']} with rows)"
    )
    modes = extra.get("rollup_modes")
    if modes:
        say(
            "windows_change_2000: window_update by rollup mode "
            + "; ".join(f"{m} p50 {fmt(modes['wall_ms'][m]['p50'], 2)} ms" for m in modes["modes"])
            + f"; outbox/inline p50 {fmt(modes['ratio_p50'], 3)}× (the mode does not enter this path)"
        )
    return result


# --- the run --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.windows_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(NAMES))
    parser.add_argument(
        "--keep", action="store_true", default=os.environ.get("BENCH_WINDOWS_KEEP", "") not in {"", "0"}
    )
    parser.add_argument("--results-dir", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--schools", type=int, help="override the scale: schools under the province window")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = SCALES[args.scale]
    if args.schools is not None:
        scale = dataclasses.replace(scale, name=f"{scale.name}+custom", schools=args.schools)
    selected = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in selected if n not in NAMES]
    if unknown:
        raise SystemExit(f"bench: unknown window benchmark(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    url = database_url()
    common.prepare_environment(url)
    os.environ["HOCBA_BASE_DOMAIN"] = "hocba.localhost"
    common.database_recreate(url)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False
    started = time.perf_counter()
    failed = False
    try:
        machine = {**common.machine(), "loadavg": list(os.getloadavg())}
        run_change.owner = _owner()
        if "windows_check_overhead" in selected:
            check_scale = scale if scale.name in SCALES else SCALES[args.scale]
            run_check(check_scale, args.results_dir, machine, url)
        if "windows_change_2000" in selected:
            run_change(scale, args.results_dir, machine, url)
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
            f"bench: windows {'failed' if failed else 'done'} "
            f"in {time.perf_counter() - started:.1f} s (scale {scale.name})",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
