"""The rollup outbox mode (HOCBA_ROLLUP_MODE=outbox, docs/operations.md §9.4): school writes append their deltas to
the school's own outbox in their transaction; drains move them into the public rollups exactly once.

Real PostgreSQL and Redis. Most tests run inside the test's transaction (the ``on_commit`` hooks are captured and run
by hand); the two that need a second session (concurrent drains, a writer meeting the reconciliation) use their own
connections and leave nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, connections, transaction
from hocba.env import rollup_mode
from hocba.kernel.errors import DomainError
from prometheus_client import REGISTRY

import schools.rollups as school_rollups
from schools.models import AuditEntry, RollupOutbox
from schools.rollups import school_figures
from schools.services.classwork import conduct_save
from schools.services.sheets import sheet_save
from tenants import perschool, rollup_outbox, rollups, tasks
from tenants.models import ComplianceSnapshot, School, SchoolRollup
from tenants.services import windows as window_services
from tests.windows.test_reminders import YEAR, at, fill, province_window

FIGURES = (*rollups.FIELDS, *rollups.KEPT_ELSEWHERE)  # what school_figures recomputes


@pytest.fixture
def redis_set():
    """The Redis set of signalled schools of this run's database, empty before and after."""
    client = rollups.pending_client()
    client.delete(rollups.pending_key())
    yield client
    client.delete(rollups.pending_key())


@pytest.fixture
def outbox(settings, klass, redis_set):
    """School A's class (enrolled under the default mode: its public row holds the students), then outbox mode."""
    settings.ROLLUP_MODE = "outbox"
    return klass


def _public(school_id: int, year_start: int = 2025) -> dict[str, int] | None:
    row = SchoolRollup.objects.filter(school_id=school_id, year_start=year_start).values(*FIGURES).first()
    return dict(row) if row else None


def _save_math(w, k, value: str = "7", students=None):
    cells = [{"student": s, "column": c, "value": value} for s in (students or k.students) for c in ("tx1", "gk")]
    return sheet_save(access=k.access(w, "teacher_a"), school_class=k.school_class, subject=k.math, term=1, cells=cells)


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _members(client) -> set[int]:
    return {int(m) for m in client.smembers(rollups.pending_key())}


def test_inline_mode_is_unchanged(w, klass, redis_set, django_capture_on_commit_callbacks, queries):
    assert rollups.outbox_mode() is False  # the default
    before = _public(w.school_a)
    with django_capture_on_commit_callbacks() as hooks, queries() as q:
        _save_math(w, klass)
    after = _public(w.school_a)
    assert after["entries"] == before["entries"] + 12 == school_figures(klass.school_class.year)["entries"]
    assert not RollupOutbox.objects.exists() and hooks == [] and _members(redis_set) == set()
    assert not any("rollupoutbox" in s for s in q.statements)
    assert sum('"tenants_schoolrollup"' in s or "tenants_schoolrollup" in s for s in q.statements) == 1


def test_a_save_sends_as_many_statements_in_either_mode(w, klass, settings, queries):
    """The outbox row replaces the public upsert: one statement for the other (the signal goes to Redis on commit)."""
    with queries() as inline:
        _save_math(w, klass, students=klass.students[:3])
    settings.ROLLUP_MODE = "outbox"
    with queries() as outbox:
        _save_math(w, klass, students=klass.students[3:])
    assert len(outbox) == len(inline)
    assert [s for s in outbox.statements if "rollupoutbox" in s] and not [
        s for s in inline.statements if "rollupoutbox" in s
    ]


