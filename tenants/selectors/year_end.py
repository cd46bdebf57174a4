"""The year-end flow as a school's pages read it: what the whole-year lock found in one class (``YearEndStart``,
written by ``tenants.reminders.year_end_school`` when the lock started the flow)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..models import YearEndStart


@dataclass(frozen=True)
class ClassAtLock:
    """One class as the whole-year lock found it: records approved and waiting for signatures, records still draft
    or submitted (they need an exception to be approved), records already signed or locked."""

    started_at: dt.datetime
    ready: int
    not_ready: int
    done: int


def class_at_lock(*, window_id: int, school_id: int, class_id: int) -> ClassAtLock | None:
    """The class's counts when ``window_id`` (a whole-year lock) started the school's year-end flow; ``None`` when
    that lock has not started it (yet) or the class had no record then. One query."""
    found = (
        YearEndStart.objects.filter(window_id=window_id, school_id=school_id).values("started_at", "by_class").first()
    )
    if found is None:
        return None
    for entry in found["by_class"] or ():
        if isinstance(entry, dict) and entry.get("class_id") == class_id:
            return ClassAtLock(
                started_at=found["started_at"],
                ready=int(entry.get("ready") or 0),
                not_ready=int(entry.get("not_ready") or 0),
                done=int(entry.get("done") or 0),
            )
    return None
