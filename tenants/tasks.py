"""Periodic platform jobs. One beat entry per job; work fans out in chunks inside the job.

Every task here is acked late and given back to the queue when its worker dies (``reject_on_worker_lost``; the
settings make both the default too), so a task may run twice: each is safe to redo, which was checked one by one:

* ``school_schemas_check``: reads the schemas' migration state and sets the same marks again;
* ``rollups_reconcile_chunk``: recomputes each school's rollup rows from its tables under its chain lock and
  overwrites them, recording the drift fixed (a second run finds none);
* ``rollups_drain`` / ``rollups_sweep_chunk``: each school's outbox rows are deleted and added to its public rows in
  one transaction; a second run finds them gone (a redelivered drain whose schools were taken from the Redis set
  finds nothing to do: the sweep drains what it left);
* ``rollups_stale_drain``: recomputes the stale classes' figures under each school's chain lock and overwrites
  them; a second run finds no stale class (or recomputes the same figures);
* ``rollups_students_day_chunk``: a school reconciled today is left alone, so a second run changes nothing (the
  day's delta and the reconciliation are one transaction);
* ``school_backups_chunk``: a second run writes a second backup under a new time stamp (both expire);
* ``audit_anchors_chunk``: writes the day's anchor again under the same key, a new object version holding the
  chain head at that moment (the earlier version stays locked; ``latest_anchor`` reads the newest); the edits after
  approval are counted from the mark the last count moved in the same transaction, so none is counted twice;
* ``window_reminders_chunk`` / ``window_snapshots_chunk`` / ``year_end_start_chunk``: a marker row per (window,
  school) and a unique key per notice (``ON CONFLICT DO NOTHING``) — a second run sends no notice twice. The e-mail
  copy follows the committed notice: a worker killed between the two loses that e-mail (at most once, never twice);
* ``monthly_duty_chunk``: a row per (school, month) written with the notices, a unique key per class and month
  (``ON CONFLICT DO NOTHING``) — a second run sends no notice twice;
* the planners (``rollups_reconcile``, ``rollups_sweep``, ``rollups_students_day``, ``audit_anchors``,
  ``window_reminders``, ``window_snapshots``, ``year_end_start``, ``monthly_duty``) only read and enqueue chunks,
  which are themselves safe to redo.

Every task has a time limit (``hocba.celery``); the broker's visibility timeout follows from the longest.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.utils import timezone
from hocba.celery import CHUNK_LIMITS, PLANNER_LIMITS

from . import anchors, backups, duty, perschool, provisioning, rollup_days, rollup_edits, rollup_outbox
from .models import School
from .reminders import (
    plan_reminders,
    plan_snapshots,
    plan_year_end,
    remind_chunk,
    snapshot_chunk,
    year_end_chunk,
)
from .rollup_outbox import reconcile_school
from .services.school_files import provision_schools_job

# A background job (tenants.services.jobs), registered with the others here; one school's reconciliation, for the
# shell (the chunks go through tenants.rollup_days).
__all__ = ["provision_schools_job", "reconcile_school"]

log = logging.getLogger(__name__)

# A chunk task: retried in the task when the broker or the database connection drops for a moment (backoff under
# 10 s, far below the visibility timeout), redelivered when its worker dies.
CHUNK_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (ConnectionError,),
    "retry_backoff": True,
    "retry_backoff_max": 8,
    "max_retries": 3,
    **CHUNK_LIMITS,
}


@shared_task(**CHUNK_TASK)
def school_schemas_check() -> dict[str, int]:
    """Mark every school whose schema is behind the migration head, so the board shows it."""
    head = provisioning.migration_head()
    schemas = list(School.objects.filter(status="active").values_list("schema_name", flat=True))
    behind = set(provisioning.schemas_behind(schemas, head))
    provisioning.mark_checked([s for s in schemas if s not in behind], head)
    School.objects.filter(schema_name__in=behind, schema_error="").update(
        schema_head="", schema_checked_at=timezone.now()
    )
    log.info("school schemas: %d checked, %d behind", len(schemas), len(behind))
    return {"checked": len(schemas), "behind": len(behind)}


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def rollups_reconcile() -> int:
    """Beat entry: fan the reconciliation out over the schools in chunks (never a task per school in beat)."""
    chunks = 0
    run = uuid.uuid4().hex  # names the pass in the drift it records
    for chunk in perschool.school_chunks():
        rollups_reconcile_chunk.delay(chunk, run)
        chunks += 1
    return chunks


@shared_task(**CHUNK_TASK)
def rollups_reconcile_chunk(schools: list[list], run: str = "") -> int:
    # The first reconciliation of a school's day first brings its students figures to the day (tenants.rollup_days).
    last = rollup_days.reconciled_days([school_id for school_id, _schema in schools])
    for school_id, schema_name in schools:
        rollup_days.reconcile_on_day(school_id, schema_name, after=last.get(school_id), run=run)
    return len(schools)


# --- the rollup outbox (HOCBA_ROLLUP_MODE=outbox, docs/operations.md §9.4) ---------------------------------------

# The drain runs every 5 s: a short bound, so that a stuck run does not hold a worker for long (it stops taking
# schools after rollup_outbox.DRAIN_BUDGET_SECONDS; what it did not take stays in the set for the next run).
DRAIN_LIMITS = {"soft_time_limit": 30, "time_limit": 45}


@shared_task(acks_late=True, reject_on_worker_lost=True, **DRAIN_LIMITS)
def rollups_drain() -> dict[str, int]:
    """Beat (every 5 s, outbox mode only): drain the schools whose writes signalled rows since the last run."""
    return rollup_outbox.drain_signalled()


@shared_task(acks_late=True, reject_on_worker_lost=True, **DRAIN_LIMITS)
def rollups_stale_drain() -> dict[str, int]:
    """Beat (every 2 s, either mode): recompute the classes a write marked stale and their schools' completeness
    figures (``rollup_outbox.drain_stale``)."""
    return rollup_outbox.drain_stale()


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def rollups_sweep() -> int:
    """Beat (every 5 min, either mode): look for outbox rows left behind (a lost signal, Redis down, a switch back
    to inline), in chunks of schools."""
    chunks = 0
    for chunk in perschool.school_chunks():
        rollups_sweep_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(**CHUNK_TASK)
def rollups_sweep_chunk(schools: list[list]) -> dict[str, int]:
    return rollup_outbox.sweep_chunk(schools)


# --- the students figures move with the days: a transfer or an enrolment dated ahead counts from its day --------


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def rollups_students_day() -> int:
    """Beat (daily, just after midnight): bring the ``students`` figures to the new day in every school whose
    enrolments start or end since its last reconciliation (``tenants.rollup_days``), in chunks of schools."""
    chunks = 0
    for chunk in perschool.school_chunks():
        rollups_students_day_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(**CHUNK_TASK)
def rollups_students_day_chunk(schools: list[list]) -> dict[str, int]:
    return rollup_days.students_day_chunk(schools)


# --- audit chains (DESIGN §7): each school's chain head anchored in the archive store once a day ------------------


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def audit_anchors() -> int:
    """Beat (daily): anchor every school's audit chain head, fanned out in chunks of schools."""
    chunks = 0
    for chunk in perschool.school_chunks():
        audit_anchors_chunk.delay([schema for _school_id, schema in chunk])
        chunks += 1
    return chunks


