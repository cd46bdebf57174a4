"""What every benchmark shares: sizes, the bench database, statistics, the result file and its printed lines.

Nothing here imports Django at import time: ``bench.run`` prepares the environment (the bench database's
URL first of all) before Django reads its settings.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/hocba_bench"
SETTINGS_MODULE = "hocba.settings.local"


@dataclass(frozen=True)
class Scale:
    """How big a run is. Every loop of the benchmarks is bounded by these counts and deadlines (seconds)."""

    name: str
    existing: int  # schools created before the measured ones
    new: int  # schools provisioned and measured through school_create
    samples: int  # django-tenants baseline samples per method (migrations, clone_schema), interleaved
    noop_samples: int  # schools on which stock migrate_schemas --tenant is timed
    noop_runs: int  # timed passes of migrate_schools (after one warm-up)
    fill_workers: int = 2
    fill_deadline: float = 20 * 60
    measure_deadline: float = 10 * 60
    baseline_deadline: float = 8 * 60
    noop_deadline: float = 6 * 60

    @property
    def target(self) -> int:
        return self.existing + self.new


SCALES = {
    "full": Scale("full", existing=1500, new=500, samples=5, noop_samples=20, noop_runs=5),
    "small": Scale(
        "small",
        existing=150,
        new=50,
        samples=3,
        noop_samples=5,
        noop_runs=3,
        fill_deadline=120,
        measure_deadline=60,
        baseline_deadline=90,
        noop_deadline=60,
    ),
    # For the test suite: a handful of schools, one sample of everything.
    "tiny": Scale(
        "tiny",
        existing=5,
        new=3,
        samples=1,
        noop_samples=1,
        noop_runs=1,
        fill_workers=1,
        fill_deadline=60,
        measure_deadline=60,
        baseline_deadline=60,
        noop_deadline=60,
    ),
}


def say(line: str) -> None:
    print(line, flush=True)


# --- the bench database --------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def bench_database_url() -> str:
    """``BENCH_DATABASE_URL`` as given; else ``DATABASE_URL``'s server with ``<name>_bench``; else the default.

    A ``DATABASE_URL`` whose database name already contains "bench" is used as it is (the test suite points
    the benchmarks at a throwaway database that way). The benchmarks drop and re-create this database, so a
    name without "bench" in it is refused.
    """
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url:
        configured = os.environ.get("DATABASE_URL", "")
        if not configured:
            url = DEFAULT_DATABASE_URL
        else:
            name = database_name(configured) or "hocba"
            url = configured if "bench" in name else _with_database(configured, f"{name}_bench")
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(
            f"bench: refusing to use database {name!r}: the benchmarks drop it; its name must contain 'bench'"
        )
    return url


def _maintenance(url: str):
    import psycopg

    return psycopg.connect(_with_database(url, "postgres"), autocommit=True, connect_timeout=10)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_exists(url: str) -> bool:
    with _maintenance(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]).fetchone() is not None


def database_recreate(url: str) -> None:
    name = database_name(url)
    with _maintenance(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {_quoted(name)}")


def database_drop(url: str) -> None:
    with _maintenance(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_quoted(database_name(url))} WITH (FORCE)")


def _redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(7).startswith(b"+PONG")
    except OSError:
        return False


def prepare_environment(url: str) -> None:
    """Point Django at the bench database; start no embedded service the benchmarks do not use."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    # Migrations, the school template and the stock baselines (CREATE SCHEMA, clone_schema) need the
    # owner's login; school_create itself goes through the same SECURITY DEFINER function either way.
    os.environ["HOCBA_DB_ROLE"] = "owner"
    # Secrets the settings want but the benchmarks never use: throwaway values, no key file written.
    os.environ.setdefault("HOCBA_SECRET_KEY", secrets.token_urlsafe(50))
    if not os.environ.get("HOCBA_MFA_KEY"):
        import base64

        os.environ["HOCBA_MFA_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    if not os.environ.get("REDIS_URL") and _redis_answers():
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    # Nothing measured here touches the archive store; a closed port keeps moto from being started.
    os.environ.setdefault("S3_ENDPOINT_URL", "http://127.0.0.1:9")


# --- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))  # ceil(n*q/100), clamped
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> dict:
    return {
        "runs": len(values),
        "p50": statistics.median(values) if values else None,
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values) if values else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


def rounded(value, digits: int = 4):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": server,
        "platform": platform.platform(),
    }


def catalog_size() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_namespace),"
            " pg_database_size(current_database())"
        )
        pg_class, namespaces, size = cursor.fetchone()
    return {"pg_class_rows": pg_class, "schemas": namespaces, "database_bytes": size}


REQUIRED_FIELDS = (
    "name",
    "metric",
    "unit",
    "value",
    "baseline",
    "ratio",
    "goal",
    "scale",
    "runs",
    "p50",
    "p95",
    "machine",
)


@dataclass
class Result:
    name: str
    metric: str
    unit: str
    value: float | None
    baseline: dict  # {"what": ..., "value": ...}
    ratio: float | None
    goal: str
    scale: str
    runs: int
    p50: float | None
    p95: float | None
    machine: dict

    def write(self, results_dir: Path, extra: dict) -> Path:
        results_dir.mkdir(parents=True, exist_ok=True)
        data = rounded({**asdict(self), **extra})
        missing = [f for f in REQUIRED_FIELDS if f not in data]
        assert not missing, missing
        path = results_dir / f"{self.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() >= self.end


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def derived_database_url(env_name: str, suffix: str) -> str:
    """``$env_name``; else the bench database's server and name with ``suffix`` appended (must say bench)."""
    url = os.environ.get(env_name, "")
    if not url:
        parts = urlsplit(bench_database_url())
        url = urlunsplit(parts._replace(path="/" + unquote(parts.path.lstrip("/")) + suffix))
    if "bench" not in database_name(url):
        raise SystemExit(f"bench: refusing to use database {database_name(url)!r}: its name must contain 'bench'")
    return url


def launch_module(module: str, names: list[str], scale: str, results_dir, what: str) -> int:
    """Run benchmarks that need their own database in a child process; its exit status."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "platform"), str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    cmd = [sys.executable, "-m", module, "--scale", scale, "--only", ",".join(names), "--results-dir", str(results_dir)]
    limit = {"full": 3600, "small": 600}.get(scale, 600)
    try:
        return subprocess.run(cmd, cwd=REPO, env=env, timeout=limit).returncode
    except subprocess.TimeoutExpired:
        print(f"bench: {what} benchmarks stopped after {limit} s", file=sys.stderr, flush=True)
        return 1
