"""Periodic platform jobs. One beat entry per job; work fans out in chunks inside the job."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import anchors, perschool, provisioning
from .models import School
from .reminders import (
    plan_reminders,
    plan_snapshots,
    plan_year_end,
    remind_chunk,
    snapshot_chunk,
    year_end_chunk,
)
from .rollups import rollup_set

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
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


def reconcile_school(school_id: int, schema_name: str) -> int:
    """Recompute this school's rollup rows from its tables; returns the number of school years."""
    figures = perschool.rollup_figures(schema_name)
    for year_start, values in figures.items():
        rollup_set(school_id=school_id, year_start=year_start, values=values)
    return len(figures)


@shared_task(acks_late=True)
def rollups_reconcile() -> int:
    """Beat entry: fan the reconciliation out over the schools in chunks (never a task per school in beat)."""
    chunks = 0
    for chunk in perschool.school_chunks():
        rollups_reconcile_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def rollups_reconcile_chunk(schools: list[list]) -> int:
    for school_id, schema_name in schools:
        reconcile_school(school_id, schema_name)
    return len(schools)


# --- audit chains (DESIGN §7): each school's chain head anchored in the archive store once a day ------------------


@shared_task(acks_late=True)
def audit_anchors() -> int:
    """Beat (daily): anchor every school's audit chain head, fanned out in chunks of schools."""
    chunks = 0
    for chunk in perschool.school_chunks():
        audit_anchors_chunk.delay([schema for _school_id, schema in chunk])
        chunks += 1
    return chunks


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def audit_anchors_chunk(schemas: list[str]) -> int:
    return len(anchors.audit_chain_anchor(schemas))


# --- open/lock windows (DESIGN §5): one beat entry per job, fanning out in chunks (tenants.reminders) ---------


@shared_task(acks_late=True)
def window_reminders() -> dict:
    """Beat (every 15 min): reminders to teachers with unfinished sheets, HOCBA_WINDOW_REMIND_DAYS before a lock."""
    out = plan_reminders(window_reminders_chunk.delay)
    log.info("window reminders: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def window_reminders_chunk(window_id: int, schools: list[list]) -> dict:
    return remind_chunk(window_id, schools)


@shared_task(acks_late=True)
def window_snapshots() -> dict:
    """Beat (every minute): a compliance snapshot of every school of a window whose lock has just passed; a
    whole-year lock also starts the year-end flow."""
    out = plan_snapshots(window_snapshots_chunk.delay, year_end_start_chunk.delay)
    if out["chunks"] or out["year_end_chunks"]:
        log.info("window snapshots: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def window_snapshots_chunk(window_id: int, school_ids: list[int]) -> int:
    return snapshot_chunk(window_id, school_ids)


@shared_task(acks_late=True)
def year_end_start(window_id: int | None = None) -> dict:
    """Beat (daily), also started by window_snapshots at a whole-year lock: count the records ready to sign in
    each school and tell its principal, once per window."""
    out = plan_year_end(year_end_start_chunk.delay, window_id=window_id)
    log.info("year-end start: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def year_end_start_chunk(window_id: int, schools: list[list]) -> dict:
    return year_end_chunk(window_id, schools)
