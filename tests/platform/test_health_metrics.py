"""Liveness, readiness, metrics, JSON logs and the worker/beat heartbeat (issue 15, item 3).

* ``/healthz`` asks nothing of any dependency: it answers with the database unreachable, makes no query, and
  answers on any host (the kubelet's pod address), without the SSL redirect;
* ``/readyz`` checks the database, Redis and the archive bucket's Object Lock, each timed, and answers 503 naming
  what failed (its details stay in the log);
* the metrics: request latency by view, the window refusals (423) counted where ``school_write`` translates them,
  archive throughput, rollup drift fixed, the queue depth read at scrape; gunicorn's workers summed by the master's
  exporter on its own port;
* the JSON log line carries request id, school and account;
* the heartbeat file and its check; a real worker touches it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone
from hocba import heartbeat
from hocba.kernel import archive, context, health, metrics
from hocba.kernel.logs import JsonFormatter
from prometheus_client import REGISTRY, generate_latest

from schools.services.sheets import sheet_save
from tenants.models import AdministrativeUnit, SchoolRollup
from tenants.rollups import rollup_set
from tenants.services import windows as window_services
from tenants.tasks import reconcile_school
from tenants.windows import WindowLocked
from tests.school_fixtures import current_school_year
from tests.servers import REPO, app_env, gunicorn, serve
from tests.support import SCHOOL_A_HOST, free_port

POD_HOST = "10.42.0.17:8000"  # what the kubelet sends: the pod's address, which ALLOWED_HOSTS refuses


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@contextlib.contextmanager
def _database_down():
    """The default connection pointed at a port where nothing listens, as during a database outage."""
    conn = connections["default"]
    conn.close()
    saved = conn.settings_dict["PORT"]
    conn.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict["PORT"] = saved


@pytest.fixture
def bucket(settings, monkeypatch):
    """An in-memory S3 (moto) and a fresh archive bucket name; the test decides whether it has Object Lock."""
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    name = f"archive-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", name)
    with mock_aws():
        yield archive.archive_client(), name


# --- liveness -----------------------------------------------------------------------------------------------------


def test_healthz_asks_no_database_and_answers_on_any_host():
    # No ``db`` fixture: pytest-django refuses every database access, so a query would be a 500 here.
    client = Client(raise_request_exception=True)
    for host in (POD_HOST, "localhost", "hocba.localhost", "thcs-an-thanh.hocba.localhost"):
        response = client.get("/healthz", HTTP_HOST=host, HTTP_COOKIE="hocba_session=stale-session-key")
        assert response.status_code == 200, host
        assert response.json() == {"status": "ok"} and response["X-Request-ID"]


def test_healthz_answers_while_the_database_is_down(django_db_blocker):
    with django_db_blocker.unblock(), _database_down():
        response = Client(raise_request_exception=True).get("/healthz", HTTP_HOST=POD_HOST)
        assert response.status_code == 200


def test_probes_are_not_redirected_to_https_on_any_host(bucket):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_REDIRECT_EXEMPT=[r"^healthz$", r"^readyz$"]):
        assert Client().get("/healthz", HTTP_HOST=POD_HOST).status_code == 200
        assert Client().get("/accounts/login/", HTTP_HOST="hocba.localhost").status_code == 301


# --- readiness ----------------------------------------------------------------------------------------------------


def _ready(host: str = POD_HOST):
    response = Client().get("/readyz", HTTP_HOST=host)
    body = response.json()
    return response.status_code, body


def test_readyz_is_200_with_every_check_timed(w, bucket):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    status, body = _ready()
    assert status == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert [c["name"] for c in body["checks"]] == ["database", "redis", "archive"]
    assert all(c["ok"] and c["ms"] >= 0 for c in body["checks"])


def test_readyz_names_a_bucket_without_object_lock_and_never_creates_one(w, bucket):
    client, name = bucket
    status, body = _ready()  # no bucket at all
    assert (status, body["failed"]) == (503, ["archive"])
    assert name not in [b["Name"] for b in client.list_buckets()["Buckets"]]  # read, never created
    client.create_bucket(Bucket=name)  # a bucket without Object Lock
    status, body = _ready()
    assert (status, body["failed"]) == (503, ["archive"])
    assert name not in json.dumps(body)  # what failed is named; its details stay in the log


def test_readyz_names_redis_when_it_does_not_answer(w, bucket, settings):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, body = _ready()
    assert (status, body["failed"]) == (503, ["redis"])


def test_readyz_names_the_database_when_it_is_down(bucket, django_db_blocker):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    with django_db_blocker.unblock(), _database_down():
        status, body = _ready()
    assert (status, body["failed"]) == (503, ["database"])
    assert [c["ok"] for c in body["checks"]] == [False, True, True]


def test_a_worker_starting_says_loudly_when_the_bucket_has_no_lock(bucket, caplog, monkeypatch):
    client, name = bucket
    client.create_bucket(Bucket=name)
    with caplog.at_level(logging.INFO, logger="hocba.kernel.health"):
        assert health.check_archive_at_start() is False
    assert any(r.levelno == logging.ERROR and "ARCHIVE BUCKET NOT USABLE" in r.getMessage() for r in caplog.records)
    locked = name + "-locked"
    client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="hocba.kernel.health"):
        monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", locked)
        assert health.check_archive_at_start() is True
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


# --- metrics ------------------------------------------------------------------------------------------------------


def test_each_request_is_timed_by_view_method_and_status_class():
    labels = {"view": "healthz", "method": "GET", "status": "2xx"}
    before = _sample("hocba_http_request_duration_seconds_count", labels)
    Client().get("/healthz", HTTP_HOST=POD_HOST)
    Client().get("/healthz", HTTP_HOST=POD_HOST)
    assert _sample("hocba_http_request_duration_seconds_count", labels) == before + 2
    unresolved = {"view": metrics.UNRESOLVED, "method": "GET", "status": "4xx"}
    before = _sample("hocba_http_request_duration_seconds_count", unresolved)
    Client().get("/healthz", HTTP_HOST="evil.example")  # a probe path still answers; anything else is refused
    Client().get("/", HTTP_HOST="evil.example")
    assert _sample("hocba_http_request_duration_seconds_count", unresolved) == before + 1


def test_a_window_refusal_is_counted_by_category(w, klass_now):
    province = AdministrativeUnit.objects.get(pk=w.province)
    now = timezone.now()
    window_services.window_create(
        actor=None,
        category="scores_1",
        year_start=current_school_year(timezone.localdate()),
        opens_at=now - dt.timedelta(hours=1),
        locks_at=now - dt.timedelta(minutes=1),
        unit=province,
        school=None,
        grades=None,
        reason="Thử nghiệm",
    )
    labels = {"category": "scores_1", "code": "window.locked"}
    before = _sample("hocba_lock_refusals_total", labels)
    with pytest.raises(WindowLocked) as refused:
        sheet_save(
            access=klass_now.access(w, "teacher_a"),
            school_class=klass_now.school_class,
            subject=klass_now.math,
            term=1,
            cells=[{"student": klass_now.students[0], "column": "tx1", "value": "8"}],
        )
    assert refused.value.http_status == 423
    assert _sample("hocba_lock_refusals_total", labels) == before + 1


def test_archive_writes_are_counted_in_objects_and_bytes(bucket):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    objects, size = _sample("hocba_archive_objects_written_total", {"bucket": name}), 0.0
    archive.put_locked_json(client, name, "a.json", {"tên": "Trường"}, retention_days=1)
    archive.put_locked_json(client, name, "b.json", {"x": 1}, retention_days=0)
    expected = len(json.dumps({"tên": "Trường"}, ensure_ascii=False).encode()) + len(b'{"x": 1}')
    assert _sample("hocba_archive_objects_written_total", {"bucket": name}) == objects + 2
    assert _sample("hocba_archive_bytes_written_total", {"bucket": name}) == size + expected


def test_reconciliation_counts_the_schools_whose_figures_had_drifted(w, klass):
    fixed, none = {"drift": "fixed"}, {"drift": "none"}
    reconcile_school(w.school_a, klass.school.schema_name)  # whatever the fixtures left, now in agreement
    counts = (
        _sample("hocba_rollup_reconciled_schools_total", fixed),
        _sample("hocba_rollup_reconciled_schools_total", none),
    )
    reconcile_school(w.school_a, klass.school.schema_name)  # nothing drifted
    assert _sample("hocba_rollup_reconciled_schools_total", none) == counts[1] + 1
    row = SchoolRollup.objects.filter(school_id=w.school_a).first()
    SchoolRollup.objects.filter(pk=row.pk).update(students=row.students + 5)
    reconcile_school(w.school_a, klass.school.schema_name)
    assert _sample("hocba_rollup_reconciled_schools_total", fixed) == counts[0] + 1
    values = {"students": 3}
    assert rollup_set(school_id=w.school_a, year_start=1999, values=values) == {}  # a missing row is not drift
    assert rollup_set(school_id=w.school_a, year_start=1999, values=values) == {}
    assert rollup_set(school_id=w.school_a, year_start=1999, values={"students": 4}) == {"students": (3, 4)}


def test_queue_depth_is_read_from_redis_at_scrape():
    assert settings.REDIS_URL, "the test settings start an embedded Redis when none is configured"
    queue = f"hocba-test-queue-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.rpush(queue, "a", "b", "c")
        text = generate_latest(metrics.exporter_registry([metrics.QueueDepthCollector(settings.REDIS_URL, [queue])]))
    finally:
        client.delete(queue)
        client.close()
    assert f'hocba_celery_queue_length{{queue="{queue}"}} 3.0' in text.decode()
    assert "hocba_celery_broker_up 1.0" in text.decode()
    dead = metrics.QueueDepthCollector(f"redis://127.0.0.1:{free_port()}/0", [queue])
    text = generate_latest(metrics.exporter_registry([dead])).decode()
    assert "hocba_celery_broker_up 0.0" in text and "hocba_celery_queue_length{" not in text


# --- JSON logs ----------------------------------------------------------------------------------------------------


def _json_lines(logger: str):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    target = logging.getLogger(logger)
    target.addHandler(handler)
    return stream, lambda: target.removeHandler(handler)


def test_a_json_line_carries_request_id_school_and_account():
    stream, done = _json_lines("hocba.test.json")
    token = context.activate(context.ActorContext(account_id=42, request_id="req-7", school="s_thcs_an_thanh"))
    try:
        logging.getLogger("hocba.test.json").warning("Điểm %s đã lưu", "8,5")
        try:
            raise ValueError("hỏng")
        except ValueError:
            logging.getLogger("hocba.test.json").exception("lỗi")
    finally:
        context.reset(token)
        done()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "Điểm 8,5 đã lưu" and first["level"] == "WARNING"
    assert first["logger"] == "hocba.test.json" and first["time"].endswith("+00:00")
    assert (first["request_id"], first["school"], first["account"]) == ("req-7", "s_thcs_an_thanh", 42)
    assert "ValueError: hỏng" in second["exception"]


def test_a_request_logs_its_request_id_in_json(w, bucket, settings):
    client, name = bucket
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    stream, done = _json_lines("hocba.kernel.health")
    try:
        response = Client().get("/readyz", HTTP_HOST=POD_HOST, HTTP_X_REQUEST_ID="req-ready-1")
    finally:
        done()
    assert response.status_code == 503
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == "req-ready-1" and "redis" in line["message"] and "school" not in line


def test_a_signed_in_school_request_logs_its_school_and_account(w, login):
    stream, done = _json_lines("django.request")
    try:
        response = login("teacher_a", SCHOOL_A_HOST).get("/khong-co-trang-nay/", HTTP_X_REQUEST_ID="req-school-1")
    finally:
        done()
    assert response.status_code == 404
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == "req-school-1" and line["level"] == "WARNING"
    assert line["school"] == "s_thcs_an_thanh" and line["account"] == w.accounts["teacher_a"]


def test_production_logs_json_unless_told_otherwise():
    from tests.platform.test_proxies_csp import PRODUCTION_ENV

    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.LOG_FORMAT, s.LOGGING['handlers']['console']['formatter'])"
    )

    def run(**extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HOCBA_", "PYTEST_"))}
        env.update(PRODUCTION_ENV, PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]), **extra)
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)

    assert run().stdout.split() == ["json", "json"]
    assert run(HOCBA_LOG_FORMAT="text").stdout.split() == ["text", "text"]
    bad = run(HOCBA_LOG_FORMAT="xml")
    assert bad.returncode != 0 and "HOCBA_LOG_FORMAT must be json or text" in bad.stderr


# --- heartbeat ----------------------------------------------------------------------------------------------------


def _check(path, max_age="120"):
    return subprocess.run(
        [sys.executable, "-m", "hocba.heartbeat", "--max-age", max_age, "--file", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)])},
        timeout=60,
    )


def test_the_heartbeat_check_passes_on_a_fresh_file_and_fails_on_an_old_or_missing_one(tmp_path):
    path = tmp_path / "heartbeat"
    assert _check(path).returncode == 1 and "does not exist" in _check(path).stderr
    heartbeat.touch(path)
    assert _check(path).returncode == 0
    old = time.time() - 300
    os.utime(path, (old, old))
    failed = _check(path)
    assert failed.returncode == 1 and "s old (more than 120 s)" in failed.stderr
    assert heartbeat.check(400, path)[0] is True and heartbeat.check(120, path)[0] is False


def test_beat_scheduler_touches_the_heartbeat_on_each_pass(tmp_path, monkeypatch):
    from celery.beat import PersistentScheduler
    from hocba.celery import app
    from hocba.worker import HeartbeatScheduler

    path = tmp_path / "beat-heartbeat"
    monkeypatch.setenv("HOCBA_HEARTBEAT_FILE", str(path))
    assert app.conf.beat_scheduler == "hocba.worker:HeartbeatScheduler"
    monkeypatch.setattr(PersistentScheduler, "tick", lambda self, *args, **kwargs: 7.0)  # sends nothing
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    assert scheduler.tick() == 7.0
    assert heartbeat.age(path) is not None and heartbeat.age(path) < 5


# --- real processes -----------------------------------------------------------------------------------------------


@pytest.mark.server
def test_a_real_worker_touches_its_heartbeat(tmp_path):
    path = tmp_path / "worker-heartbeat"
    env = app_env(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hocba"),
        "hocba.localhost",
        HOCBA_HEARTBEAT_FILE=str(path),
        HOCBA_HEARTBEAT_INTERVAL="1",
        HOCBA_WORKER_METRICS_PORT="0",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    celery = [sys.executable, "-m", "celery", "-A", "hocba", "worker", "-l", "info", "-c", "1"]
    queue = f"hb-{uuid.uuid4().hex[:8]}"  # a queue of its own: it takes no other test's tasks
    log = tmp_path / "worker.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [*celery, "-Q", queue, "--without-mingle", "--without-gossip"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        first = None
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                first = first or path.stat().st_mtime
                if path.stat().st_mtime > first:  # touched again by the timer, not only at start
                    break
            time.sleep(0.2)
        assert path.exists() and first is not None and path.stat().st_mtime > first, log.read_text()[-3000:]
        assert _check(path, "10").returncode == 0
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)


@pytest.mark.server
def test_gunicorn_workers_metrics_are_summed_on_the_metrics_port_only(tmp_path):
    metrics_port = free_port()
    env = app_env(
        # No database is needed: /healthz asks none (the database named here does not exist).
        "postgresql://postgres@127.0.0.1:5432/hocba_no_such_database",
        "hocba.localhost",
        HOCBA_METRICS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    command = gunicorn(workers=2, threads=1)
    with serve(
        lambda port: [*command(port), "-c", "python:hocba.gunicorn_conf"],
        env,
        base_domain="hocba.localhost",
        log=tmp_path / "gunicorn.log",
    ) as server:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(20):
            with opener.open(server.base_url + "/healthz", timeout=5) as response:  # Host 127.0.0.1: any host
                assert response.status == 200
        with opener.open(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as not_here:  # the application's port serves no metrics
            opener.open(server.base_url + "/metrics", timeout=5)
        assert not_here.value.code == 404
    counts = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("hocba_http_request_duration_seconds_count{") and 'view="healthz"' in line
    ]
    assert counts and sum(counts) >= 20, text[:3000]
