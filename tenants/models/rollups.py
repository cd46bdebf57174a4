"""Per-school figures the boards read, kept current by the schools' own writes (DESIGN §3)."""

from __future__ import annotations

from django.db import models


class SchoolRollup(models.Model):
    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="rollups")
    year_start = models.PositiveSmallIntegerField()
    students = models.IntegerField(default=0, db_default=0)
    records_draft = models.IntegerField(default=0, db_default=0)
    records_submitted = models.IntegerField(default=0, db_default=0)
    records_approved = models.IntegerField(default=0, db_default=0)
    records_signed = models.IntegerField(default=0, db_default=0)
    records_locked = models.IntegerField(default=0, db_default=0)
    entries = models.IntegerField(default=0, db_default=0, help_text="assessment cells filled")
    entries_term1 = models.IntegerField(default=0, db_default=0, help_text="assessment cells filled in term I")
    entries_term2 = models.IntegerField(default=0, db_default=0, help_text="assessment cells filled in term II")
    conduct_entries = models.IntegerField(default=0, db_default=0)
    absences = models.IntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year_start"], name="one_rollup_per_school_year")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start}"
