"""Run the benchmarks: ``python -m bench.run --scale full|small|tiny [--only a,b] [--keep]`` (``make bench``).

Every benchmark runs against the bench database (see ``bench.common.bench_database_url``): dropped and
re-created when ``provision`` runs (or when ``migrate_noop`` runs alone and finds no database built at this
scale), dropped at the end unless ``--keep`` (or ``BENCH_KEEP=1``). Results go to ``bench/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from . import boards_bench, common, record_books, sheets, windows_bench

BENCHMARKS = (
    "provision",
    "migrate_noop",
    "migrate_addcolumn",  # after migrate_noop: it moves the schools to a new head
    "backup_restore",
    *sheets.NAMES,
    *windows_bench.NAMES,
    *boards_bench.NAMES,
    *record_books.NAMES,
)  # sheets/windows_bench/boards_bench/record_books.NAMES: child process, own database


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(common.SCALES), default="full")
    parser.add_argument("--only", default="", help="comma-separated benchmark names: " + ", ".join(BENCHMARKS))
    parser.add_argument(
        "--keep",
        action="store_true",
        default=os.environ.get("BENCH_KEEP", "") not in {"", "0"},
        help="keep the bench database (migrate_noop alone reuses it); also BENCH_KEEP=1, "
        "e.g. make bench BENCH=provision BENCH_KEEP=1",
    )
    parser.add_argument("--results-dir", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--existing", type=int, help="override the scale: schools before the measured ones")
    parser.add_argument("--new", type=int, help="override the scale: measured schools")
    parser.add_argument("--samples", type=int, help="override the scale: provisioning baseline samples per method")
    parser.add_argument("--noop-samples", type=int, help="override the scale: stock migrate_schemas samples")
    parser.add_argument("--runs", type=int, help="override the scale: timed migrate_schools passes")
    return parser.parse_args(argv)


def scale_from(args: argparse.Namespace) -> common.Scale:
    scale = common.SCALES[args.scale]
    overrides = {
        k: v
        for k, v in {
            "existing": args.existing,
            "new": args.new,
            "samples": args.samples,
            "noop_samples": args.noop_samples,
            "noop_runs": args.runs,
        }.items()
        if v is not None
    }
    if overrides:
        if any(v < 0 for v in overrides.values()):
            raise SystemExit("bench: sizes must not be negative")
        scale = dataclasses.replace(scale, name=f"{scale.name}+custom", **overrides)
    return scale


def _schools_in(url: str) -> int:
    """Schools in an existing bench database; 0 when it is missing or not built."""
    import psycopg

    if not common.database_exists(url):
        return 0
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            return conn.execute("SELECT count(*) FROM tenants_school").fetchone()[0]
    except psycopg.Error:
        return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = scale_from(args)
    selected = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in selected if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"bench: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    status = 0
    if [n for n in selected if n in sheets.NAMES]:
        status = sheets.launch([n for n in selected if n in sheets.NAMES], args.scale, args.results_dir)
        selected = [n for n in selected if n not in sheets.NAMES]
        if not selected:
            return status
    if [n for n in selected if n in windows_bench.NAMES]:
        status = (
            windows_bench.launch([n for n in selected if n in windows_bench.NAMES], args.scale, args.results_dir)
            or status
        )
        selected = [n for n in selected if n not in windows_bench.NAMES]
        if not selected:
            return status
    if [n for n in selected if n in boards_bench.NAMES]:
        status = (
            boards_bench.launch([n for n in selected if n in boards_bench.NAMES], args.scale, args.results_dir)
            or status
        )
        selected = [n for n in selected if n not in boards_bench.NAMES]
        if not selected:
            return status

    if [n for n in selected if n in record_books.NAMES]:
        status = (
            record_books.launch([n for n in selected if n in record_books.NAMES], args.scale, args.results_dir)
            or status
        )
        selected = [n for n in selected if n not in record_books.NAMES]
        if not selected:
            return status

    url = common.bench_database_url()
    common.prepare_environment(url)
    reuse = "provision" not in selected and _schools_in(url) >= scale.target
    if not reuse:
        common.database_recreate(url)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.DEBUG = False  # no query log: it costs time and memory over thousands of schools

    from . import backup_restore, migrate_addcolumn, migrate_noop, provision

    started = time.perf_counter()
    failed = False
    try:
        machine = common.machine()
        if "provision" in selected:
            provision.run(scale, args.results_dir, machine)
        elif not reuse:
            setup = provision.build_public()
            built = provision.fill(
                setup["unit_id"],
                0,
                scale.target,
                workers=scale.fill_workers,
                deadline=common.Deadline(scale.fill_deadline),
            )
            common.say(f"bench: built {built['schools']} schools for {', '.join(selected)} in {built['seconds']:.1f} s")
        if "migrate_noop" in selected:
            migrate_noop.run(scale, args.results_dir, machine)
        if "migrate_addcolumn" in selected:
            migrate_addcolumn.run(scale, args.results_dir, machine)
        if "backup_restore" in selected:  # last: it switches its sampled schools to restored schemas
            backup_restore.run(scale, args.results_dir, machine)
    except Exception:
        failed = True
        raise
    finally:
        connections.close_all()
        if args.keep:
            common.say(f"bench: kept database {common.database_name(url)}")
        else:
            common.database_drop(url)
        print(
            f"bench: {'failed' if failed else 'done'} in {time.perf_counter() - started:.1f} s (scale {scale.name})",
            file=sys.stderr,
            flush=True,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
