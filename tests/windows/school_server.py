"""One school under a province window, served by gunicorn on a database of its own
(test_race.py, test_without_redis.py).

The database is set up by ``hocba.dev.run.SETUP_STEPS`` with their database logins (tests/servers.py), the demo seed
replaced by SETUP_SCRIPT: one school, one class, 8 subject teachers with API tokens, a province window still open.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import app_database, app_env, gunicorn, serve, setup_database

BASE_DOMAIN = "hocba.localhost"
WRITERS = 8

# Runs in ``manage.py shell`` with the application's login (as the seed step does); prints one JSON line.
SETUP_SCRIPT = r"""
import datetime as dt, json
from django.db import connection
from django.utils import timezone
from hocba.kernel.schoolyear import first_day, school_year_of
from schools.models import Subject
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol
from tenants.models import UnitKind
from tenants.services.accounts import account_create
from tenants.services.schools import school_create
from tenants.services.tokens import api_token_issue
from tenants.services.units import unit_create
from tenants.services.windows import window_create

today = timezone.localdate()
year_start = school_year_of(today)
since = first_day(year_start)
province = unit_create(actor=None, kind=UnitKind.PROVINCE, name="Sở GD&ĐT Thử khóa", official_code="RACE", valid_from=since)
commune = unit_create(actor=None, kind=UnitKind.COMMUNE, name="Xã Thử khóa", official_code="RACE-01", parent=province,
                      valid_from=since)
school = school_create(actor=None, code="RACE0001", name="Trường THCS Thử khóa", levels="THCS", unit=commune,
                       slug="thcs-thu-khoa", on=since)
teachers = [account_create(actor=None, username=f"gv-khoa-{i}", full_name=f"Giáo viên Khóa {i}",
                           email=f"gv-khoa-{i}@example.vn", password=None, role="subject_teacher", school=school,
                           valid_from=since) for i in range(__WRITERS__)]
tokens = [api_token_issue(actor=t, name='race', scope=f'school:{school.pk}', may_write=True, days=1)[1]
          for t in teachers]
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
"""  # noqa: E501


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
        return self.sql(
            "UPDATE tenants_window SET locks_at = clock_timestamp() + make_interval(secs => %s)"
            " WHERE id = %s RETURNING locks_at",
            [seconds, self.info["window_id"]],
        )[0][0]

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
        rows = self.sql(
            f'SELECT subject_id, text FROM "{self.info["schema"]}".schools_assessment'
            " WHERE student_id = %s AND term = 1 AND kind = 'nx'",
            [self.info["student_id"]],
        )
        return dict(rows)


@contextlib.contextmanager
def school_server(tag: str, **extra_env: str) -> Iterator[Server]:
    """A fresh database set up by SETUP_STEPS and the setup script, served by gunicorn (2 workers × 4 threads)."""
    with app_database(f"hocba_windows_{tag}_{os.getpid()}") as url:
        env = app_env(url, BASE_DOMAIN)
        env.setdefault("S3_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing here uses the archive store
        script = SETUP_SCRIPT.replace("__WRITERS__", str(WRITERS)).replace("__BASE__", BASE_DOMAIN)
        out = setup_database(env, seed_script=script, label="windows")
        info = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP="))[len("SETUP=") :])
        log = Path(f"/tmp/hocba-windows-{tag}-{os.getpid()}.log")
        with serve(
            gunicorn(workers=2, threads=4),
            {**env, "HOCBA_DB_ROLE": "app", **extra_env},
            base_domain=BASE_DOMAIN,
            log=log,
            ready_timeout=40,
        ) as running:
            yield Server(running.port, url, log, info, running.pid)
