"""The load generator for ``sheet_load``: ``python -m bench.sheets_loadgen <plan.json> <out.json>``.

A separate process (asyncio, no Django) that PUTs whole grade sheets at the app on loopback, with the
school's subdomain in the Host header and each teacher's API token. For every concurrency level of the plan
it runs ``level`` workers for ``seconds`` (and at most ``max_requests`` requests), then reports saves/s,
latency percentiles and errors; a warm-up pass at the lowest level comes first and is not reported.

Each worker owns its own sheets (worker k saves sheets k, k+level, k+2·level …), so two saves never race for
the same rows while the level does not exceed the number of sheets. Every save of a sheet changes every cell
(``cells`` below, shared with the in-process benchmarks), so every save really writes.

The client is a minimal HTTP/1.1 one (``Connection``: one keep-alive socket per worker, Content-Length or
chunked bodies) and each body is encoded once per sheet and cycle of values (``CYCLE``), so that the load
generator itself costs little of the machine it shares with the app and the database (what ``wrk`` does).

Every loop is bounded in count and time, and the process stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

# Generation g and g + CYCLE send the same values; g and g + 1 never do (nor, for changes="column", a column and its
# previous change). 42 = 6 × 7: a multiple of the columns of the sheets sent (Toán: tx1–tx4, gk, ck, nx).
CYCLE = 42


def cell_value(value_type: str, gen: int, i: int, j: int) -> str:
    """The value sent for student ``i`` × column ``j`` in generation ``gen``; differs from generation ``gen - 1``."""
    gen %= CYCLE
    k = (gen + i + j) % 20
    if value_type == "score":
        return f"{k / 2:.1f}".replace(".", ",")  # 0,0 … 9,5: one step further each generation
    if value_type == "passfail":
        return "Đ" if (gen + i + j) % 2 else "CĐ"
    if value_type == "level":
        return "THC"[(gen + i + j) % 3]
    if value_type == "test":
        return str(k % 10 + 1)
    return f"Nhận xét lần {gen}: em học tiến bộ, cần cố gắng thêm ({i + 1}/{j + 1})."


def cells(students: list[int], columns: list[tuple[str, str]], gen: int, changes: str = "all") -> list[dict]:
    """The whole sheet, generation ``gen``: ``columns`` are (key, value_type). ``changes="all"``: every value differs
    from generation ``gen - 1``; ``"column"``: only column ``gen % len(columns)`` does (a teacher who entered one
    assessment for the class and saves the sheet), the others keep the values of their own last change."""
    if changes == "column":
        n = len(columns)
        last = [gen - ((gen - j) % n) for j in range(n)]  # the latest generation ≤ gen in which column j changed
        return [
            {"student": sid, "column": key, "value": cell_value(vtype, last[j], i, j)}
            for i, sid in enumerate(students)
            for j, (key, vtype) in enumerate(columns)
        ]
    return [
        {"student": sid, "column": key, "value": cell_value(vtype, gen, i, j)}
        for i, sid in enumerate(students)
        for j, (key, vtype) in enumerate(columns)
    ]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def _cpu_times() -> tuple[float, float, float] | None:
    """(busy, total, steal) jiffies of the whole machine, from /proc/stat; None where there is none. Steal — time the
    hypervisor gave this virtual machine's CPUs to others — counts as busy here and is also reported on its own."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    steal = fields[7] if len(fields) > 7 else 0.0
    return sum(fields) - idle, sum(fields), steal


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float | None:
    """utime + stime of one process, seconds (its threads included); None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return None


def _processes() -> list[tuple[int, int, bytes]]:
    """(pid, parent pid, command line) of every process we can see."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(entry.name), ppid, cmdline))
    return out


