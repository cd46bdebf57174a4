"""The backup/restore benchmark end to end at a tiny size, in a subprocess on a throwaway database: its result file
carries every field BENCH.md fixes and the school it restored is a verified copy. No time is asserted."""

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


@pytest.fixture
def bench_database():
    yield from throwaway_database("hocba_benchtest_br")


def test_backup_restore_bench_writes_a_complete_result(bench_database, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"BENCH_DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = bench_database
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "tiny", "--only", "backup_restore", "--keep"]
        + ["--results-dir", str(results)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    data = json.loads((results / "backup_restore.json").read_text(encoding="utf-8"))
    assert [f for f in REQUIRED if f not in data] == []
    assert data["scale"] == "tiny" and data["runs"] >= 1 and isinstance(data["goal_met"], bool)
    assert data["value"] > 0 and data["baseline"]["value"] > 0 and data["restore"]["p50"] > 0
    sample = data["samples"][0]
    assert sample["rows"] > 0 and sample["audit_entries"] > 0
    with psycopg.connect(bench_database) as conn:
        schemas = [r[0] for r in conn.execute("SELECT schema_name FROM tenants_school").fetchall()]
        assert sample["restored_as"] in schemas and sample["schema"] not in schemas
        count = conn.execute(f'SELECT count(*) FROM "{sample["restored_as"]}".schools_auditentry').fetchone()[0]
        assert count == sample["audit_entries"]
