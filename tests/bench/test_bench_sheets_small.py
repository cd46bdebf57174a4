"""The grade-sheet benchmarks run end to end at a tiny size (``bench.run --scale tiny --only <the four>``).

No time is asserted (BENCH.md): the result files carry every field BENCH.md fixes, the query count of a save
is the same for 5 and 45 students, and the values the benchmarks saved really are in the database (checked
here on the kept database, independently of the benchmark's own check). The subprocess gets a throwaway
database of its own on the test server (``BENCH_SHEETS_DATABASE_URL``), created and dropped here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.servers import throwaway_database

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("name", "metric", "unit", "value", "baseline", "ratio", "goal", "scale", "runs", "p50", "p95", "machine")
NAMES = ("sheet_save_one", "sheet_save_full", "audit_overhead", "sheet_load", "sheet_load_one_column")


@pytest.fixture
def sheets_database():
    yield from throwaway_database("hocba_benchtest_sheets")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _held(conn, schema: str, cell: dict):
    row = conn.execute(
        f'SELECT score, verdict, text FROM "{schema}".schools_assessment'
        " WHERE student_id = %s AND subject_id = %s AND term = %s AND kind = %s AND seq = %s",
        [cell["student"], cell["subject"], cell["term"], cell["kind"], cell["seq"]],
    ).fetchone()
    assert row is not None, cell
    return row


def _matches(row, value: str) -> bool:
    score, verdict, text = row
    if score is not None:
        return score == Decimal(value.replace(",", "."))
    return value in (text, verdict, {"D": "Đ", "CD": "CĐ"}.get(verdict))


@pytest.mark.server  # sheet_load serves the app with gunicorn
def test_sheet_benchmarks_write_complete_results_and_really_save(sheets_database, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"BENCH_DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        BENCH_SHEETS_DATABASE_URL=sheets_database,
        BENCH_SHEETS_KEEP="1",
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    env.pop("BENCH_SHEETS_PYSPY", None)
    results = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--scale",
            "tiny",
            "--only",
            ",".join(NAMES),
            "--results-dir",
            str(results),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    printed = proc.stdout.splitlines()
    data = {}
    for name in NAMES:
        assert any(line.startswith(f"{name}: ") for line in printed), proc.stdout
        d = json.loads((results / f"{name}.json").read_text(encoding="utf-8"))
        data[name] = d
        assert [f for f in REQUIRED if f not in d] == []
        assert d["name"] == name and d["scale"] == "tiny" and d["goal"] and d["metric"] and d["unit"]
        assert set(d["baseline"]) >= {"what", "value"} and d["baseline"]["what"]
        assert _number(d["baseline"]["value"]) and d["baseline"]["value"] > 0
        assert set(d["machine"]) >= {"cores", "python", "postgres"}
        assert d["runs"] >= 1
        for field in ("value", "p50", "p95", "ratio"):
            assert _number(d[field]), (name, field, d[field])
        assert d["p50"] <= d["p95"]
        assert isinstance(d["goal_met"], bool)

    one = data["sheet_save_one"]
    assert one["database_user"] == "hocba_app"  # measured as the application's role, not the owner
    assert one["students"] == 45 and one["values_per_save"] == 45 * 7 and one["written_per_save"] == 45 * 7
    assert one["queries_by_students"] == {"45": one["queries"], "5": one["queries"]} and one["queries_constant"] is True
    assert one["queries"] <= 10 < one["baseline_queries"]
    assert one["baseline_queries_by_students"]["45"] > one["baseline_queries_by_students"]["5"]
    assert one["value"] > 0 and one["baseline"]["value"] > 0 and one["verified"]["ok"] is True

    full = data["sheet_save_full"]
    assert len(full["subjects"]) == 12 and full["values_per_save"] == full["students"] * 12 * 6
    by_size = full["queries_by_size"]  # whole class, 5 students, one subject: the same statements
    assert len(by_size) == 3 and len(set(by_size.values())) == 1 and full["queries_constant"] is True
    assert full["verified"]["ok"] is True and full["written_per_save"] == full["values_per_save"]

    audit = data["audit_overhead"]
    assert set(audit["one_subject"]) >= {"with_audit_ms", "without_audit_ms", "overhead_pct_of_save"}
    assert audit["one_subject"]["audit_entries_written"]["without_audit"] == 0
    assert audit["one_subject"]["audit_entries_written"]["with_audit"] > 0
    assert all(audit["triggers_enabled_after"].values()) and len(audit["triggers_enabled_after"]) == 3
    assert audit["audit_chain_first_broken_link"] is None

    load = data["sheet_load"]
    for d in (load, data["sheet_load_one_column"]):
        assert d["errors"] == 0 and d["levels"] and all(lv["errors"] == 0 for lv in d["levels"])
        assert d["verified"]["ok"] is True and d["verified"]["every_save_audited"] is True
    assert load["in_process_request"]["queries"] >= one["queries"]
    column = data["sheet_load_one_column"]
    # One column of the sheet changes per save: the upserts wrote a seventh of what every-value saves wrote.
    assert 0 < column["levels"][-1]["cells_written"] < load["levels"][-1]["cells_written"]

    assert audit["verified"]["ok"] is True

    # The kept database: the last values sent to each sheet are the rows' values, read here directly. The audit
    # benchmark saved the one-subject and full-class sheets last, the load generator its own classes' sheets.
    schema = one["school"]["schema"]
    with psycopg.connect(sheets_database) as conn:
        # The load generator's sheets were written last by the one-column run.
        cells = (
            audit["verified"]["one_subject"]["sample"]
            + [c for s in audit["verified"]["full_class"] for c in s["sample"]]
            + column["verified"]["samples"]
        )
        assert len(cells) >= 1 + 12 + column["verified"]["sheets"]
        for cell in cells:
            assert _matches(_held(conn, schema, cell), cell["value"]), cell
        assert conn.execute(f'SELECT "{schema}".audit_first_broken_link()').fetchone()[0] is None
        entries = conn.execute(
            f"SELECT count(*) FROM \"{schema}\".schools_auditentry WHERE table_name = 'schools_assessment'"
            " AND operation = 'UPDATE'"
        ).fetchone()[0]
        assert (
            entries >= one["runs"] + load["verified"]["saves_acknowledged"] + column["verified"]["saves_acknowledged"]
        )
