"""The school's append-only, hash-chained audit table, written by database triggers only."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    at = models.DateTimeField()
    account_id = models.BigIntegerField(null=True)
    role = models.CharField(max_length=120)
    tier = models.CharField(max_length=20)
    request_id = models.CharField(max_length=64)
    source = models.CharField(max_length=20)
    table_name = models.CharField(max_length=60)
    operation = models.CharField(max_length=6)
    rows = models.IntegerField()
    old_values = models.TextField()
    new_values = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        managed = True
        ordering = ["id"]
        indexes = [models.Index(fields=["at"]), models.Index(fields=["account_id", "at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.table_name} {self.operation}"
