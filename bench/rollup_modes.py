"""Both rollup modes in one run (``HOCBA_ROLLUP_MODE``, docs/operations.md §9.4).

``BENCH_ROLLUP_MODES=inline,outbox make bench BENCH=sheet_save_one,sheet_save_full,windows_check_overhead,…``: each
of ``sheet_save_one``, ``sheet_save_full`` and ``windows_check_overhead`` then also times its save in blocks
alternating between the modes (the order of the two alternating from round to round, like the audit and window
benchmarks' on/off blocks) and writes ``rollup_modes`` into its result: per mode p50/p95, the ratio outbox/inline,
and the worker's drain (outside the save: timed apart after every outbox block); ``windows_change_2000`` alternates
the mode between its rounds. ``sheet_save_one`` also measures the drain latency with a beat every 5 s: commit → the
public row updated. Unset (the default), the benchmarks run in the deployment's mode only.

The saves of the comparison change the school's entry count (every other save clears a column, the next fills it
back): a save that only changes values adds no rollup delta and so writes nothing in either mode.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time

from .common import Deadline, summary

MODES_VARIABLE = "BENCH_ROLLUP_MODES"
KNOWN = ("inline", "outbox")
BEAT_SECONDS = 5.0  # the beat entry rollups-drain (hocba/celery.py)


def modes() -> list[str]:
    got = [m.strip().lower() for m in os.environ.get(MODES_VARIABLE, "").split(",") if m.strip()]
    bad = [m for m in got if m not in KNOWN]
    if bad:
        raise SystemExit(f"bench: {MODES_VARIABLE}: unknown mode(s) {', '.join(bad)}; known: {', '.join(KNOWN)}")
    return got


def comparing() -> bool:
    return len(set(modes())) > 1


@contextlib.contextmanager
def mode(name: str):
    from django.conf import settings

    before = settings.ROLLUP_MODE
    settings.ROLLUP_MODE = name
    try:
        yield
    finally:
        settings.ROLLUP_MODE = before


def counting_cells(next_cells, clear_column: str):
    """A cells maker whose saves change the entry count: every other one sends ``clear_column`` empty."""
    state = {"n": 0}

    def make() -> list[dict]:
        cells = next_cells()
        state["n"] += 1
        if state["n"] % 2:
            cells = [{**c, "value": ""} if c["column"] == clear_column else c for c in cells]
        return cells

    return make


def _drain() -> dict:
    from django.db import connection

    from tenants.rollup_outbox import drain_signalled

    tenant = connection.tenant
    try:
        return drain_signalled(budget=60.0)
    finally:
        connection.set_tenant(tenant)


class RollupWriteTimer:
    """The time a save spends writing its rollup: the statement that writes the public row (inline) or the outbox
    row (outbox), and in outbox mode the on_commit signal to Redis — the only parts that differ between the modes,
    timed inside the save (less noisy than the whole save's wall time on a loaded machine)."""

    TABLES = ("tenants_schoolrollup", "schools_rollupoutbox")

    def __init__(self):
        self.ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        if not any(t in sql for t in self.TABLES):
            return execute(sql, params, many, context)
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - t0) * 1000

    @contextlib.contextmanager
    def signal_timed(self):
        from tenants import rollups

        real = rollups.outbox_signal

        def timed_signal(school_id: int) -> None:
            t0 = time.perf_counter()
            try:
                real(school_id)
            finally:
                self.ms += (time.perf_counter() - t0) * 1000

        rollups.outbox_signal = timed_signal
        try:
            yield
        finally:
            rollups.outbox_signal = real


