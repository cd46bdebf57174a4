"""``migrate_addcolumn``: a real ADD COLUMN over every school by ``migrate_schools``, while old pods keep serving.

The new release is ``bench.addcolumn`` (``ALTER TABLE schools_student ADD COLUMN bench_note text NULL DEFAULT ''``:
the expand step), applied by ``manage.py migrate_schools --workers 2`` in a child process with
``bench.addcolumn.settings``, as the owner. value = that command's wall seconds over all schools (the new head's
template capture included); the migration phase alone (from its "N schools, M behind" line to its exit) gives
seconds per school.

The old pods: a separate process with the usual settings (it does not know the column), logged in as the
application's role, paced at one operation every ``INTERVAL`` s over ``PODS_SCHOOLS`` schools spread over the list
— alternately an ORM read of a student (the altered table) and a score upsert for that student (a write whose
foreign key reads the altered table). Each operation's wall time is recorded; an error is any exception. The same
loop runs first with no migration (quiet) for comparison, then during the migration. The longest stall is the
longest operation during the migration (a lock wait on a school being migrated).

Baseline, in the same run: django-tenants' stock ``migrate_schemas --tenant --schema=<name>`` applying the same
migration on ``scale.noop_samples`` schools, one at a time in one process, extrapolated to every school (median s/school
× schools). Those schools first get one untimed stock pass under the old release (it records every other app's
migrations there, see ``migrate_noop``), so the timed pass applies the ADD COLUMN only; they are then at head and the
measured ``migrate_schools`` migrates the others.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import common
from .common import Result, Scale, fmt, say, summary

NAME = "migrate_addcolumn"
GOAL = "old pods serve with 0 errors while an ADD COLUMN runs over 2,000 schools (longest stall reported)"
NEW_SETTINGS = "bench.addcolumn.settings"
NEW_TEMPLATE_SCHEMA = "school_template_addcolumn"  # bench.addcolumn.settings.TENANT_TEMPLATE_SCHEMA
OLD_SETTINGS = common.SETTINGS_MODULE
PODS_SCHOOLS = 3
INTERVAL = 0.02  # one old-pod operation every 20 ms (50/s)
QUIET_SECONDS = {"full": 15.0, "small": 5.0}  # else 3 s
MIGRATE_TIMEOUT = {"full": 3600, "small": 600}  # else 300 s
SUMMARY = "schools, "


def _child_env(settings_module: str, role: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        HOCBA_DB_ROLE=role,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(common.REPO / "platform"), str(common.REPO)]),
    )
    return env


# --- the old pods (child process) -----------------------------------------------------------------


def old_pod(probes: list[dict], max_seconds: float, stop_file: Path) -> dict:
    """The loop of the old release; returns every operation's (start, seconds, kind) and the errors."""
    import django

    django.setup()
    from django.db import connection

    from schools.models import Student

    from .windows_bench import Probe, _write

    loaded = [Probe(**p) for p in probes]
    ops: list[tuple[float, float, str, str]] = []
    errors: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        user = cursor.fetchone()[0]
    print("ready", flush=True)
    start = time.monotonic()
    next_at = start
    i = 0
    while time.monotonic() - start < max_seconds and not stop_file.exists():
        probe = loaded[(i // 2) % len(loaded)]
        kind = "read" if i % 2 == 0 else "write"
        t0 = time.monotonic()
        try:
            if kind == "read":
                connection.set_schema(probe.schema)
                try:
                    assert Student.objects.filter(pk=probe.student).first() is not None
                finally:
                    connection.set_schema_to_public()
            else:
                ok, state = _write(probe)
                if not ok:
                    raise RuntimeError(f"write refused: {state}")
        except Exception as exc:  # counted: the old release failed while the new one migrated
            errors.append(f"{t0 - start:.3f}s {kind} {probe.schema}: {type(exc).__name__}: {exc}"[:300])
        ops.append((t0 - start, time.monotonic() - t0, kind, probe.schema))
        i += 1
        next_at += INTERVAL
        time.sleep(max(0.0, next_at - time.monotonic()))
    return {"user": user, "seconds": time.monotonic() - start, "ops": ops, "errors": errors}


class OldPods:
    """The old-pod process: started, ready, stopped by a file; its figures."""

    def __init__(self, probes: list[dict], max_seconds: float, work_dir: Path, label: str):
        self.stop_file = work_dir / f"stop-{label}"
        self.stop_file.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "bench.migrate_addcolumn",
            "--old-pod",
            json.dumps(probes),
            "--max-seconds",
            str(max_seconds),
            "--stop-file",
            str(self.stop_file),
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=common.REPO,
            env=_child_env(OLD_SETTINGS, "app"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"old pods did not start: {line}{self.proc.stderr.read()[-3000:]}")

    def stop(self, timeout: float = 60) -> dict:
        self.stop_file.touch()
        out, err = self.proc.communicate(timeout=timeout)
        self.stop_file.unlink(missing_ok=True)
        if self.proc.returncode != 0:
            raise RuntimeError(f"old pods failed ({self.proc.returncode}): {err[-3000:]}")
        return json.loads([line for line in out.splitlines() if line.strip()][-1])


def _figures(loop: dict) -> dict:
    times = [op[1] for op in loop["ops"]]
    starts = sorted(op[0] + op[1] for op in loop["ops"])
    longest = sorted(loop["ops"], key=lambda op: -op[1])[:10]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    return {
        "operations": len(times),
        "errors": len(loop["errors"]),
        "error_samples": loop["errors"][:5],
        "seconds": loop["seconds"],
        "latency": summary(times),
        "longest_stall": max(times) if times else None,
        "longest_gap_between_completions": max(gaps) if gaps else None,
        "over_100ms": sum(1 for t in times if t > 0.1),
        "over_1s": sum(1 for t in times if t > 1.0),
        "longest_ops": [{"at": op[0], "seconds": op[1], "kind": op[2], "schema": op[3]} for op in longest],
        "user": loop["user"],
    }


# --- the new release (child processes) -------------------------------------------------------------

STOCK_SCRIPT = """
import io, json, time
from django.core.management import call_command
out = []
for schema in {schemas!r}:
    sink = io.StringIO()
    t0 = time.perf_counter()
    call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0,
                 stdout=sink, stderr=sink)
    out.append({{"schema": schema, "seconds": time.perf_counter() - t0}})
print("STOCK " + json.dumps(out))
"""


def _stock_new(schemas: list[str]) -> list[dict]:
    if not schemas:
        return []
    proc = subprocess.run(
        [sys.executable, str(common.REPO / "manage.py"), "shell", "-c", STOCK_SCRIPT.format(schemas=schemas)],
        cwd=common.REPO,
        env=_child_env(NEW_SETTINGS, "owner"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = [line for line in proc.stdout.splitlines() if line.startswith("STOCK ")]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"stock migrate_schemas failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return json.loads(found[-1][len("STOCK ") :])


def _migrate_new(timeout: float) -> dict:
    """``manage.py migrate_schools --workers 2`` with the new release; wall seconds, phase seconds, its summary."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(common.REPO / "manage.py"), "migrate_schools", "--workers", "2"],
        cwd=common.REPO,
        env=_child_env(NEW_SETTINGS, "owner"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    marks: dict[str, float] = {}

    def read() -> None:
        for line in proc.stdout:
            if SUMMARY in line and "behind head" in line and "listed" not in marks:
                marks["listed"] = time.perf_counter()
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    reader.join(10)
    ended = time.perf_counter()
    listed = next((line for line in lines if "behind head" in line), "")
    done = next((line for line in lines if line.startswith("done in ")), "")
    return {
        "returncode": code,
        "seconds": ended - started,
        "template_and_check_seconds": marks.get("listed", ended) - started,
        "migrate_seconds": ended - marks.get("listed", started),
        "listed": listed,
        "done": done,
        "failed_lines": [line for line in lines if "FAILED" in line][:5],
        "output_tail": "\n".join(lines[-5:]),
    }


# --- the run --------------------------------------------------------------------------------------


def _revert() -> int:
    """Every school back on the old release (the column dropped, its record deleted, by hand as the owner), the new
    release's template schema dropped: before the pass (a kept database this benchmark ran on) and after it (the
    benchmarks that follow find the database as the old release left it). The number of schools reverted."""
    from django.db import connection, transaction

    from tenants import provisioning
    from tenants.models import School

    reverted = 0
    with connection.cursor() as cursor:
        for schema in School.objects.filter(status="active").values_list("schema_name", flat=True):
            with transaction.atomic():
                cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'addcolumn'")  # noqa: S608
                if cursor.rowcount:
                    cursor.execute(f'ALTER TABLE "{schema}".schools_student DROP COLUMN IF EXISTS bench_note')
                    reverted += 1
        cursor.execute(f'DROP SCHEMA IF EXISTS "{NEW_TEMPLATE_SCHEMA}" CASCADE')
    schemas = list(School.objects.filter(status="active").values_list("schema_name", flat=True))
    provisioning.mark_checked(schemas, provisioning.migration_head())
    return reverted


def _at_head_count() -> tuple[int, int]:
    """(schools with the new column, schools with the migration recorded once), read from the catalog."""
    from django.db import connection

    from tenants.models import School

    schemas = list(School.objects.filter(status="active").values_list("schema_name", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = ANY(%s)"
            " AND table_name = 'schools_student' AND column_name = 'bench_note'",
            [schemas],
        )
        columns = cursor.fetchone()[0]
        recorded = 0
        for schema in schemas:
            cursor.execute(
                f"SELECT count(*) FROM \"{schema}\".django_migrations WHERE app = 'addcolumn'"  # noqa: S608
            )
            recorded += cursor.fetchone()[0] == 1
    return columns, recorded


def run(scale: Scale, results_dir: Path, machine: dict) -> Result:
    from django.conf import settings
    from django.db import transaction

    from tenants import dbroles
    from tenants.models import School

    from . import migrate_noop, windows_bench

    base = scale.name.split("+")[0]
    schools = list(School.objects.filter(status="active").order_by("schema_name").values_list("pk", "schema_name"))
    n = len(schools)
    year_start = windows_bench.current_year_start()
    picks = migrate_noop.spread(schools, PODS_SCHOOLS)
    probes = [windows_bench._probe(pk, schema, year_start) for pk, schema in picks]
    with transaction.atomic():  # as db_roles does (SET LOCAL per school), for the old pods' schools only
        dbroles.ensure_roles(
            app_user=settings.DB_APP_USER,
            app_password=settings.DB_APP_PASSWORD,
            school_schemas=[schema for _pk, schema in picks],
        )
    for _pk, schema in picks:
        windows_bench._restrict(schema)
    probe_data = [dict(vars(p)) for p in probes]
    work_dir = Path(tempfile.mkdtemp(prefix=f"{NAME}-"))
    reverted = _revert()

    # The old pods with nothing migrating: what a stall is compared with.
    quiet_seconds = QUIET_SECONDS.get(base, 3.0)
    quiet = _figures(OldPods(probe_data, quiet_seconds, work_dir, "quiet").stop(timeout=quiet_seconds + 60))

    # The stock baseline on a few schools (not the old pods' ones), settled under the old release first.
    pod_schemas = {schema for _pk, schema in picks}
    samples = migrate_noop.spread([s for _pk, s in schools if s not in pod_schemas], scale.noop_samples)
    settle = [migrate_noop._stock_pass(schema) for schema in samples]
    stock = _stock_new(samples)
    per_school_stock = summary([s["seconds"] for s in stock])
    baseline_total = per_school_stock["p50"] * n if per_school_stock["p50"] is not None else None

    # The measured pass, the old pods serving throughout.
    timeout = MIGRATE_TIMEOUT.get(base, 300)
    pods = OldPods(probe_data, timeout + 60, work_dir, "during")
    try:
        migrated = _migrate_new(timeout)
    finally:
        during = _figures(pods.stop())
    columns, recorded = _at_head_count()
    _revert()
    migrated_count = n - len(stock)
    value = migrated["seconds"]
    per_school = migrated["migrate_seconds"] / migrated_count if migrated_count else None
    at_2000 = (
        migrated["template_and_check_seconds"] + per_school * 2000 if per_school is not None and n < 2000 else value
    )
    all_at_head = migrated["returncode"] == 0 and columns == n and recorded == n
    goal_met = bool(all_at_head and during["errors"] == 0 and during["operations"] > 0)
    ratio = baseline_total / value if value and baseline_total else None

    result = Result(
        name=NAME,
        metric=f"seconds for manage.py migrate_schools --workers 2 applying an ADD COLUMN (nullable, default) to "
        f"schools_student over {n} schools ({migrated_count} migrated, {len(stock)} by the baseline), "
        "while old pods serve",
        unit="s",
        value=value,
        baseline={
            "what": "django-tenants migrate_schemas --tenant --schema=<one school> applying the same migration, "
            f"timed on {len(stock)} schools in one process and extrapolated: median s/school × {n} schools",
            "value": baseline_total,
        },
        ratio=ratio,
        goal=GOAL,
        scale=scale.name,
        runs=1,
        p50=during["latency"]["p50"],
        p95=during["latency"]["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "schools": n,
        "all_at_head": all_at_head,
        "columns_added": columns,
        "migration_recorded_once": recorded,
        "per_school": per_school,
        "value_at_2000_schools": at_2000,
        "migrate_schools": migrated,
        "reverted_from_an_earlier_run": reverted,
        "p50_p95_are": "old-pod operation seconds during the migration (value is one pass: runs = 1)",
        "old_pods": {
            "schools": sorted(pod_schemas),
            "interval": INTERVAL,
            "during_migration": during,
            "quiet": quiet,
            "longest_stall": during["longest_stall"],
        },
        "baselines": [
            {
                "what": "django-tenants migrate_schemas --tenant --schema=<one school>, the same ADD COLUMN",
                "value": baseline_total,
                "per_school": per_school_stock,
                "samples": stock,
                "settle_seconds_under_old_release": settle,
            },
            {
                "what": "the same old-pod loop with no migration running",
                "value": quiet["longest_stall"],
                "latency": quiet["latency"],
            },
        ],
        "timing": "wall clock (time.perf_counter / monotonic), database, migration and old pods on the same machine",
    }
    path = result.write(results_dir, extra)
    say(
        f"{NAME}: ADD COLUMN over {n} schools by migrate_schools in {fmt(value, 1)} s "
        f"({fmt(per_school, 4)} s/school migrating, {fmt(migrated['template_and_check_seconds'], 1)} s template+check; "
        f"at head: {all_at_head}); at 2,000 schools ≈ {fmt(at_2000, 1)} s"
    )
    say(
        f"{NAME}: old pods during it: {during['operations']} ops, {during['errors']} errors, "
        f"p50 {fmt(during['latency']['p50'], 4)} s, p95 {fmt(during['latency']['p95'], 4)} s, "
        f"longest stall {fmt(during['longest_stall'], 3)} s (quiet: p95 {fmt(quiet['latency']['p95'], 4)} s, "
        f"longest {fmt(quiet['longest_stall'], 3)} s)"
    )
    say(
        f"{NAME}: baseline stock migrate_schemas p50 {fmt(per_school_stock['p50'])} s/school ({len(stock)} samples) "
        f"→ {fmt(baseline_total, 1)} s for {n}; ratio {fmt(ratio, 1)}×; goal {GOAL}: "
        f"{'met' if goal_met else 'NOT met'} → {path}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    """The old-pod child: ``python -m bench.migrate_addcolumn --old-pod PROBES --max-seconds S --stop-file F``."""
    parser = argparse.ArgumentParser(prog="python -m bench.migrate_addcolumn")
    parser.add_argument("--old-pod", required=True, help="JSON list of windows_bench.Probe fields")
    parser.add_argument("--max-seconds", type=float, required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(old_pod(json.loads(args.old_pod), args.max_seconds, args.stop_file)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