@shared_task(**CHUNK_TASK)
def audit_anchors_chunk(schemas: list[str]) -> int:
    """Anchor the chunk's chain heads, then count each school's edits after approval since the last pass
    (``rollup_edits``: the boards' daily figure)."""
    anchored = len(anchors.audit_chain_anchor(schemas))
    rollup_edits.edits_chunk(schemas)
    return anchored


# --- backups (issue 15): every active school exported nightly into the backup bucket, fanned out in chunks ------

BACKUP_CHUNK = 20  # schools per chunk: about a second each, well inside the chunk's time limit


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def school_backups() -> int:
    """Beat (nightly, ``HOCBA_BACKUP_HOUR``): back up every active school, in chunks; ``HOCBA_BACKUP_SCHEDULE=off``
    turns it off."""
    if not backups.schedule_enabled():
        return 0
    backups.refuse_archive_bucket(backups.backup_bucket())
    backups.backup_connection()  # no backup login (nor the owner's): refused here, once, before any chunk is queued
    chunks = 0
    for chunk in perschool.school_chunks(BACKUP_CHUNK):
        school_backups_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(**CHUNK_TASK)
def school_backups_chunk(schools: list[list]) -> dict[str, int]:
    """Back up each school of the chunk, read through the backup login (``backups.backup_connection``); a failure is
    logged and the others go on."""
    done = failed = 0
    using = backups.backup_connection()
    for school in School.objects.filter(pk__in=[school_id for school_id, _schema in schools], status="active"):
        try:
            backups.backup_school(school, "s3", using=using)
            done += 1
        except Exception:
            log.exception("backup of %s failed", school.schema_name)
            failed += 1
    return {"done": done, "failed": failed}


