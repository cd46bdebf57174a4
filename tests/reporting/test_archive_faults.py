"""The archive job under a real fault (issue 10, Build 8): a Celery worker killed with SIGKILL in the middle of a
class's archive, the job redelivered to a second worker → every document archived exactly once (one object version
per key, ``list_object_versions``), the manifest consistent with the objects; on a database of its own, against the
S3 server of the test session (moto's, or the one configured)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import psycopg
import pytest

from tests.servers import REPO, app_database, app_env, private_redis, setup_database, stop_group

VISIBILITY = 10  # seconds, for this test only (production: hocba.celery.VISIBILITY_TIMEOUT)
DOCUMENTS = 30
SIZE = 256 * 1024  # bytes of each sealed PDF: enough for the worker to be caught in the middle

SEED = r"""
import hashlib, os
from django.db import connection
from django.utils import timezone
from hocba.kernel.roles import Role
from schools.access import school_access
from schools.models import RecordBook
from schools.services.common import school_write, system_access
from schools.services.setup import class_create, school_year_open
from schools.services.students import student_enrol
from reporting.models import DocumentContent, RecordDocument
from reporting.services.archivejobs import archive_class_start
from tenants.models import UnitKind
from tenants.services.accounts import account_create
from tenants.services.schools import school_create
from tenants.services.units import unit_create
import datetime as dt
day = dt.date(2025, 1, 1)
province = unit_create(actor=None, kind=UnitKind.PROVINCE, name="Sở Thử lưu trữ", official_code="96", valid_from=day)
commune = unit_create(actor=None, kind=UnitKind.COMMUNE, name="Xã Lưu Trữ", official_code="96-LT", parent=province,
                      valid_from=day)
school = school_create(actor=None, code="96000001", name="Trường THCS Lưu Trữ", levels="THCS", unit=commune,
                       slug="thcs-luu-tru", on=day)
principal = account_create(actor=None, username="luutru_ht", full_name="Hiệu Trưởng Lưu Trữ", email="ht@example.vn",
                           role="principal", school=school, valid_from=day)
connection.set_tenant(school)
system = system_access(school.pk)
year = school_year_open(access=system, start_year=2025, levels=["lower_secondary"])
klass = class_create(access=system, year=year, name="9A1", grade=9, homeroom_teacher_id=None)

@school_write
def sealed(i):
    student = student_enrol(access=system, school_class=klass, today=dt.date(2025, 10, 1),
                            profile={"full_name": f"Học Sinh {i:03d}", "date_of_birth": "05/03/2011", "gender": "M"})
    record = RecordBook.objects.get(student=student, year=year)
    pdf = b"%PDF-1.7\n" + os.urandom(__SIZE__)
    document = RecordDocument.objects.create(record=record, school_class=klass, year=year, template_version="tt22-v1",
                                             state="sealed", sha256=hashlib.sha256(pdf).hexdigest(), pages=4,
                                             sealed_at=timezone.now())
    DocumentContent.objects.create(document=document, pdf=pdf)

for i in range(__DOCUMENTS__):
    sealed(i)
access = school_access(principal.pk, school.pk, {Role.PRINCIPAL})
job_id = archive_class_start(access=access, school_class=klass)
print("JOB", job_id, school.schema_name, klass.pk)
""".replace("__SIZE__", str(SIZE)).replace("__DOCUMENTS__", str(DOCUMENTS))


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hocba", "worker", "--pool", "prefork", "--concurrency", "1"]
        + ["-l", "info", "-Q", "celery", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        + ["-n", f"archive-{log.stem}@%h"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"{what} not seen within {timeout} s:\n{log.read_text()[-4000:]}")


@pytest.mark.server
def test_a_worker_killed_mid_archive_leaves_every_record_archived_once(tmp_path):
    bucket = f"archive-kill-{uuid.uuid4().hex[:8]}"
    with private_redis(tmp_path / "redis.log") as broker, app_database(f"hocba_archive_{os.getpid()}") as url:
        env = app_env(
            url,
            "hocba.localhost",
            REDIS_URL=broker,
            HOCBA_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
            HOCBA_ARCHIVE_BUCKET=bucket,
        )
        if not env.get("S3_ENDPOINT_URL"):
            pytest.skip("no S3 server for a worker process (S3_ENDPOINT_URL unset)")
        out = setup_database(env, seed_script=SEED, label="archive")
        job_id, schema, _class_id = out.split("JOB", 1)[1].split()[:3]

        def job() -> tuple:
            with psycopg.connect(url, autocommit=True) as conn:
                return conn.execute(
                    "SELECT state, done, ok, failed, attempts FROM tenants_backgroundjob WHERE id = %s", [int(job_id)]
                ).fetchone()

        def documents() -> list[tuple]:
            with psycopg.connect(url, autocommit=True) as conn:
                return conn.execute(
                    f'SELECT state, archive_key, archive_version_id, sha256 FROM "{schema}".reporting_recorddocument'
                ).fetchall()

        worker_env = {**env, "HOCBA_DB_ROLE": "app"}
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        first = _start_worker(worker_env, first_log)  # the job's message waits in the broker since the seed
        second = None
        try:
            _wait(lambda: job()[1] >= 3, 120, "three documents archived", first_log)
            os.kill(first.pid, signal.SIGKILL)  # as an OOM kill would: the main process, then its pool
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            state, done, *_rest = job()
            assert state == "running" and 3 <= done < DOCUMENTS, job()

            second = _start_worker(worker_env, second_log)
            _wait(lambda: job()[0] == "done", VISIBILITY + 180, "the redelivered job's end", second_log)
            state, done, ok, failed, attempts = job()
            assert (done, failed, attempts) == (DOCUMENTS, 0, 2), job()
        finally:
            stop_group(first)
            stop_group(second)

        rows = documents()
        assert len(rows) == DOCUMENTS and {r[0] for r in rows} == {"archived"}
        s3 = boto3.client(
            "s3",
            endpoint_url=env["S3_ENDPOINT_URL"],
            region_name=env.get("S3_REGION") or "us-east-1",
            aws_access_key_id=env.get("S3_ACCESS_KEY_ID") or "testing",
            aws_secret_access_key=env.get("S3_SECRET_ACCESS_KEY") or "testing",
        )
        listed: list[dict] = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            listed += page.get("Versions", [])
        per_key: dict[str, list[str]] = {}
        for v in listed:
            per_key.setdefault(v["Key"], []).append(v["VersionId"])
        assert all(len(ids) == 1 for ids in per_key.values()), {k: v for k, v in per_key.items() if len(v) > 1}
        for _state, key, version, _digest in rows:
            assert per_key[key] == [version]
            assert per_key[key[: -len(".pdf")] + ".json"]
        manifests = [k for k in per_key if k.endswith("manifest-r1.json")]
        assert len(manifests) == 1 and manifests[0].startswith("96/96-LT/96000001/2025-2026/9A1/")
        body = json.loads(s3.get_object(Bucket=bucket, Key=manifests[0])["Body"].read())
        assert len(body["files"]) == 2 * DOCUMENTS
        for f in body["files"]:
            data = s3.get_object(Bucket=bucket, Key=f["key"], VersionId=f["version_id"])["Body"].read()
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f["key"]
        assert {f["key"]: f["sha256"] for f in body["files"] if f["key"].endswith(".pdf")} == {
            key: digest for _state, key, _version, digest in rows
        }
