"""``sheet_load``: sustained one-subject sheet saves over HTTP, app and database on this machine.

The app runs under gunicorn as production would start it (``gunicorn hocba.wsgi:application -w 4``: sync workers,
settings ``hocba.settings.production`` — DEBUG off — when Redis is configured, else ``hocba.settings.local``;
``HOCBA_DB_ROLE=app``: the application's role) in a child process; the
load comes from ``bench.sheets_loadgen`` in another process: ``PUT /api/v1/classes/<id>/sheets/<subject>/1/``
on ``http://<slug>.hocba.localhost`` (connecting to 127.0.0.1), ``Authorization: Token <key>`` of each class's
own teacher, every save changing every value of the sheet (Toán: 7 columns × the class's students).

Levels of concurrency are run one after the other for a bounded time each; value = the highest saves/s of a
level with no error. Baseline (same run): one client saving sheets one after the other (concurrency 1).
Afterwards the database is checked: each sheet holds the last values acknowledged, every save left one audit
entry, the audit chain is intact; the audit entries' actor is reported.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Result, fmt, say
from .sheets import REPO, SheetScale, World, verify
from .sheets_loadgen import cells as make_cells

NAME = "sheet_load"
GOAL = "≥ 100 one-subject sheet saves/s sustained with 0 errors (2 cores, app + database + load generator)"
# gunicorn's workers × threads: 4 sync workers, as infra/entrypoint.sh starts it with WEB_CONCURRENCY=4
# (BENCH_GUNICORN=2x4 to try another shape).
WORKERS, THREADS = (int(x) for x in os.environ.get("BENCH_GUNICORN", "4x1").split("x"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_settings_module() -> str:
    """Production's settings (DEBUG off: no query log, no debug cursor) whenever what they demand is at hand —
    ``common.prepare_environment`` provides the secrets and a Redis that answers; else the developer's."""
    return "hocba.settings.production" if os.environ.get("REDIS_URL") else "hocba.settings.local"


def _child_env(url: str, base_domain: str) -> dict:
    env = {k: v for k, v in os.environ.items()}
    env.update(
        {
            "DATABASE_URL": url,
            "HOCBA_DB_ROLE": "app",
            "DJANGO_SETTINGS_MODULE": app_settings_module(),
            "HOCBA_BASE_DOMAIN": base_domain,
            "HOCBA_SSL_REDIRECT": "false",  # plain HTTP on loopback: no TLS terminator in front of this server
            "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]),
        }
    )
    env.setdefault("S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing here uses the archive store
    return env


def _get(port: int, host: str, path: str, headers: dict | None = None, timeout: float = 5.0) -> tuple[int, str]:
    import httpx

    r = httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host, **(headers or {})}, timeout=timeout)
    return r.status_code, r.text[:300]


