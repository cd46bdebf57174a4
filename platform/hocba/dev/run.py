"""``make run``: embedded services, migrations, demo data, then web, Celery worker and beat (DESIGN §9).

Run as ``python -m hocba.dev.run`` from the repository root.  Every child's output is prefixed with its
name.  Ctrl-C or SIGTERM stops the children (SIGTERM, up to 10 s, then SIGKILL) and the embedded
services and exits 0; a child that dies on its own stops everything and exits 1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from hocba.dev.services import REPO_ROOT, ensure_services, resolve_data_dir, stop_services

STOP_TIMEOUT = 10.0
# manage.py commands run, in order, before the long-running processes start.
SETUP_STEPS = [
    # (name, manage.py arguments, database login): migrations and roles need the owner's login.
    ("migrate", ["migrate_schemas", "--shared", "--noinput"], "owner"),
    ("roles", ["db_roles"], "owner"),
    ("schools", ["migrate_schools"], "owner"),
    ("seed", ["seed_demo"], "app"),
    # The demo's test PKI (reporting.signing.pki) under the data directory: keys already there are kept.
    ("pki", ["make_test_pki"], "app"),
]
_COLOURS = ["36", "33", "35", "32", "34", "31"]
# The demo's web server: gunicorn's threaded workers, as in production but smaller. Each thread keeps at most one
# database connection (CONN_MAX_AGE), so the demo never holds more than WEB_WORKERS × WEB_THREADS of them, however
# many clients connect: an idle keep-alive connection waits in the worker's poller and holds no thread, a request
# waits for a free thread. (runserver opened a thread, and with it a database connection, per client connection:
# a hundred keep-alive clients used up PostgreSQL's connection slots and every request answered 500.)
WEB_WORKERS = 2
WEB_THREADS = 4


def web_command(port: int | str, host: str = "0.0.0.0") -> list[str]:
    """The command line of ``make run``'s web server (the server tests start the same one)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "hocba.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(WEB_WORKERS),
        "--threads",
        str(WEB_THREADS),
        "--keep-alive",
        "5",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
        "--access-logformat",
        '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
        # Multiprocess metrics and their exporter on HOCBA_METRICS_PORT (9100; a port taken is only logged).
        "--config",
        "python:hocba.gunicorn_conf",
    ]


class Supervisor:
    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self.signals = 0
        self.children: dict[str, subprocess.Popen] = {}
        self.pumps: list[threading.Thread] = []
        self.out_lock = threading.RLock()  # re-entrant: the signal handler writes too
        self.colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        self.width = 7

    # --- output ------------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        self._write("run", (message + "\n").encode())

    def _write(self, name: str, line: bytes) -> None:
        prefix = f"{name:<{self.width}}| "
        if self.colour:
            colour = _COLOURS[sum(name.encode()) % len(_COLOURS)]
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        if not line.endswith(b"\n"):
            line += b"\n"
        with self.out_lock:
            sys.stdout.buffer.write(prefix.encode() + line)
            sys.stdout.buffer.flush()

    def _pump(self, name: str, stream) -> None:
        with stream:
            for line in iter(stream.readline, b""):
                self._write(name, line)

    # --- processes ---------------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own process group: a Ctrl-C reaches only the supervisor, which stops children in order.
            start_new_session=True,
        )
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout), name=f"pump-{name}", daemon=True)
        pump.start()
        self.pumps.append(pump)
        self.children[name] = proc
        return proc

    def run_step(self, name: str, argv: list[str], env: dict[str, str]) -> bool:
        """Run one setup command to completion; False if it failed or a stop was requested."""
        self.say(f"$ {' '.join(argv[1:] if argv[0] == sys.executable else argv)}")
        proc = self.spawn(name, argv, env)
        while proc.poll() is None:
            if self.stop_requested.wait(0.2):
                self.stop_children()
                return False
        self.children.pop(name, None)
        if proc.returncode != 0:
            self.say(f"error: `{' '.join(argv[1:])}` failed with exit status {proc.returncode}; stopping")
            return False
        return True

    def watch(self) -> int:
        """Wait until a signal (exit 0) or until a child exits on its own (exit 1)."""
        while not self.stop_requested.wait(0.2):
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    # A Ctrl-C may still be on its way: let the signal handler run first.
                    if self.stop_requested.wait(0.5):
                        return 0
                    self.say(f"error: {name} exited unexpectedly with status {proc.returncode}; stopping everything")
                    return 1
        return 0

    def stop_children(self) -> None:
        running = {name: proc for name, proc in self.children.items() if proc.poll() is None}
        if running:
            self.say(f"stopping {', '.join(running)}")
        for proc in running.values():
            _signal(proc, signal.SIGTERM, group=False)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, proc in running.items():
            while proc.poll() is None and time.monotonic() < deadline and self.signals < 3:
                time.sleep(0.05)
            if proc.poll() is None:
                self.say(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
        for proc in self.children.values():
            _signal(proc, signal.SIGKILL, group=True)  # also whatever it forked (Celery's pool)
            proc.wait()
        for pump in self.pumps:
            pump.join(timeout=2)
        self.children.clear()
        self.pumps.clear()

    def on_signal(self, signum: int, frame) -> None:
        self.signals += 1
        if self.signals == 1:
            self.say(f"{signal.Signals(signum).name} received; stopping (press Ctrl-C twice more to kill)")
        self.stop_requested.set()


def _signal(proc: subprocess.Popen, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def _child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")
    env["PYTHONUNBUFFERED"] = "1"
    paths = [str(REPO_ROOT / "platform"), str(REPO_ROOT)]
    paths += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("HOCBA_DATA_DIR", str(data_dir))
    return env


def _celery() -> list[str]:
    executable = Path(sys.executable).parent / "celery"
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "celery"]


def main() -> int:
    supervisor = Supervisor()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, supervisor.on_signal)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")
    try:
        try:
            ensure_services()
        except Exception as exc:
            supervisor.say(f"error: could not start the embedded services: {exc}")
            return 1
        data_dir = resolve_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True)
        env = _child_env(data_dir)
        manage = [sys.executable, str(REPO_ROOT / "manage.py")]

        for name, args, role in SETUP_STEPS:
            if supervisor.stop_requested.is_set():
                return 0
            if not supervisor.run_step(name, manage + args, {**env, "HOCBA_DB_ROLE": role}):
                return 0 if supervisor.stop_requested.is_set() else 1

        if supervisor.stop_requested.is_set():
            return 0
        port = os.environ.get("HOCBA_PORT", "8000")
        supervisor.spawn("web", web_command(port), env)
        supervisor.spawn(
            "worker",
            _celery() + ["-A", "hocba", "worker", "-l", "info", "--concurrency", "2", "-Q", "celery"],
            env,
        )
        supervisor.spawn(
            "beat",
            _celery() + ["-A", "hocba", "beat", "-l", "info", "--schedule", str(data_dir / "celerybeat-schedule")],
            env,
        )
        domain = os.environ.get("HOCBA_BASE_DOMAIN", "hocba.localhost")
        supervisor.say(
            f"HọcBạ at http://{domain}:{port}, schools at http://<school>.{domain}:{port}; Ctrl-C stops everything"
        )
        return supervisor.watch()
    finally:
        supervisor.stop_children()
        stop_services()
        supervisor.say("stopped")


if __name__ == "__main__":
    sys.exit(main())
