"""The window benchmarks run end to end at a tiny size (``bench.run --scale tiny --only windows_…``) in a subprocess.

No time is asserted (BENCH.md): the result files carry every field BENCH.md fixes, and what the benchmarks prove
besides the times holds — the triggers measured really refuse a locked save and are left enabled; right after each
change of the province window a write in a random school is refused (lock) or accepted (re-opening).
The subprocess gets its own throwaway database on the test server; the benchmark drops it at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support import admin_connection, database_url_named, server_database_url

REPO = Path(__file__).resolve().parents[2]
REQUIRED = ("name", "metric", "unit", "value", "baseline", "ratio", "goal", "scale", "runs", "p50", "p95", "machine")
NAMES = ("windows_check_overhead", "windows_change_2000")


def _exists(server: str, name: str) -> bool:
    with admin_connection(server) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_window_benchmarks_write_complete_results(tmp_path):
    server = server_database_url()
    name = f"hocba_benchtest_windows_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in {"BENCH_DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["BENCH_WINDOWS_DATABASE_URL"] = database_url_named(server, name)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    env["BENCH_ROLLUP_MODES"] = "inline,outbox"  # bench.rollup_modes: both rollup modes in the same run
    results = tmp_path / "results"
    try:
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
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        assert not _exists(server, name)  # dropped at the end
    finally:
        with admin_connection(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    printed = proc.stdout.splitlines()
    for bench in NAMES:
        assert any(line.startswith(f"{bench}: ") and "→" in line for line in printed), proc.stdout
        data = json.loads((results / f"{bench}.json").read_text(encoding="utf-8"))
        assert [f for f in REQUIRED if f not in data] == []
        assert data["name"] == bench and data["scale"] == "tiny" and data["goal"] and data["unit"] == "ms"
        assert set(data["baseline"]) >= {"what", "value"} and data["baseline"]["what"]
        assert isinstance(data["baseline"]["value"], int | float) and data["baseline"]["value"] > 0
        assert set(data["machine"]) >= {"cores", "python", "postgres"}
        assert data["runs"] >= 1
        for field in ("value", "p50", "p95", "ratio"):
            assert isinstance(data[field], int | float), (bench, field, data[field])
        assert isinstance(data["goal_met"], bool)

    check = json.loads((results / "windows_check_overhead.json").read_text(encoding="utf-8"))
    assert check["windows"] == 20 and check["database_user"] == "hocba_app"
    assert check["refused_once_a_window_locked"] is True
    assert check["triggers_enabled_after"] == {"window_ins": True, "window_upd": True, "window_del": True}
    assert check["with_windows_ms"]["runs"] == check["without_window_triggers_ms"]["runs"] == check["runs"]
    assert check["window_triggers_explain_ms"]["per_save"]["runs"] >= 1

    modes = check["rollup_modes"]
    assert modes["modes"] == ["inline", "outbox"] and modes["rounds"] >= 1
    assert modes["wall_ms"]["inline"]["runs"] == modes["wall_ms"]["outbox"]["runs"] >= 1
    assert modes["rollup_write_ms"]["outbox"]["runs"] == modes["wall_ms"]["outbox"]["runs"]
    assert isinstance(modes["ratio_p50"], float) and isinstance(modes["ratio_p95"], float)
    assert modes["rows_drained"] == modes["rounds"] * modes["block"]  # one outbox row per save, each drained once

    change = json.loads((results / "windows_change_2000.json").read_text(encoding="utf-8"))
    assert set(change["rollup_modes"]["wall_ms"]) == {"inline", "outbox"}
    probe = change["rollup_outbox_sweep_probe_ms"]
    assert probe["schools"] >= 4 and probe["schools_with_rows"] == 0 and probe["runs"] == 3
    rounds = change["lock_ms"]["runs"]
    assert rounds >= 1 and change["runs"] == 2 * rounds and change["database_user"] == "hocba_app"
    assert change["schools_covered"] == 4 and change["fill"]["schools"] == 4
    assert change["refused_after_lock"] == rounds and change["accepted_after_reopen"] == rounds
    assert change["unexpected_answers"] == 0
    assert all(
        s["refused_after_lock"] and s["sqlstate"] == "HB423" and s["accepted_after_reopen"] for s in change["samples"]
    )
