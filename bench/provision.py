"""``provision``: seconds per school to provision through ``school_create`` (DDL replay) on top of many schools.

The bench database gets the public schema, a province and a unit, then ``scale.existing`` schools (the
fill, through ``school_create`` in ``scale.fill_workers`` forked processes, timed and reported), then
``scale.new`` schools through ``school_create`` one after another in this process: each one is a run.

Baselines, measured in the same run and at the same catalog sizes (their samples are interleaved evenly
between the measured schools, after one untimed warm-up each):

* django-tenants' migration path, as ``TenantMixin.create_schema`` does it without a base schema: the same
  public rows as ``school_create`` (School, Domain, placement, audit entry; committed), ``CREATE SCHEMA``,
  then ``migrate_schemas --tenant --schema=<name>``;
* django-tenants' ``clone_schema`` from the template schema (``settings.TENANT_TEMPLATE_SCHEMA``, default
  ``DATA`` mode), in the same transaction as the same public rows. ``TenantMixin.create_schema`` follows
  a clone with ``migrate_schemas --fake``; that step is timed too and reported beside it.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from unittest import mock

from .common import Deadline, Result, Scale, catalog_size, fmt, say, summary

NAME = "provision"
GOAL = "≤ 0.5 s per school at 2,000 schools and ≥ 10× the migration path"
LEVELS = ("Tiểu học", "THCS", "THPT", "Tiểu học, THCS")
PROVINCE_CODE = "BENCH"
UNIT_CODE = "BENCH-01"


def school_fields(index: int) -> dict:
    return {
        "code": f"BN{index:08d}",
        "name": f"Trường Bench số {index}",
        "levels": LEVELS[index % len(LEVELS)],
        "slug": f"bench-{index:05d}",
    }


def _stock_fields(kind: str, label: str) -> dict:
    return {
        "code": f"ST-{kind}-{label}",
        "name": f"Trường đối chứng {kind} {label}",
        "levels": "THCS",
        "slug": f"stock-{kind}-{label}",
    }


# --- the database ---------------------------------------------------------------------------------


def build_public() -> dict:
    """Migrate public, create the province and the unit, capture the template; return timings and the unit id."""
    from django.core.management import call_command

    from tenants import provisioning
    from tenants.models import UnitKind
    from tenants.services.units import unit_create

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        call_command("migrate_schemas", "--shared", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    province = unit_create(actor=None, kind=UnitKind.PROVINCE, name="Sở GD&ĐT Bench", official_code=PROVINCE_CODE)
    unit = unit_create(actor=None, kind=UnitKind.COMMUNE, name="Xã Bench", official_code=UNIT_CODE, parent=province)
    template = provisioning.template_current()
    done = time.perf_counter()
    return {
        "unit_id": unit.id,
        "public_migrate_seconds": migrated - started,
        "template_seconds": done - migrated,
        "template_statements": template.statements,
    }


def bench_unit():
    from tenants.models import UnitVersion

    return UnitVersion.objects.get(official_code=UNIT_CODE, valid_to__isnull=True).unit


def _create(unit, index: int):
    from tenants.services.schools import school_create

    return school_create(actor=None, unit=unit, **school_fields(index))


def _fill_chunk(unit_id: int, indexes: list[int], deadline_end: float) -> tuple[int, float]:
    from tenants.models import AdministrativeUnit

    unit = AdministrativeUnit.objects.get(pk=unit_id)
    made, started = 0, time.perf_counter()
    for index in indexes:
        if time.monotonic() >= deadline_end:
            break
        _create(unit, index)
        made += 1
    return made, time.perf_counter() - started


def _worker_init() -> None:
    from django.db import connections

    connections.close_all()


def fill(unit_id: int, start: int, count: int, *, workers: int, deadline: Deadline, chunk: int = 25) -> dict:
    """Create schools ``start .. start+count-1`` through ``school_create``; bounded by count and deadline."""
    from django.db import connections

    started = time.perf_counter()
    indexes = list(range(start, start + count))
    chunks = [indexes[i : i + chunk] for i in range(0, len(indexes), chunk)]
    made = 0
    if workers <= 1 or len(chunks) <= 1:
        for part in chunks:
            if deadline.passed():
                break
            made += _fill_chunk(unit_id, part, deadline.end)[0]
    else:
        connections.close_all()  # no connection crosses the fork
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures = [pool.submit(_fill_chunk, unit_id, part, deadline.end) for part in chunks]
            step = max(1, len(futures) // 10)
            for done, future in enumerate(as_completed(futures), 1):
                made += future.result()[0]
                if done % step == 0:
                    print(
                        f"  fill: {made}/{count} schools, {time.perf_counter() - started:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    seconds = time.perf_counter() - started
    return {
        "schools": made,
        "requested": count,
        "seconds": seconds,
        "per_school": seconds / made if made else None,
        "workers": workers,
        "stopped_by_deadline": made < count,
        "method": f"school_create in {workers} forked process(es), {chunk} schools per task",
    }


def school_count() -> int:
    from tenants.models import School

    return School.objects.count()


# --- the baselines --------------------------------------------------------------------------------


def _quiet_call(*args, **kwargs) -> None:
    from django.core.management import call_command

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        call_command(*args, interactive=False, verbosity=0, stdout=sink, stderr=sink, **kwargs)


def stock_migrations_sample(unit, label: str) -> dict:
    """Public rows as school_create writes them, then CREATE SCHEMA and migrate_schemas (stock path)."""
    from django.db import connection
    from psycopg import sql

    from tenants import provisioning
    from tenants.services.schools import school_create

    t0 = time.perf_counter()
    with mock.patch.object(provisioning, "schema_create", lambda schema_name: None):
        school = school_create(actor=None, unit=unit, **_stock_fields("mig", label))
    t1 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(school.schema_name)).as_string(cursor.connection)
        )
    _quiet_call("migrate_schemas", tenant=True, schema_name=school.schema_name)
    t2 = time.perf_counter()
    return {"schema": school.schema_name, "seconds": t2 - t0, "public_rows": t1 - t0, "migrate": t2 - t1}


def stock_clone_sample(unit, label: str) -> dict:
    """Public rows and clone_schema(template) in one transaction; then migrate_schemas --fake as django-tenants does."""
    from django.conf import settings
    from django_tenants.clone import CloneSchema

    from tenants import provisioning
    from tenants.services.schools import school_create

    def clone(schema_name: str) -> None:
        CloneSchema().clone_schema(settings.TENANT_TEMPLATE_SCHEMA, schema_name, set_connection=True)

    t0 = time.perf_counter()
    with mock.patch.object(provisioning, "schema_create", clone):
        school = school_create(actor=None, unit=unit, **_stock_fields("clone", label))
    t1 = time.perf_counter()
    _quiet_call("migrate_schemas", tenant=True, fake=True, schema_name=school.schema_name)
    t2 = time.perf_counter()
    return {
        "schema": school.schema_name,
        "seconds": t1 - t0,
        "fake_migrate": t2 - t1,
        "with_fake_migrate": t2 - t0,
        "functions_bound_to_template": _functions_bound_to(school.schema_name, settings.TENANT_TEMPLATE_SCHEMA),
    }


def _functions_bound_to(schema_name: str, other: str) -> list[str]:
    """Functions of ``schema_name`` whose fixed search_path still names ``other`` (a clone that kept the source's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND array_to_string(p.proconfig, ',') LIKE %s ORDER BY 1",
            [schema_name, f"%search_path=%{other}%"],
        )
        return [r[0] for r in cursor.fetchall()]


