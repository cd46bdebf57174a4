"""The lock instant under load: 8 writers saving continuously across a lock, against a real HTTP server.

Every save whose statement ran before the lock (by the database clock: the window trigger uses clock_timestamp())
is kept and answered 2xx; every one after is answered 423 and changed nothing; no other answer, no timeout.

The server (gunicorn, ``hocba.settings.local``, the application's database role) runs in a subprocess on a database
of its own (tests/windows/school_server.py: one school, one class, 8 subject teachers with API tokens, a province
window still open), shared with test_without_redis.py.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import pytest

from tests.windows.school_server import WRITERS, Server, school_server

pytestmark = pytest.mark.server
LOCK_AFTER = 5.0  # seconds from the start of the writers to the lock (database clock): room for a slow first save
WRITE_FOR = 8.0  # seconds the writers keep saving
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise


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
                code = (
                    r.json().get("code", "")
                    if status >= 400 and r.headers.get("content-type", "").startswith("application/json")
                    else ""
                )
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
    threads = [
        threading.Thread(target=_writer, args=(server, i, start, time.monotonic() + WRITE_FOR, answers[i]))
        for i in range(WRITERS)
    ]
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
    audit = server.sql(
        f'SELECT at FROM "{server.info["schema"]}".schools_auditentry'
        " WHERE table_name = 'schools_assessment' ORDER BY id"
    )
    assert len(audit) == total_ok + WRITERS
    assert max(at for (at,) in audit) < locks_at
    print(
        f"\nrace: {total_ok} saves accepted, {sum(len(g) for g in answers) - total_ok} refused, lock at {locks_at}; "
        f"last accepted audit entry {(locks_at - max(at for (at,) in audit)).total_seconds() * 1000:.1f} ms before it"
    )
