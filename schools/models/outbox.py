"""The school's rollup outbox (``HOCBA_ROLLUP_MODE=outbox``, docs/operations.md §9.4).

Each school write appends its rollup deltas here, in its own transaction, instead of upserting the public row; a
worker drains the rows into ``public.tenants_schoolrollup``. Derived data: the deltas are recomputable from the
school's tables, so the table carries no audit trigger and no window guard (draining must never be refused by a
lock), and backups leave it out."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class RollupOutbox(models.Model):
    year_start = models.PositiveSmallIntegerField()
    students = models.IntegerField(default=0, db_default=0)
    records_draft = models.IntegerField(default=0, db_default=0)
    records_submitted = models.IntegerField(default=0, db_default=0)
    records_approved = models.IntegerField(default=0, db_default=0)
    records_signed = models.IntegerField(default=0, db_default=0)
    records_locked = models.IntegerField(default=0, db_default=0)
    entries = models.IntegerField(default=0, db_default=0)
    entries_term1 = models.IntegerField(default=0, db_default=0)
    entries_term2 = models.IntegerField(default=0, db_default=0)
    conduct_entries = models.IntegerField(default=0, db_default=0)
    absences = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"{self.year_start}#{self.pk}"
