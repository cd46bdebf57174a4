"""The lock instant under load: 8 writers saving continuously across a lock, against a real HTTP server.

Every save whose statement ran before the lock (by the database clock: the window trigger uses clock_timestamp())
is kept and answered 2xx; every one after is answered 423 and changed nothing; no other answer, no timeout.

The server (gunicorn, ``hocba.settings.local``, the application's database role) runs in a subprocess on a database
of its own, set up like tests/browser/conftest.py does: ``hocba.run.SETUP_STEPS`` with their database logins (the
demo seed replaced by a small setup script: one school, one class, 8 subject teachers with API tokens, a province
window still open). ``school_server`` is shared with test_without_redis.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hocba.run import SETUP_STEPS

from tests.support import admin_connection, database_url_named, free_port

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "manage.py"
BASE_DOMAIN = "hocba.localhost"
WRITERS = 8
LOCK_AFTER = 3.0  # seconds from the start of the writers to the lock (database clock)
WRITE_FOR = 6.0  # seconds the writers keep saving
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise

# Runs in ``manage.py shell`` with the application's login (as the seed step does); prints one JSON line.
SETUP_SCRIPT = r"""
import datetime as dt, json
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from schools.models import Subject
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol
from tenants.models import UnitKind
from tenants.services.accounts import account_create
from tenants.services.schools import school_create
from tenants.services.units import unit_create
from tenants.services.windows import window_create

today = timezone.localdate()
year_start = today.year if today.month >= 8 else today.year - 1
since = dt.date(year_start, 8, 1)
province = unit_create(actor=None, kind=UnitKind.PROVINCE, name="Sở GD&ĐT Thử khóa", official_code="RACE", valid_from=since)
commune = unit_create(actor=None, kind=UnitKind.COMMUNE, name="Xã Thử khóa", official_code="RACE-01", parent=province,
                      valid_from=since)
school = school_create(actor=None, code="RACE0001", name="Trường THCS Thử khóa", levels="THCS", unit=commune,
                       slug="thcs-thu-khoa", on=since)
teachers = [account_create(actor=None, username=f"gv-khoa-{i}", full_name=f"Giáo viên Khóa {i}",
                           email=f"gv-khoa-{i}@example.vn", password=None, role="subject_teacher", school=school,
                           valid_from=since) for i in range(__WRITERS__)]
tokens = [Token.objects.create(user=t).key for t in teachers]
connection.set_tenant(school)
system = system_access(school.pk)
year = school_year_open(access=system, start_year=year_start, levels=["lower_secondary"])
klass = class_create(access=system, year=year, name="6A1", grade=6, homeroom_teacher_id=None)
student = student_enrol(access=system, school_class=klass, today=today,
                        profile={"full_name": "Nguyễn Văn Khóa", "date_of_birth": "05/03/2014", "gender": "M"})
subjects = list(Subject.objects.filter(level="lower_secondary").order_by("order")[:__WRITERS__])
for teacher, subject in zip(teachers, subjects):
    assignment_set(access=system, school_class=klass, subject=subject, teacher_id=teacher.pk)
connection.set_schema_to_public()
window = window_create(actor=None, category="scores_1", year_start=year_start, unit=province,
                       opens_at=timezone.now() - dt.timedelta(hours=1), locks_at=timezone.now() + dt.timedelta(days=1),
                       reason="Khóa sổ điểm học kì I")
print("SETUP=" + json.dumps({"schema": school.schema_name, "host": school.slug + "." + "__BASE__", "class_id": klass.pk,
                             "student_id": student.pk, "subjects": [s.pk for s in subjects], "tokens": tokens,
                             "window_id": window.pk}))
