"""Edits after approval, counted once a day: the audit entries each school wrote since the last count that its
history reads as made after approval (``schools.audit.history``: one definition), added per school year to its
rollup rows (``edits_after_approval``), the last entry read kept in ``edits_counted_to``. Run by the daily
audit-anchor pass, which enters every school already (``tasks.audit_anchors_chunk``): the figure is daily."""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction

from . import perschool, rollups
from .models import School

log = logging.getLogger(__name__)

EDITS_BATCH = 2000  # audit entries read at a time (each batch: a constant number of queries, its own transaction)


def count_edits(school_id: int, schema_name: str, *, batch: int = EDITS_BATCH) -> int:
    """Count the school's entries after its mark, batch by batch; returns the edits after approval found. Each
    batch adds its counts and moves the mark in one transaction: a run cut short goes on from there next time,
    never counting an entry twice."""
    after, found = rollups.edits_counted(school_id), 0
    while True:
        got = perschool.edits_after_approval(schema_name, after_id=after, limit=batch)
        if got["last_id"] == after:
            return found
        with transaction.atomic():
            rollups.edits_add(school_id=school_id, counted_to=got["last_id"], by_year=got["by_year"])
        found += sum(got["by_year"].values())
        after = got["last_id"]
        if not got["more"]:
            return found


def edits_chunk(schemas: list[str]) -> dict[str, int]:
    """``count_edits`` for each school of the chunk; one that fails is logged and the others go on."""
    out = {"schools": 0, "edits": 0, "failed": 0}
    for school_id, schema_name in School.objects.filter(schema_name__in=schemas).values_list("pk", "schema_name"):
        try:
            out["edits"] += count_edits(school_id, schema_name)
            out["schools"] += 1
        except DatabaseError:
            log.exception("edits after approval: counting %s failed", schema_name)
            out["failed"] += 1
    return out