class _Baseline:
    def __init__(self, what: str, sample):
        self.what = what
        self.sample = sample
        self.samples: list[dict] = []
        self.warmup: dict | None = None
        self.error = ""

    def take(self, unit, label: str, warmup: bool = False) -> None:
        if self.error:
            return
        try:
            result = self.sample(unit, label)
        except Exception as exc:  # reported in the result; the other figures still stand
            self.error = f"{type(exc).__name__}: {exc}"
            say(f"{NAME}: baseline {self.what!r} failed: {self.error}")
            return
        if warmup:
            self.warmup = result
        else:
            self.samples.append(result)

    def figures(self) -> dict:
        times = [s["seconds"] for s in self.samples]
        out = {
            "what": self.what,
            "value": summary(times)["p50"],
            **summary(times),
            "warmup": self.warmup,
            "samples": self.samples,
        }
        if self.error:
            out["error"] = self.error
        return out


# --- the benchmark --------------------------------------------------------------------------------


def verify_schemas(schema_names: list[str]) -> dict:
    """Each schema exists and holds exactly the template schema's tables."""
    from django.conf import settings
    from django.db import connection

    template = settings.TENANT_TEMPLATE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, array_agg(c.relname::text ORDER BY c.relname) FILTER (WHERE c.oid IS NOT NULL)"
            " FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p')"
            " WHERE n.nspname = ANY(%s) GROUP BY n.nspname",
            [[template, *schema_names]],
        )
        tables = {name: list(rel or []) for name, rel in cursor.fetchall()}
    expected = tables.get(template, [])
    missing = [s for s in schema_names if s not in tables]
    different = [s for s in schema_names if s in tables and tables[s] != expected]
    return {
        "checked": len(schema_names),
        "tables_per_school": len(expected),
        "missing_schemas": missing[:20],
        "schemas_with_other_tables": different[:20],
        "ok": bool(expected) and not missing and not different,
    }