def cpu_snapshot(plan: dict) -> dict[str, dict[int, float]]:
    """CPU seconds so far of: the app (gunicorn master + workers), this database's PostgreSQL backends (their
    process title names the database), and this load generator."""
    app_root = int(plan.get("app_pid") or 0)
    db = str(plan.get("db_name") or "").encode()
    procs = _processes()
    app = {app_root} if app_root else set()
    app |= {pid for pid, ppid, _c in procs if ppid in app}
    backends = {pid for pid, _p, cmd in procs if db and cmd.startswith(b"postgres: ") and b" " + db + b" " in cmd}
    snap: dict[str, dict[int, float]] = {"app": {}, "db": {}}
    for name, pids in (("app", app), ("db", backends)):
        for pid in pids:
            cpu = _proc_cpu(pid)
            if cpu is not None:
                snap[name][pid] = cpu
    snap["loadgen"] = {os.getpid(): time.process_time()}
    return snap


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds spent between two snapshots; a process that appeared in between counts whole."""
    return {name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in after[name].items()) for name in after}


class Level:
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.statuses: dict[str, int] = {}
        self.elapsed = 0.0
        self.cpu_steal = None
        self.written = 0

    def record_error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:500])

    def figures(self) -> dict:
        ok = len(self.latencies)
        ms = [x * 1000 for x in self.latencies]
        return {
            "concurrency": self.concurrency,
            "saves": ok,
            "errors": self.errors,
            "seconds": self.elapsed,
            "saves_per_s": ok / self.elapsed if self.elapsed else None,
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else None,
            "statuses": self.statuses,
            "cells_written": self.written,
            "error_samples": self.error_samples,
        }


class Connection:
    """One keep-alive HTTP/1.1 connection to the app; ``request`` returns (status, body). A connection the server
    closed while idle (keep-alive timeout) is reopened and the request sent again once — only when nothing of
    the answer came back, and a sheet save is idempotent anyway."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.reader = self.writer = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            try:
                self.writer.write(head + body)
                await self.writer.drain()
                return await asyncio.wait_for(self._response(), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if attempt == 2 or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
            except BaseException:
                self.close()
                raise
        raise ConnectionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


def _request_head(plan: dict, sheet: dict, length: int) -> bytes:
    return (
        f"PUT {sheet['path']} HTTP/1.1\r\nHost: {plan['host']}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nAuthorization: Token {sheet['token']}\r\nContent-Length: {length}\r\n\r\n"
    ).encode("latin-1")


BODIES: dict[tuple[int, int], tuple[bytes, bytes]] = {}  # (sheet, generation % CYCLE) → (request head, body)


def request_bytes(plan: dict, sheet: dict, gen: int) -> tuple[bytes, bytes]:
    key = (sheet["index"], gen % CYCLE)
    cached = BODIES.get(key)
    if cached is None:
        body = json.dumps(
            {"cells": cells(sheet["students"], [tuple(c) for c in sheet["columns"]], gen, plan.get("changes", "all"))},
            ensure_ascii=False,
        ).encode()
        cached = BODIES[key] = (_request_head(plan, sheet, len(body)), body)
    return cached


def prepare_bodies(plan: dict) -> None:
    """Every request body the run can send, encoded before any level starts (outside the measured CPU)."""
    for sheet in plan["sheets"]:
        if CYCLE % len(sheet["columns"]):
            raise ValueError(f"{len(sheet['columns'])} columns do not divide the cycle of {CYCLE} generations")
        for gen in range(CYCLE):
            request_bytes(plan, sheet, gen)


WRITTEN = re.compile(rb'"written":\s*(\d+)')


async def _worker(
    plan: dict,
    sheets: list[dict],
    level: Level,
    deadline: float,
    budget: list[int],
    gens: dict[int, int],
    last_ok: dict[int, int],
) -> None:
    address = plan["base_url"].split("://", 1)[1]
    host, _, port = address.partition(":")
    conn = Connection(host, int(port or 80), plan.get("timeout", 15.0))
    turn = 0
    try:
        while time.monotonic() < deadline and budget[0] > 0 and sheets:
            budget[0] -= 1
            sheet = sheets[turn % len(sheets)]
            turn += 1
            index = sheet["index"]
            gens[index] += 1
            gen = gens[index]
            head, body = request_bytes(plan, sheet, gen)
            t0 = time.perf_counter()
            try:
                code, content = await conn.request(head, body)
                elapsed = time.perf_counter() - t0
                status = str(code)
                level.statuses[status] = level.statuses.get(status, 0) + 1
                if code == 200:
                    level.latencies.append(elapsed)
                    last_ok[index] = gen
                    found = WRITTEN.search(content)
                    if found is None:
                        level.record_error("200 without a written count")
                    else:
                        level.written += int(found.group(1))
                else:
                    level.record_error(f"HTTP {code}: {content[:300].decode('utf-8', 'replace')}")
            except Exception as exc:  # noqa: BLE001 - every failure is counted and sampled, none stops the run
                level.statuses["exception"] = level.statuses.get("exception", 0) + 1
                level.record_error(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


async def _track_cpu(plan: dict, stop: asyncio.Event, seen: dict) -> None:
    """Every second until ``stop``: the CPU so far of every app and database process, so that a backend that
    ends during the level (Django closes connections older than CONN_MAX_AGE) still counts up to its end."""
    while not stop.is_set():
        for name, per_pid in cpu_snapshot(plan).items():
            seen.setdefault(name, {}).update(per_pid)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def _sample_waits(plan: dict, stop: asyncio.Event, samples: list[tuple[int, int, int]]) -> None:
    """Every 0.1 s (until ``stop``): this database's client backends that are active, and of those, waiting for
    an advisory lock (the school's audit-chain lock) or any other lock. Needs ``plan["db_url"]``; best effort."""
    if not plan.get("db_url"):
        return
    try:
        import psycopg

        async with await psycopg.AsyncConnection.connect(plan["db_url"], autocommit=True, connect_timeout=5) as conn:
            while not stop.is_set() and len(samples) < 100000:
                row = await (
                    await conn.execute(
                        "SELECT count(*) FILTER (WHERE state = 'active'),"
                        " count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),"
                        " count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event <> 'advisory')"
                        " FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
                        " AND pid <> pg_backend_pid()",
                        [plan["db_name"]],
                    )
                ).fetchone()
                samples.append(tuple(row))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.1)
                except TimeoutError:
                    pass
    except Exception as exc:  # noqa: BLE001 - the figures stand without it
        print(f"loadgen: lock sampling stopped: {exc}", file=sys.stderr, flush=True)


async def _run_level(
    plan: dict, concurrency: int, seconds: float, max_requests: int, gens: dict[int, int], last_ok: dict[int, int]
) -> Level:
    level = Level(concurrency)
    stop, waits, seen = asyncio.Event(), [], {}
    sampler = asyncio.create_task(_sample_waits(plan, stop, waits))
    sheets = plan["sheets"]
    own = [[s for n, s in enumerate(sheets) if n % concurrency == k] for k in range(concurrency)]
    # More workers than sheets: the extra workers share sheets (rows then contend; reported as such).
    own = [o or [sheets[k % len(sheets)]] for k, o in enumerate(own)]
    budget = [max_requests]
    proc0 = cpu_snapshot(plan)
    tracker = asyncio.create_task(_track_cpu(plan, stop, seen))
    cpu0 = _cpu_times()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_worker(plan, o, level, deadline, budget, gens, last_ok) for o in own))
    level.elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    await tracker
    level.waits = (
        {
            "samples": len(waits),
            "active_backends_avg": sum(w[0] for w in waits) / len(waits),
            "waiting_chain_lock_avg": sum(w[1] for w in waits) / len(waits),
            "waiting_other_locks_avg": sum(w[2] for w in waits) / len(waits),
        }
        if waits
        else None
    )
    cpu1 = _cpu_times()
    level.cpu_busy = ((cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1])) if cpu0 and cpu1 and cpu1[1] > cpu0[1] else None
    level.cpu_steal = ((cpu1[2] - cpu0[2]) / (cpu1[1] - cpu0[1])) if cpu0 and cpu1 and cpu1[1] > cpu0[1] else None
    for name, per_pid in cpu_snapshot(plan).items():
        seen.setdefault(name, {}).update(per_pid)
    spent = cpu_delta(proc0, seen)
    if cpu0 and cpu1:
        spent["machine"] = (cpu1[0] - cpu0[0]) / CLK_TCK
        spent["other"] = spent["machine"] - spent["app"] - spent["db"] - spent["loadgen"]
    ok = len(level.latencies)
    level.cpu = {
        "seconds": spent,
        "ms_per_save": {k: (v * 1000 / ok if ok else None) for k, v in spent.items()},
        "cores_busy": {k: v / level.elapsed for k, v in spent.items()} if level.elapsed else {},
    }
    level.stopped_by = "count" if budget[0] <= 0 else "time"
    return level


