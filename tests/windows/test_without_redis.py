"""With Redis and the Celery worker stopped, enforcement is unchanged: the lock is the database's.

The server (gunicorn, as in test_race.py) runs with ``REDIS_URL`` on a closed port — the cache and the Celery broker
unreachable — and no worker anywhere. A save before the lock is answered 200 and kept; after the lock (moved to a
couple of seconds ahead by the database clock) the same save is answered 423 and changes nothing.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.windows.school_server import school_server

pytestmark = pytest.mark.server
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def server():
    assert _closed(1)
    with school_server("noredis", REDIS_URL=DEAD_REDIS) as s:
        yield s


def test_lock_is_enforced_without_redis_and_worker(server):
    # The server runs with the cache and the Celery broker on a closed port, and there is no worker.
    assert server.environ()["REDIS_URL"] == DEAD_REDIS
    with httpx.Client(timeout=20.0) as client:
        r = server.save(client, 0, "trước khi khóa")
        assert r.status_code == 200, r.text[:500]
        assert server.stored()[server.info["subjects"][0]] == "trước khi khóa"

        locks_at = server.lock_in(1.5)
        r = server.save(client, 1, "vẫn kịp")  # still before the lock: accepted
        assert r.status_code == 200, r.text[:500]
        now = server.sql("SELECT clock_timestamp()")[0][0]
        time.sleep(max(0.0, (locks_at - now).total_seconds()) + 0.2)

        r = server.save(client, 0, "sau khi khóa")
        assert r.status_code == 423, r.text[:500]
        body = r.json()
        assert body["code"] == "window.locked" and body["window"]["id"] == server.info["window_id"]
        assert "Đã khóa nhập" in body["detail"] and "Sở GD&ĐT" in body["detail"]

    stored = server.stored()
    assert stored[server.info["subjects"][0]] == "trước khi khóa"
    assert stored[server.info["subjects"][1]] == "vẫn kịp"
    audit = server.sql(
        f"SELECT at FROM \"{server.info['schema']}\".schools_auditentry WHERE table_name = 'schools_assessment'"
    )
    assert len(audit) == 2 and max(at for (at,) in audit) < locks_at
    assert _closed(1)
