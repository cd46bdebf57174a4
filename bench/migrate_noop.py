"""``migrate_noop``: a migration pass over every school when all of them are already at head.

Measured: ``call_command("migrate_schools")`` (cheap per-school check, nothing to migrate), one untimed
warm-up then ``scale.noop_runs`` timed passes; value = median total seconds.

Baseline, in the same run: django-tenants' stock ``migrate_schemas --tenant``, timed one school at a time
(``--schema=<name>``) on ``scale.noop_samples`` schools spread over the list, and extrapolated to every
school (median seconds per school × schools). A school made by DDL replay has only the tenant apps'
migrations recorded; stock ``migrate_schemas`` first records every other app's migrations there, so each
sample gets one untimed settling pass before the timed one (both reported), and the timed pass is a no-op.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from pathlib import Path

from .common import Deadline, Result, Scale, fmt, say, summary

NAME = "migrate_noop"
GOAL = "≤ 60 s for 2,000 schools"
SUMMARY_RE = re.compile(r"(\d+) schools, (\d+) behind")


def _migrate_schools() -> tuple[float, int, int, str]:
    from django.core.management import call_command

    out = io.StringIO()
    t0 = time.perf_counter()
    call_command("migrate_schools", stdout=out, stderr=out)
    seconds = time.perf_counter() - t0
    text = out.getvalue()
    found = SUMMARY_RE.search(text)
    schools, behind = (int(found.group(1)), int(found.group(2))) if found else (-1, -1)
    return seconds, schools, behind, text


def _stock_pass(schema_name: str) -> float:
    from django.core.management import call_command

    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=schema_name,
            interactive=False,
            verbosity=0,
            stdout=sink,
            stderr=sink,
        )
    return time.perf_counter() - t0


def spread(items: list[str], count: int) -> list[str]:
    if count >= len(items):
        return list(items)
    return [items[int((k + 0.5) * len(items) / count)] for k in range(count)]


def run(scale: Scale, results_dir: Path, machine: dict) -> Result:
    from tenants.models import School

    schemas = list(School.objects.filter(status="active").order_by("schema_name").values_list("schema_name", flat=True))
    n = len(schemas)
    deadline = Deadline(scale.noop_deadline)

    warmup_seconds, _, warmup_behind, warmup_text = _migrate_schools()
    passes: list[dict] = []
    for _ in range(scale.noop_runs):
        if deadline.passed():
            break
        seconds, schools, behind, text = _migrate_schools()
        passes.append({"seconds": seconds, "schools": schools, "behind": behind})
    times = [p["seconds"] for p in passes]
    stats = summary(times)
    noop = all(p["behind"] == 0 and p["schools"] == n for p in passes)

    stock: list[dict] = []
    error = ""
    for schema in spread([s for s in schemas if s.startswith("s_bench_")] or schemas, scale.noop_samples):
        if deadline.passed():
            break
        try:
            settle = _stock_pass(schema)
            timed = _stock_pass(schema)
        except Exception as exc:  # reported; the measured figure still stands
            error = f"{type(exc).__name__}: {exc}"
            say(f"{NAME}: baseline failed on {schema}: {error}")
            break
        stock.append({"schema": schema, "seconds": timed, "settle_seconds": settle})
    per_school = summary([s["seconds"] for s in stock])
    baseline_total = per_school["p50"] * n if per_school["p50"] is not None else None

    value = stats["p50"]
    ratio = baseline_total / value if value and baseline_total else None
    at_2000 = value * 2000 / n if value is not None and n else None
    goal_met = bool(at_2000 is not None and at_2000 <= 60 and noop)

    result = Result(
        name=NAME,
        metric=f"seconds for call_command('migrate_schools') over all {n} schools when every school is at head "
        f"(median of {len(passes)} passes after a warm-up)",
        unit="s",
        value=value,
        baseline={
            "what": "django-tenants migrate_schemas --tenant (stock), no-op, timed per school with --schema on "
            f"{len(stock)} schools and extrapolated: median s/school × {n} schools",
            "value": baseline_total,
        },
        ratio=ratio,
        goal=GOAL,
        scale=scale.name,
        runs=len(passes),
        p50=stats["p50"],
        p95=stats["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "schools": n,
        "per_school": value / n if value is not None and n else None,
        "value_at_2000_schools": at_2000,
        "all_at_head": noop,
        "passes": passes,
        "warmup": {"seconds": warmup_seconds, "behind": warmup_behind, "output_tail": warmup_text[-300:]},
        "baselines": [
            {
                "what": "django-tenants migrate_schemas --tenant --schema=<one school>, no-op pass",
                "value": baseline_total,
                "per_school": per_school,
                "samples": stock,
                **({"error": error} if error else {}),
            }
        ],
        "timing": "wall clock (time.perf_counter), database and app on the same machine",
    }
    path = result.write(results_dir, extra)
    say(
        f"{NAME}: migrate_schools over {n} schools at head p50 {fmt(value, 2)} s, p95 {fmt(stats['p95'], 2)} "
        f"({fmt(extra['per_school'], 4)} s/school, {len(passes)} passes, all at head: {noop})"
    )
    say(
        f"{NAME}: baseline stock migrate_schemas --tenant p50 {fmt(per_school['p50'])} s/school, "
        f"p95 {fmt(per_school['p95'])} ({len(stock)} samples) → {fmt(baseline_total, 1)} s for {n} schools"
        f"{' ERROR ' + error if error else ''}"
    )
    say(
        f"{NAME}: ratio {fmt(ratio, 1)}×; at 2,000 schools {fmt(at_2000, 1)} s; goal {GOAL}: "
        f"{'met' if goal_met else 'NOT met'} → {path}"
    )
    return result