# --- open/lock windows (DESIGN §5): one beat entry per job, fanning out in chunks (tenants.reminders) ---------


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def window_reminders() -> dict:
    """Beat (every 15 min): reminders to teachers with unfinished sheets, HOCBA_WINDOW_REMIND_DAYS before a lock."""
    out = plan_reminders(window_reminders_chunk.delay)
    log.info("window reminders: %s", out)
    return out


@shared_task(**CHUNK_TASK)
def window_reminders_chunk(window_id: int, schools: list[list]) -> dict:
    return remind_chunk(window_id, schools)


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def window_snapshots() -> dict:
    """Beat (every minute): a compliance snapshot of every school of a window whose lock has just passed; a
    whole-year lock also starts the year-end flow."""
    out = plan_snapshots(window_snapshots_chunk.delay, year_end_start_chunk.delay)
    if out["chunks"] or out["year_end_chunks"]:
        log.info("window snapshots: %s", out)
    return out


@shared_task(**CHUNK_TASK)
def window_snapshots_chunk(window_id: int, school_ids: list[int]) -> int:
    return snapshot_chunk(window_id, school_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def year_end_start(window_id: int | None = None) -> dict:
    """Beat (daily), also started by window_snapshots at a whole-year lock: count the records ready to sign in
    each school and tell its principal, once per window."""
    out = plan_year_end(year_end_start_chunk.delay, window_id=window_id)
    log.info("year-end start: %s", out)
    return out


@shared_task(**CHUNK_TASK)
def year_end_start_chunk(window_id: int, schools: list[list]) -> dict:
    return year_end_chunk(window_id, schools)


# --- the homeroom teachers' monthly duty (Long An reg. art. 7.2): one beat entry, chunks of schools ----------------


@shared_task(acks_late=True, reject_on_worker_lost=True, **PLANNER_LIMITS)
def monthly_duty(month: str | None = None) -> dict:
    """Beat (monthly, ``HOCBA_MONTHLY_DUTY_DAY`` at ``HOCBA_MONTHLY_DUTY_HOUR``): remind the homeroom teachers whose
    class had no attendance or conduct update in the month just ended (or ``month``, ``yyyy-mm``), once, and record
    each school's figure for the boards."""
    out = duty.plan_monthly_duty(monthly_duty_chunk.delay, month=duty.parse_month(month) if month else None)
    log.info("monthly duty: %s", out)
    return out


@shared_task(**CHUNK_TASK)
def monthly_duty_chunk(month: str, schools: list[list]) -> dict:
    return duty.duty_chunk(month, schools)