def test_a_save_reaches_the_public_row_only_when_drained(
    w, outbox, redis_set, django_capture_on_commit_callbacks, queries
):
    k = outbox
    before = _public(w.school_a)
    with django_capture_on_commit_callbacks(execute=True) as hooks, queries() as q:
        _save_math(w, k)
    assert not any("tenants_schoolrollup" in s for s in q.statements)  # no public write in the school's transaction
    assert len(hooks) == 1 and _members(redis_set) == {w.school_a}
    assert _public(w.school_a) == before  # boards and snapshots do not see it yet
    assert list(RollupOutbox.objects.values_list("year_start", "entries", "entries_term1")) == [(2025, 12, 12)]

    rows, lagged = (
        _sample("hocba_rollup_outbox_rows_drained_total", {"via": "signal"}),
        _sample("hocba_rollup_outbox_lag_seconds_count", {"via": "signal"}),
    )
    out = tasks.rollups_drain.run()
    assert out == {"schools": 1, "rows": 1, "failed": 0}
    assert connection.schema_name == k.school.schema_name  # the connection is back where it was
    assert not RollupOutbox.objects.exists() and _members(redis_set) == set()
    assert _public(w.school_a) == {**before, "entries": 12, "entries_term1": 12}
    assert _public(w.school_a) == school_figures(k.school_class.year)
    assert _sample("hocba_rollup_outbox_rows_drained_total", {"via": "signal"}) == rows + 1
    assert _sample("hocba_rollup_outbox_lag_seconds_count", {"via": "signal"}) == lagged + 1
    # A second run finds nothing: each row counted once.
    assert tasks.rollups_drain.run() == {"schools": 0, "rows": 0, "failed": 0}
    assert rollup_outbox.drain_school(w.school_a, k.school.schema_name, via="signal") == 0
    assert _public(w.school_a) == school_figures(k.school_class.year)


def test_several_writes_are_summed_per_school_year(w, outbox, django_capture_on_commit_callbacks):
    k = outbox
    with django_capture_on_commit_callbacks(execute=True):
        _save_math(w, k)
        _save_math(w, k, value="", students=k.students[:2])  # four cells cleared
        conduct_save(
            access=k.access(w, "homeroom_a"),
            school_class=k.school_class,
            term=1,
            entries=[{"student": s, "level": "T"} for s in k.students],
        )
    assert RollupOutbox.objects.count() == 3
    assert rollup_outbox.drain_school(w.school_a, k.school.schema_name, via="signal") == 3
    figures = school_figures(k.school_class.year)
    assert _public(w.school_a) == figures and (figures["entries"], figures["conduct_entries"]) == (8, 6)


def test_a_write_that_rolls_back_leaves_no_row_and_no_signal(w, outbox, redis_set, django_capture_on_commit_callbacks):
    k = outbox
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _save_math(w, k)
            assert RollupOutbox.objects.count() == 1
            raise RuntimeError("the request fails after the save")
        with pytest.raises(DomainError):  # bad input: refused whole
            _save_math(w, k, value="11")
    assert not RollupOutbox.objects.exists() and hooks == [] and _members(redis_set) == set()
    assert _public(w.school_a)["entries"] == 0


def test_the_sweep_finds_a_school_whose_signal_was_lost(w, outbox, redis_set):
    k = outbox
    _save_math(w, k)  # committed (in the test's transaction) but its on_commit hook never ran: no signal
    assert _members(redis_set) == set() and tasks.rollups_drain.run()["schools"] == 0
    schools = [[w.school_a, k.school.schema_name], [w.school_b, School.objects.get(pk=w.school_b).schema_name]]
    assert perschool.schemas_with_outbox_rows([s for _id, s in schools]) == [k.school.schema_name]
    assert tasks.rollups_sweep_chunk.run(schools) == {"schools": 1, "rows": 1, "failed": 0}
    assert _public(w.school_a) == school_figures(k.school_class.year)
    assert perschool.schemas_with_outbox_rows([s for _id, s in schools]) == []
    assert tasks.rollups_sweep_chunk.run(schools) == {"schools": 0, "rows": 0, "failed": 0}


def test_the_sweep_probe_refuses_a_bad_schema_name(w):
    with pytest.raises(DomainError):
        perschool.schemas_with_outbox_rows(['x"; DROP TABLE tenants_school; --'])


def test_a_signal_lost_to_redis_is_logged_not_raised(
    w, outbox, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    import redis

    monkeypatch.setattr(
        rollups, "pending_client", lambda: redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    )
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        _save_math(w, outbox)
    assert len(hooks) == 1 and "the sweep will drain it" in caplog.text
    assert RollupOutbox.objects.count() == 1  # the write stands; the sweep drains it


def test_the_lock_snapshot_copies_drained_figures(w, klass_now, settings, redis_set):
    """Saves before the lock sit in the outbox (no drain ran); the snapshot at the lock drains the school first, and
    the drain is not refused by the lock (the outbox has no window guard)."""
    k = klass_now
    window = province_window(w, opens=-60, locks=60)
    connection.set_tenant(k.school)
    settings.ROLLUP_MODE = "outbox"
    fill(w, k, k.math, "teacher_a", k.students)
    pending = RollupOutbox.objects.get()
    connection.set_schema_to_public()
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=YEAR).entries == 0
    window_services.window_update(actor=None, window=window, locks_at=at(-0.01))

    snapshotted = tasks.window_snapshots_chunk.run(window.pk, [w.school_a])
    assert snapshotted == 1
    snap = ComplianceSnapshot.objects.get(window=window, school_id=w.school_a)
    connection.set_tenant(k.school)
    figures = school_figures(k.school_class.year)
    assert not RollupOutbox.objects.exists()
    assert snap.figures["entries"] == figures["entries"] == pending.entries > 0
    assert snap.figures["students"] == figures["students"] == 7


