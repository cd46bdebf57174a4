"""A task whose worker dies is done again within the configured bound (acks_late + the visibility timeout).

A real Celery worker (``celery -A hocba worker``, prefork) runs against a Redis of the test's own, with
``HOCBA_CELERY_VISIBILITY_TIMEOUT`` short. It takes a task that blocks; the worker's main process and its pool
are killed with SIGKILL mid-task (nothing acks, nothing requeues: the message stays in Redis ``unacked``); a new
worker starts, and the task must start again no earlier than the visibility timeout after it was taken (a slow
live task is not duplicated) and no later than that timeout plus one restore sweep (or the new worker's start,
whichever is later).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from hocba.celery import broker_transport_options

from tests.servers import REPO, app_env, private_redis, stop_group

pytestmark = pytest.mark.server

VISIBILITY = 10  # seconds, for this test only; production's is hocba.celery.VISIBILITY_TIMEOUT
TASK = "tests.platform.worker_tasks.block_once"


@pytest.fixture
def broker(tmp_path):
    with private_redis(tmp_path / "redis.log") as url:
        yield url, redis.Redis.from_url(url)


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hocba", "worker", "-I", "tests.platform.worker_tasks"]
        + ["--pool", "prefork", "--concurrency", "1", "-l", "info", "-Q", "celery", "--without-mingle"]
        + ["--without-gossip", "--without-heartbeat", "-n", f"redelivery-{log.stem}@%h"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the pool's children can be killed with it
    )


def _wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in log.read_text():
            return time.time()
        assert proc.poll() is None, log.read_text()[-4000:]
        time.sleep(0.05)
    raise AssertionError(f"worker not ready in {timeout} s:\n{log.read_text()[-4000:]}")


def _notes(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what} not seen within {timeout} s:\n{log.read_text()[-4000:]}")


def test_killed_worker_task_is_redone_within_the_visibility_bound(broker, tmp_path):
    url, client = broker
    options = broker_transport_options(VISIBILITY)
    env = app_env(
        os.environ["DATABASE_URL"], "hocba.localhost", REDIS_URL=url, HOCBA_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY)
    )
    notes = tmp_path / "notes.jsonl"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = _worker(env, first_log)
    second = None
    try:
        _wait_ready(first, first_log)
        sender = Celery("sender", broker=url)
        sender.send_task(TASK, args=[str(notes), 120])
        started = _wait_for(lambda: _notes(notes), 30, "the first start", first_log)[0]
        assert client.hlen("unacked") == 1  # taken, not acknowledged (acks_late)

        time.sleep(0.5)  # mid-task
        os.kill(first.pid, signal.SIGKILL)  # the main process first, as an OOM kill would
        os.killpg(first.pid, signal.SIGKILL)  # and its pool (the child running the task)
        first.wait(10)
        killed_at = time.time()
        assert client.hlen("unacked") == 1 and client.llen("celery") == 0  # the message is held, not requeued

        second = _worker(env, second_log)
        ready_at = _wait_ready(second, second_log)
        bound = VISIBILITY + options["unacked_restore_interval"]
        redo = _wait_for(
            lambda: [n for n in _notes(notes) if n["event"] == "start" and n["run"] == 2],
            bound + 60,
            "the second start",
            second_log,
        )[0]
        _wait_for(lambda: [n for n in _notes(notes) if n["event"] == "done"], 30, "the end", second_log)
        _wait_for(lambda: client.hlen("unacked") == 0, 10, "the ack", second_log)

        taken_to_redo = redo["at"] - started["at"]
        kill_to_redo = redo["at"] - killed_at
        print(
            f"\nredelivery: {taken_to_redo:.2f} s after the task was taken, {kill_to_redo:.2f} s after the kill "
            f"(visibility {VISIBILITY} s, sweep {options['unacked_restore_interval']} s, "
            f"new worker ready {ready_at - killed_at:.2f} s after the kill)",
            file=sys.stderr,
        )
        assert redo["pid"] != started["pid"]
        assert taken_to_redo >= VISIBILITY - 0.5  # not before the timeout: a slow live task is not duplicated
        assert redo["at"] <= max(started["at"] + bound, ready_at) + 2.0
        assert [n["event"] for n in _notes(notes)] == ["start", "start", "done"]  # the first run never finished
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            stop_group(second)