"""


@dataclass
class Server:
    port: int
    database_url: str
    log: Path
    info: dict = field(default_factory=dict)
    pid: int = 0  # the gunicorn master's

    def environ(self) -> dict[str, str]:
        """The server process's environment, as the kernel has it."""
        raw = Path(f"/proc/{self.pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)

    @property
    def host(self) -> str:
        return self.info["host"]

    def sql(self, query: str, params: tuple | list = ()) -> list[tuple]:
        """Read or change the server's database directly, as the server's superuser (never the test database)."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def lock_in(self, seconds: float):
        """Move the window's lock to ``seconds`` from now by the database clock; the lock instant."""
        return self.sql("UPDATE tenants_window SET locks_at = clock_timestamp() + make_interval(secs => %s)"
                        " WHERE id = %s RETURNING locks_at", [seconds, self.info["window_id"]])[0][0]

    def save(self, client, writer: int, value: str):
        """PUT one cell (the comment of the class's student) of writer's sheet, as writer's teacher."""
        info = self.info
        return client.put(
            f"http://127.0.0.1:{self.port}/api/v1/classes/{info['class_id']}/sheets/{info['subjects'][writer]}/1/",
            headers={"Host": f"{self.host}:{self.port}", "Authorization": f"Token {info['tokens'][writer]}"},
            json={"cells": [{"student": info["student_id"], "column": "nx", "value": value}]},
        )

    def stored(self) -> dict[int, str]:
        """Subject → stored comment of the student (term I)."""
        rows = self.sql(f'SELECT subject_id, text FROM "{self.info["schema"]}".schools_assessment'
                        " WHERE student_id = %s AND term = 1 AND kind = 'nx'", [self.info["student_id"]])
        return dict(rows)


def _service_env() -> dict[str, str]:
    if not os.environ.get("DATABASE_URL"):
        from django.conf import settings

        settings.DATABASES  # noqa: B018 - the test settings start the embedded services and set the variables
    return dict(os.environ)


def _manage(args: list[str], env: dict[str, str], timeout: float) -> str:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(MANAGE), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    print(f"[windows] manage.py {args[0]}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return proc.stdout


def _wait_healthy(port: int, proc: subprocess.Popen, log: Path, timeout: float = 40) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-5000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{BASE_DOMAIN}:{port}"},
                         timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz in {timeout} s:\n{log.read_text(errors='replace')[-5000:]}")


@contextlib.contextmanager
def school_server(tag: str, **extra_env: str) -> Iterator[Server]:
    """A fresh database set up by SETUP_STEPS and the setup script, served by gunicorn (2 workers × 4 threads)."""
    base_env = _service_env()
    source_url = base_env["DATABASE_URL"]
    name = f"hocba_windows_{tag}_{os.getpid()}"
    url = database_url_named(source_url, name)
    env = {k: v for k, v in base_env.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(DJANGO_SETTINGS_MODULE="hocba.settings.local", DATABASE_URL=url, HOCBA_BASE_DOMAIN=BASE_DOMAIN,
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]))
    env.pop("HOCBA_ALLOWED_HOSTS", None)
    env.setdefault("S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing here uses the archive store
    with admin_connection(source_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log = Path(f"/tmp/hocba-windows-{tag}-{os.getpid()}.log")
    proc = None
    try:
        for step, args, role in SETUP_STEPS:
            if step == "seed":  # the demo is not needed: the setup script makes exactly what the test uses
                script = (SETUP_SCRIPT.replace("__WRITERS__", str(WRITERS)).replace("__BASE__", BASE_DOMAIN))
                out = _manage(["shell", "-c", script], {**env, "HOCBA_DB_ROLE": role}, timeout=120)
            else:
                _manage(args, {**env, "HOCBA_DB_ROLE": role}, timeout=120)
        info = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP="))[len("SETUP="):])
        port = free_port()
        run_env = {**env, "HOCBA_DB_ROLE": "app", "HOCBA_PORT": str(port), **extra_env}
        with open(log, "wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "hocba.wsgi:application", "-w", "2", "--threads", "4",
                 "-b", f"127.0.0.1:{port}", "--chdir", str(REPO), "--timeout", "60", "--graceful-timeout", "5",
                 "--log-level", "warning"],
                cwd=REPO, env=run_env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        _wait_healthy(port, proc, log)
        yield Server(port, url, log, info, proc.pid)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the gunicorn master we started
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        with admin_connection(source_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def server():
    with school_server("race") as s:
        yield s


@dataclass
class Answer:
    writer: int
    value: int
    status: int  # 0: no answer (timeout, connection error)
    code: str
    sent: float
    received: float


def _writer(server: Server, writer: int, start: threading.Event, until: float, answers: list[Answer]) -> None:
    import httpx

    with httpx.Client(timeout=20.0) as client:
        start.wait()
        value = 0
        while time.monotonic() < until:
            value += 1
            sent = time.monotonic()
            try:
                r = server.save(client, writer, str(value))
                status = r.status_code
                code = r.json().get("code", "") if status >= 400 and r.headers.get("content-type", "").startswith(
                    "application/json") else ""
            except httpx.HTTPError as exc:
                status, code = 0, type(exc).__name__
            answers.append(Answer(writer, value, status, code, sent, time.monotonic()))


def test_eight_writers_across_the_lock_instant(server):
    # Warm-up: every writer's sheet is writable (and the workers have loaded everything).
    import httpx

    with httpx.Client(timeout=20.0) as client:
        for writer in range(WRITERS):
            r = server.save(client, writer, "0")
            assert r.status_code == 200, r.text[:500]

    answers: list[list[Answer]] = [[] for _ in range(WRITERS)]
    start = threading.Event()
    threads = [threading.Thread(target=_writer, args=(server, i, start, time.monotonic() + WRITE_FOR, answers[i]))
               for i in range(WRITERS)]
    for t in threads:
        t.start()
    locks_at = server.lock_in(LOCK_AFTER)
    start.set()
    for t in threads:
        t.join(WRITE_FOR + 30)
    assert not any(t.is_alive() for t in threads)

    stored = server.stored()
    subjects = server.info["subjects"]
    total_ok = 0
    for writer, got in enumerate(answers):
        statuses = [a.status for a in got]
        assert set(statuses) <= {200, 423}, f"writer {writer}: unexpected answers {sorted(set(statuses))}"
        ok = [a for a in got if a.status == 200]
        refused = [a for a in got if a.status == 423]
        assert ok and refused, f"writer {writer}: {len(ok)} saved, {len(refused)} refused"
        # Unambiguous: once refused, always refused (each writer's requests are sequential).
        first_refused = statuses.index(423)
        assert 200 not in statuses[first_refused:], f"writer {writer}: a save accepted after a refusal"
        assert all(a.code == "window.locked" for a in refused)
        # Every accepted save is kept (its cell holds the last accepted value); no refused one left a trace.
        assert stored[subjects[writer]] == str(ok[-1].value)
        assert all(a.value > ok[-1].value for a in refused)
        total_ok += len(ok)

    # The decision instant is the statement's database clock: every accepted write's audit entry is before the lock,
    # and there is exactly one per accepted save (plus the warm-up's) — refused ones left none.
    audit = server.sql(f'SELECT at FROM "{server.info["schema"]}".schools_auditentry'
                       " WHERE table_name = 'schools_assessment' ORDER BY id")
    assert len(audit) == total_ok + WRITERS
    assert max(at for (at,) in audit) < locks_at
    print(f"\nrace: {total_ok} saves accepted, {sum(len(g) for g in answers) - total_ok} refused, lock at {locks_at}; "
          f"last accepted audit entry {(locks_at - max(at for (at,) in audit)).total_seconds() * 1000:.1f} ms before it")