def test_reconciliation_with_rows_not_drained_counts_them_once(w, outbox, django_capture_on_commit_callbacks):
    k = outbox
    with django_capture_on_commit_callbacks(execute=True):
        _save_math(w, k)
    assert RollupOutbox.objects.count() == 1
    fixed, none = (
        _sample("hocba_rollup_reconciled_schools_total", {"drift": "fixed"}),
        _sample("hocba_rollup_reconciled_schools_total", {"drift": "none"}),
    )
    # Rows waiting are not drift: the public row plus the rows equals the figures.
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    assert not RollupOutbox.objects.exists()
    assert _public(w.school_a) == school_figures(k.school_class.year)
    assert _sample("hocba_rollup_reconciled_schools_total", {"drift": "none"}) == none + 1
    # The signal of the save is still in Redis: its drain finds nothing left to add.
    assert tasks.rollups_drain.run()["rows"] == 0
    assert _public(w.school_a) == school_figures(k.school_class.year)

    # Drift and rows waiting at once: the figures win, the rows are not added on top.
    _save_math(w, k, value="", students=k.students[:1])
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(absences=99)
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    assert _sample("hocba_rollup_reconciled_schools_total", {"drift": "fixed"}) == fixed + 1
    assert not RollupOutbox.objects.exists()
    assert tasks.rollups_sweep_chunk.run([[w.school_a, k.school.schema_name]])["rows"] == 0
    assert _public(w.school_a) == school_figures(k.school_class.year)
    # A write after the reconciliation is drained on top of its figures.
    _save_math(w, k, value="9", students=k.students[:1])
    rollup_outbox.drain_school(w.school_a, k.school.schema_name, via="sweep")
    assert _public(w.school_a) == school_figures(k.school_class.year)


def _second_session():
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None, host=s["HOST"] or None, port=s["PORT"] or None
    )


def test_no_write_commits_between_the_reconciliations_read_and_its_clearing(w, outbox, monkeypatch):
    """The race: a write committing after the figures were read but before the outbox rows are deleted would lose its
    delta (its row deleted, its change not in the figures). While the reconciliation reads the figures, another
    session's outbox insert must wait (it gets the lock only after the reconciliation's transaction ends)."""
    k = outbox
    _save_math(w, k)
    table = f'"{k.school.schema_name}".schools_rollupoutbox'
    attempts: list[str] = []
    real = school_rollups.school_figures

    def figures_while_a_writer_tries(year):
        with _second_session() as other:
            try:
                with other.cursor() as cursor:
                    cursor.execute("SET lock_timeout = '300ms'")
                    cursor.execute(f"INSERT INTO {table} (year_start, entries) VALUES (2025, 1)")
                attempts.append("inserted")
            except psycopg.errors.LockNotAvailable:
                attempts.append("waited")
            finally:
                other.rollback()  # never committed, whatever happened
        return real(year)

    monkeypatch.setattr(school_rollups, "school_figures", figures_while_a_writer_tries)
    tasks.reconcile_school(w.school_a, k.school.schema_name)
    assert attempts == ["waited"]
    monkeypatch.setattr(school_rollups, "school_figures", real)
    assert not RollupOutbox.objects.exists()
    assert _public(w.school_a) == school_figures(k.school_class.year)


