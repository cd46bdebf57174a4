"""The load generator for ``sheet_load``: ``python -m bench.sheets_loadgen <plan.json> <out.json>``.

A separate process (asyncio + httpx, no Django) that PUTs whole grade sheets at the app on loopback, with the
school's subdomain in the Host header and each teacher's API token. For every concurrency level of the plan
it runs ``level`` workers for ``seconds`` (and at most ``max_requests`` requests), then reports saves/s,
latency percentiles and errors; a warm-up pass at the lowest level comes first and is not reported.

Each worker owns its own sheets (worker k saves sheets k, k+level, k+2·level …), so two saves never race for
the same rows while the level does not exceed the number of sheets. Every save of a sheet changes every cell
(``cells`` below, shared with the in-process benchmarks), so every save really writes.

Every loop is bounded in count and time, and the process stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path


def cell_value(value_type: str, gen: int, i: int, j: int) -> str:
    """The value sent for student ``i`` × column ``j`` in generation ``gen``; differs from generation ``gen - 1``."""
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


def cells(students: list[int], columns: list[tuple[str, str]], gen: int) -> list[dict]:
    """The whole sheet, generation ``gen``: ``columns`` are (key, value_type)."""
    return [{"student": sid, "column": key, "value": cell_value(vtype, gen, i, j)}
            for i, sid in enumerate(students) for j, (key, vtype) in enumerate(columns)]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat; None where there is none."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


class Level:
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.statuses: dict[str, int] = {}
        self.elapsed = 0.0
        self.written = 0

    def record_error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:500])

    def figures(self) -> dict:
        ok = len(self.latencies)
        ms = [x * 1000 for x in self.latencies]
        return {"concurrency": self.concurrency, "saves": ok, "errors": self.errors, "seconds": self.elapsed,
                "saves_per_s": ok / self.elapsed if self.elapsed else None,
                "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
                "max_ms": max(ms) if ms else None, "statuses": self.statuses, "cells_written": self.written,
                "error_samples": self.error_samples}


async def _worker(client, plan: dict, sheets: list[dict], level: Level, deadline: float, budget: list[int],
                  gens: dict[int, int], last_ok: dict[int, int]) -> None:
    headers_base = {"Host": plan["host"], "Content-Type": "application/json", "Accept": "application/json"}
    turn = 0
    while time.monotonic() < deadline and budget[0] > 0 and sheets:
        budget[0] -= 1
        sheet = sheets[turn % len(sheets)]
        turn += 1
        index = sheet["index"]
        gens[index] += 1
        gen = gens[index]
        body = json.dumps({"cells": cells(sheet["students"], [tuple(c) for c in sheet["columns"]], gen)},
                          ensure_ascii=False).encode()
        headers = {**headers_base, "Authorization": f"Token {sheet['token']}"}
        t0 = time.perf_counter()
        try:
            response = await client.put(sheet["path"], content=body, headers=headers)
            elapsed = time.perf_counter() - t0
            status = str(response.status_code)
            level.statuses[status] = level.statuses.get(status, 0) + 1
            if response.status_code == 200:
                level.latencies.append(elapsed)
                last_ok[index] = gen
                try:
                    level.written += int(response.json().get("written", 0))
                except ValueError:
                    level.record_error("200 with a body that is not JSON")
            else:
                level.record_error(f"HTTP {response.status_code}: {response.text[:300]}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and sampled, none stops the run
            level.statuses["exception"] = level.statuses.get("exception", 0) + 1
            level.record_error(f"{type(exc).__name__}: {exc}")


async def _run_level(client, plan: dict, concurrency: int, seconds: float, max_requests: int,
                     gens: dict[int, int], last_ok: dict[int, int]) -> Level:
    level = Level(concurrency)
    sheets = plan["sheets"]
    own = [[s for n, s in enumerate(sheets) if n % concurrency == k] for k in range(concurrency)]
    # More workers than sheets: the extra workers share sheets (rows then contend; reported as such).
    own = [o or [sheets[k % len(sheets)]] for k, o in enumerate(own)]
    budget = [max_requests]
    cpu0 = _cpu_times()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_worker(client, plan, o, level, deadline, budget, gens, last_ok) for o in own))
    level.elapsed = time.perf_counter() - started
    cpu1 = _cpu_times()
    level.cpu_busy = ((cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1])) if cpu0 and cpu1 and cpu1[1] > cpu0[1] else None
    level.stopped_by = "count" if budget[0] <= 0 else "time"
    return level


async def _main(plan: dict) -> dict:
    import httpx

    levels = [int(c) for c in plan["levels"]]
    gens = {s["index"]: int(s.get("gen", 0)) for s in plan["sheets"]}
    last_ok: dict[int, int] = {}
    limits = httpx.Limits(max_connections=max(levels) + 2, max_keepalive_connections=max(levels) + 2)
    timeout = httpx.Timeout(plan.get("timeout", 15.0))
    out: dict = {"levels": [], "warmup": None}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=plan["base_url"], limits=limits, timeout=timeout) as client:
        if plan.get("warmup_seconds", 0) > 0:
            warm = await _run_level(client, plan, max(1, min(plan.get("warmup_concurrency", 2), len(plan["sheets"]))),
                                    plan["warmup_seconds"],
                                    plan.get("max_requests", 100000), gens, last_ok)
            out["warmup"] = warm.figures()
        for concurrency in levels:
            if time.monotonic() - started > plan.get("total_deadline", 900):
                out["stopped_by_deadline"] = True
                break
            level = await _run_level(client, plan, concurrency, plan["seconds"], plan.get("max_requests", 100000),
                                     gens, last_ok)
            figures = level.figures()
            figures["machine_cpu_busy"] = level.cpu_busy
            figures["stopped_by"] = level.stopped_by
            out["levels"].append(figures)
            print(f"loadgen: concurrency {concurrency}: {figures['saves']} saves in {figures['seconds']:.1f} s = "
                  f"{figures['saves_per_s']:.1f}/s, p50 {figures['p50_ms'] or 0:.1f} ms, p95 {figures['p95_ms'] or 0:.1f} ms, "
                  f"{figures['errors']} errors, machine CPU {100 * (level.cpu_busy or 0):.0f}% busy",
                  file=sys.stderr, flush=True)
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
