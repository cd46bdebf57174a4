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