def _in_thread(fn, *args, **kwargs):
    """Run ``fn`` on a connection of its own (committing), in a thread; returns (thread, result holder)."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # reported to the test
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_two_concurrent_drains_count_each_row_once(w, settings):
    """Committed rows in school B's outbox (a year no other test uses); drain A takes them and holds its transaction
    open; drain B meanwhile waits on the rows' locks, then finds them gone. The public row gets the sum once."""
    settings.ROLLUP_MODE = "outbox"
    year = 1901
    school = School.objects.get(pk=w.school_b)
    table = f'"{school.schema_name}".schools_rollupoutbox'

    def setup():
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} (year_start, entries) VALUES ({year}, 2), ({year}, 3), ({year}, 5)")

    def cleanup():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE year_start = {year}")
            cursor.execute(
                "DELETE FROM tenants_schoolrollup WHERE school_id = %s AND year_start = %s", [w.school_b, year]
            )

    took, release = threading.Event(), threading.Event()

    def drain_and_hold():
        with transaction.atomic():
            n = rollup_outbox.drain_school(w.school_b, school.schema_name, via="signal")
            took.set()
            release.wait(10)
        return n

    def drain():
        took.wait(10)
        return rollup_outbox.drain_school(w.school_b, school.schema_name, via="signal")

    def public_entries():
        return SchoolRollup.objects.filter(school_id=w.school_b, year_start=year).values_list("entries", flat=True)[0]

    t, r = _in_thread(setup)
    t.join(10)
    assert "error" not in r
    try:
        first, first_out = _in_thread(drain_and_hold)
        second, second_out = _in_thread(drain)
        assert took.wait(10)
        time.sleep(0.5)
        assert second.is_alive()  # waiting on the rows drain A holds
        release.set()
        first.join(10)
        second.join(10)
        assert "error" not in first_out and "error" not in second_out, (first_out, second_out)
        assert (first_out["value"], second_out["value"]) == (3, 0)
        t, r = _in_thread(public_entries)
        t.join(10)
        assert r["value"] == 10
    finally:
        release.set()
        t, r = _in_thread(cleanup)
        t.join(10)
        assert "error" not in r


def test_the_outbox_is_derived_data_outside_the_audit_chain_and_the_windows(w, outbox):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'schools_rollupoutbox' AND NOT t.tgisinternal",
            [outbox.school.schema_name],
        )
        assert cursor.fetchone()[0] == 0
    _save_math(w, outbox)
    entries = AuditEntry.objects.count()
    rollup_outbox.drain_school(w.school_a, outbox.school.schema_name, via="signal")
    assert AuditEntry.objects.count() == entries  # the drain wrote no audit entry


def test_outbox_mode_outside_a_school_is_refused(w, settings):
    settings.ROLLUP_MODE = "outbox"
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError):
        school_rollups.rollup_add(school_id=w.school_a, year_start=2025, entries=1)
    with pytest.raises(ValueError):
        school_rollups.rollup_add(school_id=w.school_a, year_start=2025, bogus=1)


def test_the_mode_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("HOCBA_ROLLUP_MODE", raising=False)
    assert rollup_mode() == "inline"
    monkeypatch.setenv("HOCBA_ROLLUP_MODE", " Outbox ")
    assert rollup_mode() == "outbox"
    monkeypatch.setenv("HOCBA_ROLLUP_MODE", "sometimes")
    with pytest.raises(ValueError):
        rollup_mode()


@pytest.mark.parametrize(("mode", "drain"), [("inline", False), ("outbox", True)])
def test_beat_drains_every_five_seconds_in_outbox_mode_only(mode, drain):
    code = (
        "from hocba.celery import app; s = app.conf.beat_schedule;"
        " print('rollups-drain' in s, 'rollups-sweep' in s,"
        " s.get('rollups-drain', {}).get('schedule', 0) and s['rollups-drain']['schedule'].total_seconds())"
    )
    env = {**os.environ, "HOCBA_ROLLUP_MODE": mode}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ([str(drain), "True", "5.0"] if drain else [str(drain), "True", "0"])


def test_a_failed_drain_names_the_school_again(w, outbox, redis_set, monkeypatch):
    _save_math(w, outbox)
    rollups.outbox_signal(w.school_a)

    def broken(*args, **kwargs):
        raise DatabaseError("the public database is away")

    monkeypatch.setattr(rollup_outbox, "rollup_add", broken)
    assert tasks.rollups_drain.run() == {"schools": 0, "rows": 0, "failed": 1}  # taken once, not retried in the run
    assert RollupOutbox.objects.count() == 1  # rolled back with the drain's transaction
    assert _members(redis_set) == {w.school_a}  # named again for the next run
    monkeypatch.undo()
    assert tasks.rollups_drain.run() == {"schools": 1, "rows": 1, "failed": 0}
    assert _public(w.school_a) == school_figures(outbox.school_class.year)
