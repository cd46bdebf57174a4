"""Periodic platform jobs. One beat entry per job; work fans out in chunks inside the job."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def school_schemas_check() -> dict[str, int]:
    """Mark every school whose schema is behind the migration head, so the board shows it."""
    from django.utils import timezone

    from . import provisioning
    from .models import School

    head = provisioning.migration_head()
    schemas = list(School.objects.filter(status="active").values_list("schema_name", flat=True))
    behind = set(provisioning.schemas_behind(schemas, head))
    provisioning.mark_checked([s for s in schemas if s not in behind], head)
    School.objects.filter(schema_name__in=behind, schema_error="").update(
        schema_head="", schema_checked_at=timezone.now()
    )
    log.info("school schemas: %d checked, %d behind", len(schemas), len(behind))
    return {"checked": len(schemas), "behind": len(behind)}


def reconcile_school(school_id: int) -> int:
    """Recompute this school's rollup rows from its tables (runs inside the school's schema)."""
    from schools.models import SchoolYear
    from schools.rollups import school_figures

    from .rollups import rollup_set

    years = list(SchoolYear.objects.all())
    for year in years:
        rollup_set(school_id=school_id, year_start=year.start_year, values=school_figures(year))
    return len(years)


@shared_task(acks_late=True)
def rollups_reconcile() -> int:
    """Beat entry: fan the reconciliation out over the schools in chunks (never a task per school in beat)."""
    from .perschool import school_chunks

    chunks = 0
    for chunk in school_chunks():
        rollups_reconcile_chunk.delay(chunk)
        chunks += 1
    return chunks


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def rollups_reconcile_chunk(schools: list[list]) -> int:
    from .perschool import run_in_school

    for school_id, schema_name in schools:
        run_in_school(schema_name, reconcile_school, school_id)
    return len(schools)


# --- audit chains (DESIGN §7): each school's chain head anchored in the archive store once a day ------------------


@shared_task(acks_late=True)
def audit_anchors() -> int:
    """Beat (daily): anchor every school's audit chain head, fanned out in chunks of schools."""
    from .perschool import school_chunks

    chunks = 0
    for chunk in school_chunks():
        audit_anchors_chunk.delay([schema for _school_id, schema in chunk])
        chunks += 1
    return chunks


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def audit_anchors_chunk(schemas: list[str]) -> int:
    from schools.audit import audit_chain_anchor

    return len(audit_chain_anchor(schemas))


# --- open/lock windows (DESIGN §5): one beat entry per job, fanning out in chunks (tenants.reminders) ---------


@shared_task(acks_late=True)
def window_reminders() -> dict:
    """Beat (every 15 min): reminders to teachers with unfinished sheets, HOCBA_WINDOW_REMIND_DAYS before a lock."""
    from .reminders import plan_reminders

    out = plan_reminders(window_reminders_chunk.delay)
    log.info("window reminders: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def window_reminders_chunk(window_id: int, schools: list[list]) -> dict:
    from .reminders import remind_chunk

    return remind_chunk(window_id, schools)


@shared_task(acks_late=True)
def window_snapshots() -> dict:
    """Beat (every minute): a compliance snapshot of every school of a window whose lock has just passed; a
    whole-year lock also starts the year-end flow."""
    from .reminders import plan_snapshots

    out = plan_snapshots(window_snapshots_chunk.delay, year_end_start_chunk.delay)
    if out["chunks"] or out["year_end_chunks"]:
        log.info("window snapshots: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def window_snapshots_chunk(window_id: int, school_ids: list[int]) -> int:
    from .reminders import snapshot_chunk

    return snapshot_chunk(window_id, school_ids)


@shared_task(acks_late=True)
def year_end_start(window_id: int | None = None) -> dict:
    """Beat (daily), also started by window_snapshots at a whole-year lock: count the records ready to sign in
    each school and tell its principal, once per window."""
    from .reminders import plan_year_end

    out = plan_year_end(year_end_start_chunk.delay, window_id=window_id)
    log.info("year-end start: %s", out)
    return out


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def year_end_start_chunk(window_id: int, schools: list[list]) -> dict:
    from .reminders import year_end_chunk

    return year_end_chunk(window_id, schools)
