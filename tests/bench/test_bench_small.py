"""The benchmarks run end to end at a tiny size (``bench.run --scale tiny``) in a subprocess: provisioning, the
migrations, the boards and the record books here, the sheets, windows and backup in their own tests.

No time is asserted (BENCH.md): the result files must carry every field BENCH.md fixes, and the schools the
benchmark provisioned must really exist (their schema, with the template schema's tables and migrations).
The subprocess gets its own throwaway database on the test server, created and dropped here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.servers import throwaway_database

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("name", "metric", "unit", "value", "baseline", "ratio", "goal", "scale", "runs", "p50", "p95", "machine")
TEMPLATE_SCHEMA = "school_template"
HERE = ("provision", "migrate_noop", "migrate_addcolumn", "boards", "record_books")


@pytest.fixture
def bench_database():
    yield from throwaway_database("hocba_benchtest")


def _tables(conn, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.server  # sheet_load serves the app with gunicorn
def test_benchmarks_write_complete_results_and_real_schools(bench_database, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"BENCH_DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = bench_database
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    results = tmp_path / "results"
    proc = subprocess.run(
        # the sheet, window and backup benchmarks run in their own tests (tests/bench/test_bench_*_small.py)
        [sys.executable, "-m", "bench.run", "--scale", "tiny", "--only", ",".join(HERE), "--keep"]
        + ["--results-dir", str(results)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    printed = proc.stdout.splitlines()
    for name in ("boards", "record_books"):  # each in a child process with its own database
        data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        assert [f for f in REQUIRED if f not in data] == [], name
        assert data["name"] == name and data["scale"] == "tiny" and data["goal"] and "goal_met" in data
    for name in ("provision", "migrate_noop", "migrate_addcolumn"):
        assert any(line.startswith(f"{name}: ") for line in printed), proc.stdout
        data = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        assert [f for f in REQUIRED if f not in data] == []
        assert data["name"] == name and data["scale"] == "tiny" and data["goal"]
        assert set(data["baseline"]) >= {"what", "value"} and data["baseline"]["what"]
        assert set(data["machine"]) >= {"cores", "python", "postgres"}
        assert data["runs"] >= 1
        for field in ("value", "p50", "p95", "ratio"):
            assert isinstance(data[field], int | float) and data[field] > 0, (name, field, data[field])
        assert isinstance(data["baseline"]["value"], int | float) and data["baseline"]["value"] > 0
        assert data["p50"] <= data["p95"]

    provision = json.loads((results / "provision.json").read_text(encoding="utf-8"))
    assert provision["runs"] == 3 and provision["schools_before"] == 5
    assert len(provision["baselines"]) == 2 and all("error" not in b for b in provision["baselines"])
    assert provision["verified"]["ok"] is True
    noop = json.loads((results / "migrate_noop.json").read_text(encoding="utf-8"))
    assert noop["all_at_head"] is True and noop["schools"] == provision["schools_after"]
    addcolumn = json.loads((results / "migrate_addcolumn.json").read_text(encoding="utf-8"))
    assert addcolumn["all_at_head"] is True and addcolumn["schools"] == provision["schools_after"]
    during = addcolumn["old_pods"]["during_migration"]
    assert during["operations"] > 0 and during["errors"] == 0, during  # the old release kept working

    # The kept database: every school the benchmark made is a real, complete schema.
    with psycopg.connect(bench_database) as conn:
        schools = dict(conn.execute("SELECT schema_name, slug FROM tenants_school").fetchall())
        replayed = sorted(s for s, slug in schools.items() if slug.startswith("bench-"))
        assert len(replayed) == 5 + 3
        assert len(schools) == provision["schools_after"]
        template_tables = _tables(conn, TEMPLATE_SCHEMA)
        assert "django_migrations" in template_tables and len(template_tables) >= 2
        template_migrations = set(
            conn.execute(f'SELECT app, name FROM "{TEMPLATE_SCHEMA}".django_migrations').fetchall()
        )
        assert template_migrations
        present = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
        for schema in schools:
            assert schema in present, schema
            assert _tables(conn, schema) == template_tables, schema
            applied = set(conn.execute(f'SELECT app, name FROM "{schema}".django_migrations').fetchall())
            assert template_migrations <= applied, schema
        domains = conn.execute("SELECT count(*) FROM tenants_domain").fetchone()[0]
        assert domains == len(schools)