class Gunicorn:
    def __init__(self, url: str, base_domain: str, log: Path):
        self.port = free_port()
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "hocba.wsgi:application",
            "-w",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(REPO),
            "--graceful-timeout",
            "5",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]
        self.cmd = cmd
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=_child_env(url, base_domain),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, base_domain: str, seconds: float = 60.0) -> float:
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < seconds:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self.tail()}")
            try:
                status, text = _get(self.port, base_domain, "/healthz", timeout=2.0)
                if status == 200:
                    return time.monotonic() - started
                last = f"{status} {text}"
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        raise RuntimeError(f"gunicorn not ready after {seconds} s ({last}): {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        try:
            if not self.log.closed:
                self.log.flush()
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM to the gunicorn master we started (by its id), SIGKILL to its group if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode


def _start_py_spy(pid: int, plan: dict):
    """``BENCH_SHEETS_PYSPY=<dir>``: sample the gunicorn master and workers with py-spy (raw collapsed stacks; only
    the thread holding the GIL, i.e. Python CPU, not waits on the database) for the measured levels; off by
    default. Bounded by its own --duration."""
    target = os.environ.get("BENCH_SHEETS_PYSPY", "")
    if not target:
        return None
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        say(f"{NAME}: BENCH_SHEETS_PYSPY set but {exe} is missing (pip install py-spy)")
        return None
    Path(target).mkdir(parents=True, exist_ok=True)
    seconds = int(plan["warmup_seconds"] + len(plan["levels"]) * (plan["seconds"] + 1) + 2)
    return subprocess.Popen(
        [
            str(exe),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--gil",
            "--duration",
            str(seconds),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(Path(target) / "gunicorn.collapsed.txt"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(Path(target) / "py-spy.log", "wb"),
    )  # noqa: SIM115


def _audit_state(schema: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0), count(*) FROM schools_auditentry")
        last, n = cursor.fetchone()
    return {"schema": schema, "last_id": last, "entries": n}


def _audit_since(last_id: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, operation, count(*), count(*) FILTER (WHERE account_id IS NULL),"
            " array_agg(DISTINCT tier), array_agg(DISTINCT source), array_agg(DISTINCT role)"
            " FROM schools_auditentry WHERE id > %s GROUP BY 1, 2 ORDER BY 1, 2",
            [last_id],
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT audit_first_broken_link()")
        broken = cursor.fetchone()[0]
    return {
        "by_table": [
            {
                "table": t,
                "operation": o,
                "entries": n,
                "without_account": na,
                "tiers": tiers,
                "sources": sources,
                "roles": roles,
            }
            for t, o, n, na, tiers, sources, roles in rows
        ],
        "first_broken_link": broken,
    }


def _top_functions(stats, key: str, n: int, per: int) -> list[dict]:
    rows = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        short = filename.replace(str(REPO) + "/", "").split("site-packages/")[-1]
        rows.append(
            {
                "function": f"{short}:{line}({func})",
                "calls": calls / per,
                "self_ms": tottime * 1000 / per,
                "cumulative_ms": cumtime * 1000 / per,
            }
        )
    return sorted(rows, key=lambda r: -r[key])[:n]


class _SetCounter:
    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("SET search_path"):
            self.n += 1
        return execute(sql, params, many, context)


def in_process_request(world: World, sheets: list, host: str, runs: int) -> dict:
    """The same PUT through Django's whole stack in this process (django.test.Client: middleware, token auth,
    DRF parsing and validation, sheet_save, the response): wall time, queries, statement times, and a cProfile of
    where the Python time goes; sheet_save alone is timed interleaved, for the HTTP layer's share."""
    import cProfile
    import pstats

    from django.test import Client

    from .common import summary
    from .sheets import label_of, profile_runs, queries_of, save, timed

    ref, token = sheets[0]
    path = f"/api/v1/classes/{ref.school_class.pk}/sheets/{ref.subject.pk}/{ref.term}/"
    client = Client(HTTP_HOST=host)

    def put_fn():
        body = json.dumps({"cells": ref.next_cells()}, ensure_ascii=False)

        def put():
            response = client.put(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
            if response.status_code != 200:
                raise RuntimeError(f"in-process PUT answered {response.status_code}: {response.content[:300]!r}")
            return response

        return put

    from .sheets import acting_as

    for _ in range(2):
        put_fn()()
    requests, services = [], []
    for _ in range(runs):
        requests.append(timed(put_fn())[:2])
        with acting_as(ref):
            cells = ref.next_cells()
            services.append(timed(lambda cells=cells: save(ref, cells))[:2])
    queries = queries_of(put_fn())
    # What if django-tenants set the search_path once per connection and tenant (TENANT_LIMIT_SET_CALLS = True,
    # this project has False: a SET search_path round trip before every cursor)? Interleaved, same run.
    from django.conf import settings

    limited, unlimited, set_calls = [], [], {}
    original = getattr(settings, "TENANT_LIMIT_SET_CALLS", False)
    try:
        for i in range(runs):
            for flag in (True, False) if i % 2 else (False, True):
                settings.TENANT_LIMIT_SET_CALLS = flag
                (limited if flag else unlimited).append(timed(put_fn())[:2])
        for flag in (True, False):
            settings.TENANT_LIMIT_SET_CALLS = flag
            counter = _SetCounter()
            from django.db import connection

            with connection.execute_wrapper(counter):
                put_fn()()
            set_calls[str(flag)] = counter.n
    finally:
        settings.TENANT_LIMIT_SET_CALLS = original
    lim, unl = summary([w for w, _c in limited]), summary([w for w, _c in unlimited])
    what_if = {
        "what": f"the same in-process PUT with TENANT_LIMIT_SET_CALLS True vs False (project: {original}), interleaved",
        "limit_true_ms": lim,
        "limit_false_ms": unl,
        "limit_true_cpu_ms": summary([c for _w, c in limited]),
        "limit_false_cpu_ms": summary([c for _w, c in unlimited]),
        "set_search_path_per_request": set_calls,
        "saved_ms_p50": (unl["p50"] - lim["p50"]) if lim["p50"] is not None and unl["p50"] is not None else None,
    }
    k = max(2, runs // 4)
    ready = iter([put_fn() for _ in range(k)])
    profile = profile_runs(lambda: next(ready)(), k)
    n = max(3, runs // 3)
    puts = [put_fn() for _ in range(n)]
    profiler = cProfile.Profile()
    profiler.enable()
    for put in puts:
        put()
    profiler.disable()
    stats = pstats.Stats(profiler)
    req, svc = summary([w for w, _c in requests]), summary([w for w, _c in services])
    return {
        "what": "PUT of the sheet through django.test.Client in this process (no gunicorn, no socket): middleware, "
        "token auth, DRF, sheet_save, response; sheet_save alone interleaved",
        "request_ms": req,
        "request_process_cpu_ms": summary([c for _w, c in requests]),
        "sheet_save_ms": svc,
        "sheet_save_process_cpu_ms": summary([c for _w, c in services]),
        "http_layer_ms_p50": (req["p50"] - svc["p50"]) if req["p50"] is not None and svc["p50"] is not None else None,
        "queries": len(queries),
        "statements": [label_of(q) for q in queries],
        "profile": profile,
        "what_if_limit_set_calls": what_if,
        "cprofile_runs": n,
        "cprofile_top_self": _top_functions(stats, "self_ms", 25, n),
        "cprofile_top_cumulative": _top_functions(stats, "cumulative_ms", 40, n),
    }


CHANGES = {"all": "every value changed", "column": "one column of values changed (the whole sheet sent)"}


def run(world: World, scale: SheetScale, results_dir: Path, machine: dict, url: str, changes: str = "all") -> Result:
    """``changes="all"``: ``sheet_load``, every save changes every value of its sheet; ``"column"``:
    ``sheet_load_one_column``, every save sends the whole sheet with one column changed — a teacher who entered
    one assessment for the class (the in-process profile is taken in the first mode only)."""
    name = NAME if changes == "all" else f"{NAME}_one_column"
    from django.conf import settings
    from django.db import connection, connections

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    base_domain = settings.BASE_DOMAIN
    host = f"{world.school.slug}.{base_domain}"
    sheets = world.load
    connection.set_tenant(world.school)
    inproc = (
        in_process_request(world, sheets, host, {"full": 30, "small": 6}.get(scale.name, 3))
        if changes == "all"
        else None
    )
    if inproc is not None:
        say(
            f"{name}: in-process request (django.test.Client) p50 {fmt(inproc['request_ms']['p50'], 1)} ms, "
            f"p95 {fmt(inproc['request_ms']['p95'], 1)} ms "
            f"(CPU p50 {fmt(inproc['request_process_cpu_ms']['p50'], 1)} ms), {inproc['queries']} queries; "
            f"sheet_save alone p50 {fmt(inproc['sheet_save_ms']['p50'], 1)} ms → "
            f"HTTP layer {fmt(inproc['http_layer_ms_p50'], 1)} ms"
        )
        wi = inproc["what_if_limit_set_calls"]
        say(
            f"{name}: what if TENANT_LIMIT_SET_CALLS=True: in-process request "
            f"p50 {fmt(wi['limit_true_ms']['p50'], 1)} ms vs {fmt(wi['limit_false_ms']['p50'], 1)} ms as configured; "
            "SET search_path per request "
            f"{wi['set_search_path_per_request'].get('True')} vs {wi['set_search_path_per_request'].get('False')}"
        )
    connection.set_tenant(world.school)
    audit_before = _audit_state(world.school.schema_name)
    connections.close_all()  # nothing of ours holds a connection while the app runs

    workdir = Path(tempfile.mkdtemp(prefix="hocba-bench-load-"))
    plan = {
        "base_url": "http://127.0.0.1:{port}",
        "host": host,
        "levels": list(scale.load_levels),
        "seconds": scale.load_seconds,
        "warmup_seconds": scale.load_warmup_seconds,
        "warmup_concurrency": min(4, len(sheets)),
        "max_requests": int(scale.load_seconds * 1000),
        "timeout": 15.0,
        "changes": changes,
        "total_deadline": len(scale.load_levels) * (scale.load_seconds + 20) + 60,
        "sheets": [
            {
                "index": n,
                "path": f"/api/v1/classes/{ref.school_class.pk}/sheets/{ref.subject.pk}/{ref.term}/",
                "token": token,
                "students": ref.students,
                "columns": [list(c) for c in ref.columns],
                "gen": 0,
            }
            for n, (ref, token) in enumerate(sheets)
        ],
    }
    server = Gunicorn(url, base_domain, workdir / "gunicorn.log")
    out: dict = {}
    loadgen_rc = None
    try:
        ready = server.wait_ready(base_domain)
        first = sheets[0]
        status, text = _get(
            server.port, host, plan["sheets"][0]["path"], {"Authorization": f"Token {first[1]}"}, timeout=30
        )
        if status != 200:
            raise RuntimeError(f"GET of a sheet with the teacher's token answered {status}: {text}")
        plan["base_url"] = f"http://127.0.0.1:{server.port}"
        plan["app_pid"] = server.proc.pid
        plan["db_name"] = settings.DATABASES["default"]["NAME"]
        plan["db_url"] = url  # the owner's login: pg_stat_activity of every backend (lock waits)
        (workdir / "plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        limit = plan["total_deadline"] + 60
        say(
            f"{name}: gunicorn ready in {ready:.1f} s on 127.0.0.1:{server.port} "
            f"({WORKERS} workers × {THREADS} threads); "
            f"load generator: {len(sheets)} sheets of {sheets[0][0].values} values, levels {plan['levels']}, "
            f"{scale.load_seconds:g} s each"
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)])}
        spy = _start_py_spy(server.proc.pid, plan)
        try:
            loadgen_rc = subprocess.run(
                [sys.executable, "-m", "bench.sheets_loadgen", str(workdir / "plan.json"), str(workdir / "out.json")],
                cwd=REPO,
                env=env,
                timeout=limit,
            ).returncode
        except subprocess.TimeoutExpired:
            loadgen_rc = "timeout"
        if (workdir / "out.json").exists():
            out = json.loads((workdir / "out.json").read_text(encoding="utf-8"))
        if spy is not None:
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
    finally:
        server_rc = server.stop()
        server_log = server.tail()

    # The database after the load, as the application's role.
    connection.set_tenant(world.school)
    verified = []
    for n, (ref, _token) in enumerate(sheets):
        gen = int(out.get("last_ok_gen", {}).get(str(n), 0))
        if gen:
            ref.gen = gen
            ref.last_cells = make_cells(ref.students, ref.columns, gen, changes)
            verified.append(verify(ref))
    levels = out.get("levels", [])
    saves_ok = sum(lv["saves"] for lv in levels) + (out.get("warmup") or {}).get("saves", 0)
    audit = _audit_since(audit_before["last_id"])
    upserts = sum(r["entries"] for r in audit["by_table"] if r["table"] == "schools_assessment")
    without_account = sum(r["without_account"] for r in audit["by_table"] if r["table"] == "schools_assessment")

    clean = [lv for lv in levels if lv["errors"] == 0 and lv["saves"]]
    best = max(clean, key=lambda lv: lv["saves_per_s"], default=None)
    serial = next((lv for lv in levels if lv["concurrency"] == 1), None)
    errors = sum(lv["errors"] for lv in levels)
    value = best["saves_per_s"] if best else None
    baseline = serial["saves_per_s"] if serial and serial["errors"] == 0 else None
    ok_db = bool(verified) and all(v["ok"] for v in verified) and audit["first_broken_link"] is None
    goal_met = bool(value is not None and value >= 100 and errors == 0 and ok_db)
    result = Result(
        name=name,
        metric=f"one-subject sheet saves/s ({sheets[0][0].values} values each, {CHANGES[changes]}) over HTTP: PUT "
        f"/api/v1/classes/<id>/sheets/<subject>/1/ with token auth, gunicorn {WORKERS}×{THREADS} threads, load "
        "generator in another process on loopback; value = best level with 0 errors; p50/p95 = latency (ms) at "
        "that level",
        unit="saves/s",
        value=value,
        baseline={
            "what": "one client saving sheets one after another (concurrency 1), same run, same server",
            "value": baseline,
        },
        ratio=(value / baseline) if value and baseline else None,
        goal=GOAL,
        scale=scale.name,
        runs=best["saves"] if best else 0,
        p50=best["p50_ms"] if best else None,
        p95=best["p95_ms"] if best else None,
        machine=machine,
    )
    extra = {
        "goal_met": goal_met,
        "p50_p95_unit": "ms",
        "best_concurrency": best["concurrency"] if best else None,
        "errors": errors,
        "levels": levels,
        "warmup": out.get("warmup"),
        "sheets": len(sheets),
        "values_per_save": sheets[0][0].values,
        "students_per_sheet": len(sheets[0][0].students),
        "school": {"schema": world.school.schema_name, "host": host},
        "server": {
            "cmd": " ".join(server.cmd[1:]),
            "settings": app_settings_module(),
            "db_role": "app",
            "exit_code": server_rc,
            "log_tail": server_log[-1500:],
        },
        "loadgen_exit": loadgen_rc,
        "in_process_request": inproc,
        "vacuum_before": world.vacuumed,
        "verified": {
            "ok": ok_db,
            "sheets": len(verified),
            "samples": [c for v in verified for c in v["sample"][:2]],
            "values_matching": sum(v["matching"] for v in verified),
            "values": sum(v["cells"] for v in verified),
            "saves_acknowledged": saves_ok,
            "assessment_audit_entries": upserts,
            "every_save_audited": upserts == saves_ok,
        },
        "audit": {**audit, "assessment_entries_without_account": without_account},
        "timing": "latency = client-side wall time of each PUT (loopback); saves/s = 200 answers / level wall time",
    }
    path = result.write(results_dir, extra)
    for lv in levels:
        say(
            f"{name}: concurrency {lv['concurrency']}: {fmt(lv['saves_per_s'], 1)} saves/s, "
            f"p50 {fmt(lv['p50_ms'], 1)} ms, p95 {fmt(lv['p95_ms'], 1)} ms, {lv['errors']} errors, "
            f"{lv['saves']} saves in {fmt(lv['seconds'], 1)} s, "
            f"machine CPU {fmt(100 * (lv.get('machine_cpu_busy') or 0), 0)}% busy "
            f"({fmt(100 * (lv.get('machine_cpu_steal') or 0), 0)}% stolen); CPU ms/save "
            + ", ".join(f"{k} {fmt(v, 1)}" for k, v in (lv.get("cpu") or {}).get("ms_per_save", {}).items())
            + (
                f"; active backends {fmt(lv['backends']['active_backends_avg'], 1)}, "
                f"waiting for the school's chain lock {fmt(lv['backends']['waiting_chain_lock_avg'], 1)} (avg)"
                if lv.get("backends")
                else ""
            )
        )
    say(
        f"{name}: best {fmt(value, 1)} saves/s at concurrency {best['concurrency'] if best else 'n/a'} vs "
        f"{fmt(baseline, 1)} serial (ratio {fmt(result.ratio, 2)}); errors {errors}; database: "
        f"{extra['verified']['values_matching']}/{extra['verified']['values']} last values held, "
        f"{upserts} audit entries for {saves_ok} saves ({without_account} without an account), chain intact: "
        f"{audit['first_broken_link'] is None}; goal {GOAL}: {'met' if goal_met else 'NOT met'} → {path}"
    )
    if loadgen_rc not in (0, None):
        raise RuntimeError(f"the load generator failed ({loadgen_rc}); gunicorn log: {server_log[-1500:]}")
    return result
