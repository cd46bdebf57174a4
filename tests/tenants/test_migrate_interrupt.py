"""``migrate_schools`` interrupted mid-run (SIGTERM, SIGKILL) and run again: every school at head, none twice.

A throw-away database with ``SCHOOLS`` schools made by ``school_create``; a real new school migration from the
test-only app ``tests.tenants.migprobe`` (its subprocesses run with ``tests.tenants.migprobe.settings``): it adds a
nullable column with a default to ``schools_student``, sleeps, and logs one row per schema in the school's
transaction. One school already has a column of that name, so its migration fails: it must stay on its old version
with ``School.schema_error`` set and be listed by ``migrate_schools --check``, while the others proceed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest

from tests.servers import MANAGE, REPO, app_database, app_env, manage

pytestmark = pytest.mark.server

SCHOOLS = 12
WORKERS = 2
PROBE_SETTINGS = "tests.tenants.migprobe.settings"
FAILING = 3  # the index (in schema order) of the school whose migration fails

SEED = f"""
from bench import provision
from bench.common import Deadline
setup = provision.build_public()
made = provision.fill(setup["unit_id"], 0, {SCHOOLS}, workers=1, deadline=Deadline(120))
print("made", made["schools"])
"""


class Run:
    """``manage.py migrate_schools --workers 2`` with the probe app, in a session (process group) of its own."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(MANAGE), "migrate_schools", "--workers", str(WORKERS)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def progressed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("["))

    def wait_progress(self, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.progressed() < count:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        self._reader.join(5)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)[-4000:]


def _group_gone(pgid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def world():
    with app_database(f"hocba_migint_{uuid.uuid4().hex[:10]}") as url:
        env = {**app_env(url, "hocba.localhost"), "HOCBA_DB_ROLE": "owner"}
        out = manage(["shell", "-c", SEED], env, timeout=180, label="migrate-interrupt")
        assert f"made {SCHOOLS}" in out, out
        with psycopg.connect(url, autocommit=True) as conn:
            schemas = [r[0] for r in conn.execute("SELECT schema_name FROM tenants_school ORDER BY schema_name")]
            conn.execute("CREATE TABLE public.migprobe_log (id serial PRIMARY KEY, schema_name text NOT NULL)")
            # The conflicting object: this school's migration fails on it, every time.
            conn.execute(f'ALTER TABLE "{schemas[FAILING]}".schools_student ADD COLUMN probe_note integer')
        yield {"url": url, "schemas": schemas, "env": {**env, "DJANGO_SETTINGS_MODULE": PROBE_SETTINGS}}


def _reset(url: str, schemas: list[str]) -> None:
    """Every school back on its old version (the probe migration reversed by hand), the log emptied."""
    with psycopg.connect(url, autocommit=True) as conn:
        for i, schema in enumerate(schemas):
            if i != FAILING:
                conn.execute(f'ALTER TABLE "{schema}".schools_student DROP COLUMN IF EXISTS probe_note')
            conn.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'migprobe'")
        conn.execute("TRUNCATE public.migprobe_log")


def _state(url: str, schemas: list[str]) -> dict[str, tuple[int, int, str | None]]:
    """Per school: (migration records, log rows, the probe column's type or None)."""
    out = {}
    with psycopg.connect(url) as conn:
        for schema in schemas:
            recorded = conn.execute(
                f"SELECT count(*) FROM \"{schema}\".django_migrations WHERE app = 'migprobe'"
            ).fetchone()[0]
            logged = conn.execute(
                "SELECT count(*) FROM public.migprobe_log WHERE schema_name = %s", [schema]
            ).fetchone()[0]
            column = conn.execute(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'schools_student' AND column_name = 'probe_note'",
                [schema],
            ).fetchone()
            out[schema] = (recorded, logged, column[0] if column else None)
    return out


def _assert_whole(state: dict, failing: str) -> tuple[set[str], set[str]]:
    """No school half-migrated nor migrated twice; (migrated, behind)."""
    migrated, behind = set(), set()
    for schema, (recorded, logged, column) in state.items():
        if schema == failing:
            assert (recorded, logged, column) == (0, 0, "integer"), (schema, state[schema])
            behind.add(schema)
        elif recorded:
            assert (recorded, logged, column) == (1, 1, "text"), (schema, state[schema])
            migrated.add(schema)
        else:
            assert (logged, column) == (0, None), (schema, state[schema])
            behind.add(schema)
    return migrated, behind


@pytest.mark.parametrize("how", ["sigterm", "sigterm-group", "sigkill-group"])
def test_interrupted_run_is_finished_by_the_next_one(world, how):
    url, schemas, env = world["url"], world["schemas"], world["env"]
    failing = schemas[FAILING]
    _reset(url, schemas)

    run = Run(env)
    run.wait_progress(2)
    if how == "sigterm":  # what a container runtime sends the job's first process
        run.proc.send_signal(signal.SIGTERM)
    elif how == "sigterm-group":  # Ctrl-C in a terminal, or a supervisor signalling the whole group
        os.killpg(run.proc.pid, signal.SIGTERM)
    else:
        os.killpg(run.proc.pid, signal.SIGKILL)
    code = run.finish()
    assert code != 0, run.output()
    assert _group_gone(run.proc.pid), "a migration process outlived the run"
    if how.startswith("sigterm"):
        assert "left for the next run" in run.output(), run.output()

    migrated, behind = _assert_whole(_state(url, schemas), failing)
    assert len(migrated) >= 1 and len(behind) >= 2, (how, sorted(migrated), run.output())

    again = Run(env)
    assert again.finish(120) == 1, again.output()  # the failing school makes it non-zero
    assert f"{SCHOOLS - len(migrated) - 1} migrated, 1 failed" in again.output(), again.output()

    migrated, behind = _assert_whole(_state(url, schemas), failing)
    assert behind == {failing} and len(migrated) == SCHOOLS - 1

    with psycopg.connect(url) as conn:
        rows = dict(conn.execute("SELECT schema_name, schema_error FROM tenants_school").fetchall())
        heads = {r[0] for r in conn.execute("SELECT DISTINCT schema_head FROM tenants_school WHERE schema_error = ''")}
    assert "probe_note" in rows[failing] and "already exists" in rows[failing], rows[failing]
    assert all(not rows[s] for s in migrated)
    assert len(heads) == 1 and "" not in heads  # every other school records the one new head

    check = subprocess.run(
        [sys.executable, str(MANAGE), "migrate_schools", "--check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode != 0
    listed = [line for line in check.stdout.splitlines() if line.startswith("behind: ")]
    assert len(listed) == 1 and listed[0].startswith(f"behind: {failing} (failed: "), check.stdout
