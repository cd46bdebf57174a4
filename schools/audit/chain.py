"""The school's audit chain as a whole (current school schema): its first broken link, its head, and whether
an anchor taken earlier still holds (the anchoring job is ``tenants.anchors``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections


def first_broken_link(using: str = "default") -> int | None:
    """The first entry id whose link does not hold in the connection's current school schema, or None."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT audit_first_broken_link()")
        return cursor.fetchone()[0]


def chain_head(using: str = "default") -> dict[str, Any] | None:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT id, hash, at FROM schools_auditentry ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
    return None if row is None else {"last_id": row[0], "hash": row[1], "at": row[2].astimezone(dt.UTC).isoformat()}


def anchor_check(anchor: dict[str, Any], using: str = "default") -> bool:
    """Does the anchored entry still exist with the anchored hash (current school schema)?"""
    if anchor.get("last_id") is None:
        return True
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT hash FROM schools_auditentry WHERE id = %s", [anchor["last_id"]])
        row = cursor.fetchone()
    return row is not None and row[0] == anchor["hash"]
