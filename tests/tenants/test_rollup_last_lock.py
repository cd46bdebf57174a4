"""The year's last lock on the rollup row (tenants/0023): a trigger copies each snapshot's records and records
approved or further onto the school's rollup row of that year, a later lock replaces an earlier one and an earlier
one taken afterwards leaves it, a snapshot without figures leaves nothing to read, and a rollup's reconciliation
keeps them. The board reads them from there (one row per school)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hocba.kernel.schoolyear import current_school_year

from tenants.models import ComplianceSnapshot, SchoolRollup, Window
from tenants.rollups import rollup_set

YEAR = current_school_year()


def _window(unit_id: int, hours: float) -> Window:
    now = timezone.now()
    return Window.objects.create(
        tier="unit",
        unit_id=unit_id,
        category="scores_1",
        year_start=YEAR,
        opens_at=now - dt.timedelta(days=30),
        locks_at=now + dt.timedelta(hours=hours),
        reason="Lịch thử nghiệm",
    )


def _snapshot(window: Window, school_id: int, figures: dict) -> None:
    ComplianceSnapshot.objects.create(
        window=window,
        school_id=school_id,
        year_start=YEAR,
        locks_at=window.locks_at,
        taken_at=timezone.now(),
        figures=figures,
    )


def _lock(school_id: int) -> tuple:
    return SchoolRollup.objects.values_list("lock_at", "lock_records", "lock_approved").get(
        school_id=school_id, year_start=YEAR
    )


def test_each_snapshot_copies_the_last_lock_onto_the_rollup_row(w):
    SchoolRollup.objects.update_or_create(school_id=w.school_a, year_start=YEAR, defaults={"students": 40})
    assert _lock(w.school_a) == (None, None, None)
    later, earlier = _window(w.unit_a, -2), _window(w.unit_a, -48)
    _snapshot(later, w.school_a, {"records_total": 30, "records": {"approved": 5, "signed": 4, "locked": 1}})
    assert _lock(w.school_a) == (later.locks_at, 30, 10)
    # an earlier lock's snapshot taken afterwards (a catch-up pass) does not replace the later one
    _snapshot(earlier, w.school_a, {"records_total": 99, "records": {"approved": 99}})
    assert _lock(w.school_a) == (later.locks_at, 30, 10)
    # a later lock replaces it; a lock of a school without a rollup row at the time holds nothing to read
    latest = _window(w.unit_a, -1)
    _snapshot(latest, w.school_a, {})
    assert _lock(w.school_a) == (latest.locks_at, None, None)
    # the reconciliation overwrites the figures it recomputes, never the lock's
    rollup_set(school_id=w.school_a, year_start=YEAR, values={"students": 41})
    assert _lock(w.school_a) == (latest.locks_at, None, None)


def test_a_snapshot_of_another_year_or_school_touches_only_its_own_row(w):
    for school_id in (w.school_a, w.school_b):
        SchoolRollup.objects.update_or_create(school_id=school_id, year_start=YEAR, defaults={"students": 10})
    SchoolRollup.objects.update_or_create(school_id=w.school_a, year_start=YEAR - 1, defaults={"students": 10})
    lock = _window(w.unit_a, -3)
    _snapshot(lock, w.school_b, {"records_total": 7, "records": {"approved": 7}})
    assert _lock(w.school_b) == (lock.locks_at, 7, 7)
    assert _lock(w.school_a) == (None, None, None)
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=YEAR - 1).lock_at is None
