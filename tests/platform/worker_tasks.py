"""A task for tests/platform/test_worker_redelivery.py only, loaded into the test's worker with ``-I``.

It notes each start (process id, time) in a file, blocks on its first run and ends at once when it is run again,
as a redelivered idempotent job would: what it did is already there."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from celery import shared_task


def _note(path: Path, **fields) -> None:
    with path.open("a") as out:
        out.write(json.dumps({"pid": os.getpid(), "at": time.time(), **fields}) + "\n")
        out.flush()
        os.fsync(out.fileno())


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90)
def block_once(path: str, seconds: float) -> int:
    notes = Path(path)
    runs = len(notes.read_text().splitlines()) if notes.exists() else 0
    _note(notes, event="start", run=runs + 1)
    if runs == 0:
        time.sleep(seconds)
    _note(notes, event="done")
    return runs + 1
