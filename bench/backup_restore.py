"""``backup_restore``: one school's logical export and its restore into a fresh schema, with every school of the
scale in the database (2,000 at full scale), against ``pg_dump -n <schema>`` measured in the same run.

Sampled schools (``scale.noop_samples``, spread over the list) first get the demo's year, classes, students and
their audit entries (``perschool.seed_demo``), untimed. Then, per sample, interleaved:

* export: ``tenants.backups.backup_school`` to a temporary directory (per-table COPY in key order, SHA-256, gzip,
  manifest);
* baseline: ``pg_dump -n <schema> -Fc`` of the same schema to a file (it reads the whole catalog), with the
  largest resident size of the pg_dump processes;
* restore: ``tenants.backups.restore_school`` of that export into a new schema (template DDL replay, load with the
  triggers off, sequences, the verification copied out again, the audit chain recomputed, the school switched,
  its rollups reconciled).

Value: the median export seconds per school; ratio: pg_dump's median over it. No archive store here: the anchor
is not looked up (``use_archive=False``); the chain is still recomputed on restore.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .common import Deadline, Result, Scale, fmt, say, summary
from .migrate_noop import spread

NAME = "backup_restore"
GOAL = "export and restore of one school each faster than pg_dump -n of that school, at 2,000 schemas"


def _pg_dump(schema: str, out: Path) -> tuple[float, int]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    cmd = ["pg_dump", "-n", schema, "-Fc", "-f", str(out), "-d", db["NAME"], "-U", db["USER"] or "postgres"]
    if db.get("HOST"):
        cmd += ["-h", db["HOST"]]
    if db.get("PORT"):
        cmd += ["-p", str(db["PORT"])]
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=600)
    seconds = time.perf_counter() - t0
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def run(scale: Scale, results_dir: Path, machine: dict) -> Result:
    from django.utils import timezone

    from tenants import backups, perschool
    from tenants.models import School

    schools = list(School.objects.filter(status="active").order_by("schema_name"))
    n = len(schools)
    deadline = Deadline(scale.noop_deadline)
    samples = spread(schools, max(1, scale.noop_samples))
    for school in samples:
        perschool.seed_demo(
            school.schema_name, school_id=school.pk, levels=list(school.levels), staff={}, today=timezone.localdate()
        )
    has_pg_dump = shutil.which("pg_dump") is not None
    work = Path(tempfile.mkdtemp(prefix="bench_backup_"))
    rows: list[dict] = []
    error = ""
    try:
        for k, school in enumerate(samples):
            if deadline.passed() and rows:
                break
            schema = school.schema_name
            t0 = time.perf_counter()
            manifest = backups.backup_school(school, str(work / "logical"), use_archive=False)
            export = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in Path(manifest["location"]).iterdir())
            dump = dump_rss = dump_size = None
            if has_pg_dump and not error:
                try:
                    target = work / f"{schema}.dump"
                    dump, dump_rss = _pg_dump(schema, target)
                    dump_size = target.stat().st_size
                except (subprocess.SubprocessError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    say(f"{NAME}: pg_dump failed on {schema}: {error}")
            new_schema = f"r{k}_{schema}"[:63]
            t0 = time.perf_counter()
            done = backups.restore_school(manifest["location"], new_schema, use_archive=False)
            restore = time.perf_counter() - t0
            rows.append(
                {
                    "schema": schema,
                    "restored_as": new_schema,
                    "tables": done.tables,
                    "rows": done.rows,
                    "audit_entries": manifest["tables"]["schools_auditentry"]["rows"],
                    "export_seconds": export,
                    "export_bytes": size,
                    "restore_seconds": restore,
                    "pg_dump_seconds": dump,
                    "pg_dump_bytes": dump_size,
                    "pg_dump_max_rss_bytes": dump_rss,
                }
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    exports = summary([r["export_seconds"] for r in rows])
    restores = summary([r["restore_seconds"] for r in rows])
    dumps = summary([r["pg_dump_seconds"] for r in rows if r["pg_dump_seconds"] is not None])
    value, base = exports["p50"], dumps["p50"]
    ratio = base / value if value and base else None
    goal_met = bool(
        value is not None
        and base is not None
        and value < base
        and restores["p50"] is not None
        and restores["p50"] < base
    )
    result = Result(
        name=NAME,
        metric=f"seconds to export one school (tenants.backups.backup_school: per-table COPY, SHA-256, gzip, manifest)"
        f" with {n} schools in the database (median of {len(rows)} schools)",
        unit="s",
        value=value,
        baseline={"what": f"pg_dump -n <schema> -Fc of the same school, same run, {n} schools", "value": base},
        ratio=ratio,
        goal=GOAL,
        scale=scale.name,
        runs=len(rows),
        p50=value,
        p95=exports["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "schools": n,
        "export": exports,
        "restore": restores,
        "pg_dump": dumps,
        "restore_vs_pg_dump": base / restores["p50"] if base and restores["p50"] else None,
        "samples": rows,
        **({"error": error} if error else {}),
        "timing": "wall clock (time.perf_counter), database and app on the same machine; restore includes the "
        "template DDL replay, the load, the verification (copied out again, the audit chain recomputed), the switch "
        "and the rollup reconciliation",
    }
    path = result.write(results_dir, extra)
    say(
        f"{NAME}: export p50 {fmt(value)} s, p95 {fmt(exports['p95'])} s per school; restore p50 "
        f"{fmt(restores['p50'])} s, p95 {fmt(restores['p95'])} s ({len(rows)} schools of {n})"
    )
    say(
        f"{NAME}: baseline pg_dump -n p50 {fmt(dumps['p50'])} s, p95 {fmt(dumps['p95'])} s per school"
        f"{' ERROR ' + error if error else ''}"
    )
    say(f"{NAME}: ratio {fmt(ratio, 1)}×; goal {GOAL}: {'met' if goal_met else 'NOT met'} → {path}")
    return result