async def _main(plan: dict) -> dict:
    levels = [int(c) for c in plan["levels"]]
    gens = {s["index"]: int(s.get("gen", 0)) for s in plan["sheets"]}
    last_ok: dict[int, int] = {}
    out: dict = {
        "levels": [],
        "warmup": None,
        "client": "raw HTTP/1.1 keep-alive, one connection per worker; "
        f"bodies encoded before the levels ({CYCLE} per sheet)",
    }
    started = time.monotonic()
    prepare_bodies(plan)
    if plan.get("warmup_seconds", 0) > 0:
        warm = await _run_level(
            plan,
            max(1, min(plan.get("warmup_concurrency", 2), len(plan["sheets"]))),
            plan["warmup_seconds"],
            plan.get("max_requests", 100000),
            gens,
            last_ok,
        )
        out["warmup"] = warm.figures()
    for concurrency in levels:
        if time.monotonic() - started > plan.get("total_deadline", 900):
            out["stopped_by_deadline"] = True
            break
        level = await _run_level(plan, concurrency, plan["seconds"], plan.get("max_requests", 100000), gens, last_ok)
        figures = level.figures()
        figures["machine_cpu_busy"] = level.cpu_busy
        figures["machine_cpu_steal"] = level.cpu_steal
        figures["cpu"] = level.cpu
        figures["backends"] = level.waits
        figures["stopped_by"] = level.stopped_by
        out["levels"].append(figures)
        print(
            f"loadgen: concurrency {concurrency}: {figures['saves']} saves in {figures['seconds']:.1f} s = "
            f"{figures['saves_per_s']:.1f}/s, p50 {figures['p50_ms'] or 0:.1f} ms, "
            f"p95 {figures['p95_ms'] or 0:.1f} ms, {figures['errors']} errors, "
            f"machine CPU {100 * (level.cpu_busy or 0):.0f}% busy "
            f"({100 * (level.cpu_steal or 0):.0f}% stolen by the hypervisor); CPU ms/save: "
            + ", ".join(f"{k} {v:.1f}" for k, v in level.cpu["ms_per_save"].items() if v is not None)
            + (
                f"; backends active {level.waits['active_backends_avg']:.1f}, waiting for the chain lock "
                f"{level.waits['waiting_chain_lock_avg']:.1f} on average"
                if level.waits
                else ""
            ),
            file=sys.stderr,
            flush=True,
        )
    out["last_ok_gen"] = {str(k): v for k, v in last_ok.items()}
    out["pid"] = os.getpid()
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m bench.sheets_loadgen <plan.json> <out.json>", file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result = asyncio.run(_main(plan))
    Path(argv[1]).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