def run(scale: Scale, results_dir: Path, machine: dict) -> Result:
    """The bench database is fresh (public migrated by ``build_public``); fill, measure, compare."""
    from django.conf import settings

    from tenants.models import School

    setup = build_public()
    unit = bench_unit()
    fill_info = fill(
        setup["unit_id"],
        1,
        max(0, scale.existing - 1),
        workers=scale.fill_workers,
        deadline=Deadline(scale.fill_deadline),
    )
    # One more, in this process: the fill's last school is this process's warm-up of school_create.
    t0 = time.perf_counter()
    if scale.existing:
        _create(unit, 0)
    fill_info["warmup_seconds"] = time.perf_counter() - t0
    before = school_count()
    say(
        f"{NAME}: fill {fill_info['schools'] + (1 if scale.existing else 0)} schools in {fill_info['seconds']:.1f} s "
        f"({fmt(fill_info['per_school'])} s/school, {scale.fill_workers} worker(s), school_create)"
    )

    migrations = _Baseline(
        "django-tenants migration path: public rows, CREATE SCHEMA, migrate_schemas --tenant --schema",
        stock_migrations_sample,
    )
    clones = _Baseline(
        "django-tenants clone_schema(template, DATA) with the public rows, one transaction", stock_clone_sample
    )
    baseline_deadline = Deadline(scale.baseline_deadline)
    if scale.samples:
        migrations.take(unit, "w", warmup=True)
        clones.take(unit, "w", warmup=True)
    positions = {int((k + 0.5) * scale.new / scale.samples) for k in range(scale.samples)} if scale.samples else set()

    catalog_before = catalog_size()
    deadline = Deadline(scale.measure_deadline)
    replay: list[float] = []
    new_schemas: list[str] = []
    stopped_early = False
    measure_started = time.perf_counter()
    for i in range(scale.new):
        if deadline.passed():
            stopped_early = True
            break
        index = scale.existing + i
        t0 = time.perf_counter()
        school = _create(unit, index)
        replay.append(time.perf_counter() - t0)
        new_schemas.append(school.schema_name)
        if i in positions and not baseline_deadline.passed():
            label = f"{len(migrations.samples) + 1:02d}"
            migrations.take(unit, label)
            clones.take(unit, label)
    measure_seconds = time.perf_counter() - measure_started
    catalog_after = catalog_size()
    after = school_count()
    verified = verify_schemas(new_schemas)

    stats = summary(replay)
    mig, clo = migrations.figures(), clones.figures()
    value = stats["p50"]
    ratio = (mig["value"] / value) if value and mig["value"] else None
    clone_ratio = (clo["value"] / value) if value and clo["value"] else None
    clone_fake = [s["with_fake_migrate"] for s in clones.samples]
    bound = sorted({f for s in clones.samples for f in s["functions_bound_to_template"]})
    if bound:
        clo["defect"] = (
            f"the cloned schemas' functions {', '.join(bound)} keep search_path={settings.TENANT_TEMPLATE_SCHEMA}: "
            "their audit entries would land in the template schema"
        )
    clo["with_fake_migrate_p50"] = summary(clone_fake)["p50"]
    goal_met = bool(value is not None and value <= 0.5 and ratio is not None and ratio >= 10 and verified["ok"])

    result = Result(
        name=NAME,
        metric="seconds per school to provision one more school through school_create (public rows, domain, "
        "placement, audit entry and DDL replay of the template in one transaction), p50 over the new schools",
        unit="s/school",
        value=value,
        baseline={
            "what": mig["what"] + ", p50 of samples interleaved at the same catalog sizes",
            "value": mig["value"],
        },
        ratio=ratio,
        goal=GOAL,
        scale=scale.name,
        runs=stats["runs"],
        p50=stats["p50"],
        p95=stats["p95"],
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "baselines": [mig, clo],
        "ratio_clone_schema": clone_ratio,
        "replay": {
            **stats,
            "total_seconds": sum(replay),
            "loop_seconds": measure_seconds,
            "stopped_by_deadline": stopped_early,
        },
        "schools_before": before,
        "schools_after": after,
        "catalog_before": catalog_before,
        "catalog_after": catalog_after,
        "tables_per_school": verified["tables_per_school"],
        "verified": verified,
        "fill": fill_info,
        "setup": setup,
        "timing": "wall clock (time.perf_counter), database and app on the same machine",
    }
    path = result.write(results_dir, extra)

    say(
        f"{NAME}: DDL replay (school_create) p50 {fmt(value)} s/school, p95 {fmt(stats['p95'])}, "
        f"{stats['runs']} schools on top of {before} in {sum(replay):.1f} s ({after} schools in the database, "
        f"baselines' included){' (stopped by deadline)' if stopped_early else ''}"
    )
    say(
        f"{NAME}: baseline django-tenants migrate_schemas p50 {fmt(mig['value'])} s/school, p95 {fmt(mig['p95'])}, "
        f"{mig['runs']} samples{' ERROR ' + migrations.error if migrations.error else ''}"
    )
    say(
        f"{NAME}: baseline django-tenants clone_schema p50 {fmt(clo['value'])} s/school, p95 {fmt(clo['p95'])}, "
        f"{clo['runs']} samples (+ migrate_schemas --fake: p50 {fmt(clo['with_fake_migrate_p50'])})"
        f"{'; DEFECT: ' + clo['defect'] if clo.get('defect') else ''}"
        f"{' ERROR ' + clones.error if clones.error else ''}"
    )
    say(
        f"{NAME}: ratio {fmt(ratio, 1)}× vs migration path, {fmt(clone_ratio, 1)}× vs clone_schema; "
        f"goal {GOAL}: {'met' if goal_met else 'NOT met'}; schemas verified: {verified['ok']} → {path}"
    )
    assert School.objects.filter(schema_name__in=new_schemas).count() == len(new_schemas)
    return result