def compare(save, make_cells, *, rounds: int, block: int, discard: int, deadline: Deadline) -> dict:
    """``save(cells)`` timed in blocks alternating between the modes; the outbox's rows drained after each outbox
    block (the worker's work, timed apart). Returns per mode the wall-time summary (ms) and the ratio outbox/inline,
    and the rollup write's own time inside the save (``RollupWriteTimer``)."""
    from django.db import connection

    from .sheets import timed

    ms = modes()
    got: dict[str, list[float]] = {m: [] for m in ms}
    writes: dict[str, list[float]] = {m: [] for m in ms}
    drains: list[float] = []
    drained_rows = 0
    rounds_done = 0
    for r in range(rounds):
        if deadline.passed():
            break
        for m in ms if r % 2 == 0 else list(reversed(ms)):
            with mode(m):
                for i in range(block):
                    cells = make_cells()
                    timer = RollupWriteTimer()
                    with connection.execute_wrapper(timer), timer.signal_timed():
                        wall, _cpu, _out = timed(lambda c=cells: save(c))
                    if i >= discard:
                        got[m].append(wall)
                        writes[m].append(timer.ms)
            if m == "outbox":
                wall, _cpu, out = timed(_drain)
                drains.append(wall)
                drained_rows += out["rows"]
        rounds_done += 1
    stats = {m: summary(v) for m, v in got.items()}
    write_stats = {m: summary(v) for m, v in writes.items()}
    out = {
        "modes": ms,
        "wall_ms": stats,
        "rollup_write_ms": write_stats,
        "rollup_write_is": "inside each save: the rollup statement (public upsert, or outbox insert) and, in outbox "
        "mode, the on_commit SADD to Redis",
        "rounds": rounds_done,
        "block": block,
        "discarded_per_block": discard,
        "drain_after_each_outbox_block_ms": summary(drains),
        "rows_drained": drained_rows,
        "timing": "wall clock around the in-process save, commit (and in outbox mode the on_commit signal to "
        "Redis) included; blocks alternating between the modes, order alternating per round; every save changes "
        "the entry count (a column cleared, then filled back)",
    }
    if "inline" in stats and "outbox" in stats:
        i, o = stats["inline"], stats["outbox"]
        out["ratio_p50"] = o["p50"] / i["p50"] if i["p50"] and o["p50"] else None
        out["ratio_p95"] = o["p95"] / i["p95"] if i["p95"] and o["p95"] else None
        out["ratio_is"] = "outbox / inline (above 1: the outbox mode's save is slower)"
        wi, wo = write_stats["inline"], write_stats["outbox"]
        out["rollup_write_delta_p50_ms"] = wo["p50"] - wi["p50"] if wi["p50"] is not None and wo["p50"] else None
    return out


def drain_latency(save, cells_with, *, saves: int, gap: tuple[float, float], beat: float = BEAT_SECONDS) -> dict:
    """Commit → the public row updated, in outbox mode, with a drain every ``beat`` seconds on a schedule of its own
    (a thread on its own connection running ``tenants.rollup_outbox.drain_signalled``, as the beat entry's task
    does). ``cells_with(k)`` is a sheet holding ``k`` values: save i holds i + 1 more than the start, so the public
    entry count tells which saves a drain has applied. The saves come at random gaps (``gap`` seconds)."""
    from django.db import connection, connections

    from tenants.models import SchoolRollup

    school_id, year_start = connection.tenant.pk, None
    passes: list[tuple[float, int]] = []  # (end of a drain pass, the public entry count after it)
    stop = threading.Event()
    errors: list[BaseException] = []

    def public_entries() -> int:
        row = SchoolRollup.objects.filter(school_id=school_id, year_start=year_start).values_list("entries", flat=True)
        return row[0] if row else 0

    def beat_loop() -> None:
        try:
            start = time.perf_counter()
            n = 0
            while not stop.is_set():
                n += 1
                wake = start + n * beat
                stop.wait(max(0.0, wake - time.perf_counter()))
                from_set = _drain()
                passes.append((time.perf_counter(), public_entries()))
                if stop.is_set() and not from_set["rows"]:
                    break
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connections.close_all()

    with mode("outbox"):
        first = cells_with(0)
        save(first)
        _drain()
        from schools.models import SchoolYear

        year_start = SchoolYear.objects.order_by("-start_year").values_list("start_year", flat=True)[0]
        base = public_entries()
        rng = random.Random(5)
        commits: list[tuple[float, int]] = []
        thread = threading.Thread(target=beat_loop, daemon=True)
        thread.start()
        for k in range(1, saves + 1):
            time.sleep(rng.uniform(*gap))
            save(cells_with(k))
            commits.append((time.perf_counter(), base + k))
        time.sleep(beat * 1.5)
        stop.set()
        thread.join(beat * 4)
    if errors:
        raise errors[0]
    latencies = []
    for committed, expected in commits:
        seen = next((t for t, entries in passes if t >= committed and entries >= expected), None)
        if seen is not None:
            latencies.append((seen - committed) * 1000)
    return {
        "latency_ms": summary(latencies),
        "saves": len(commits),
        "applied": len(latencies),
        "beat_seconds": beat,
        "gap_seconds": list(gap),
        "drain_passes": len(passes),
        "what": "time from a sheet save's commit to the end of the drain pass that put it into the public rollup "
        "row, with a drain every beat_seconds on a fixed schedule (a thread on its own connection running the "
        "rollups-drain task's function in-process: Celery's dispatch, a few ms, not included); saves at random "
        "gaps, so the wait for the next beat is spread over the beat's period",
    }
