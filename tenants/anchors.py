"""Each school's audit chain, checked and anchored from the public side (DESIGN §7).

The chain lives in every school's schema and is read there through ``tenants.perschool``; its head is written
once a day to the archive store (``hocba.kernel.archive``, Object Lock, COMPLIANCE mode) under
``anchors/<YYYY-MM-DD>/<schema>.json``, so that a rewritten history no longer matches what was anchored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from hocba.env import runtime
from hocba.kernel import archive

from . import perschool
from .models import School

EMPTY_HEAD = {"last_id": None, "hash": "0" * 64, "at": None}


def retention_days() -> int:
    """``HOCBA_ANCHOR_RETENTION_DAYS`` (default 3650): how long an anchor cannot be removed or overwritten."""
    return int(runtime("HOCBA_ANCHOR_RETENTION_DAYS", "3650"))


def _schools(schemas: list[str] | None) -> list[tuple[int, str, str]]:
    qs = School.objects.filter(status="active")
    if schemas:
        qs = qs.filter(schema_name__in=schemas)
    return list(qs.order_by("schema_name").values_list("pk", "schema_name", "moet_code"))


def audit_chain_verify(schemas: list[str] | None = None) -> dict[str, int | None]:
    """{schema: first broken entry id or None (intact)} for the active schools (or those named)."""
    return {schema: perschool.audit_first_broken_link(schema) for _pk, schema, _code in _schools(schemas)}


def anchor_key(day: dt.date, schema: str) -> str:
    return f"anchors/{day.isoformat()}/{schema}.json"


def audit_chain_anchor(
    schemas: list[str] | None = None, *, day: dt.date | None = None, client=None, bucket: str | None = None
) -> list[dict[str, Any]]:
    """Write each school's chain head (last id, hash, time) to the archive store; return what was written.

    The function the daily beat task wraps. Refuses a bucket without Object Lock (``archive.ArchiveNotLocked``)."""
    client = client or archive.archive_client()
    bucket = bucket or archive.archive_bucket()
    archive.ensure_locked_bucket(client, bucket)
    day = day or timezone.localdate()
    retention = retention_days()
    written = []
    for school_id, schema, code in _schools(schemas):
        head = perschool.audit_chain_head(schema) or EMPTY_HEAD
        body = {
            "schema": schema,
            "school_id": school_id,
            "moet_code": code,
            **head,
            "anchored_at": timezone.now().astimezone(dt.UTC).isoformat(),
        }
        key = anchor_key(day, schema)
        archive.put_locked_json(client, bucket, key, body, retention_days=retention)
        written.append({"key": key, **body})
    return written


def latest_anchor(client, bucket: str, schema: str, *, today: dt.date, days: int = 7) -> dict[str, Any] | None:
    """The school's most recent anchor within ``days`` before ``today``, or None."""
    for back in range(days + 1):
        anchor = archive.get_json(client, bucket, anchor_key(today - dt.timedelta(days=back), schema))
        if anchor is not None:
            return anchor
    return None


def anchor_holds(schema: str, anchor: dict[str, Any]) -> bool:
    """Does the school's chain still hold the anchored entry with the anchored hash?"""
    return perschool.audit_anchor_holds(schema, anchor)
