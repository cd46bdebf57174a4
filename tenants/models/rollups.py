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
    classes = models.IntegerField(default=0, db_default=0, help_text="classes of the year")
    records_reopened = models.IntegerField(
        default=0, db_default=0, help_text="record books of the year reopened at least once (a reason kept)"
    )
    updated_at = models.DateTimeField(auto_now=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year_start"], name="one_rollup_per_school_year")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start}"


class ResultDistribution(models.Model):
    """How many approved record books of a school's year hold a result (``measure`` = ``value``), by grade, gender
    and ethnic group: the results frozen at approval (``RecordBook.results``), added at approval and withdrawn at a
    reopen in the same transaction (``tenants.rollups.distribution_add``), recomputed by the reconciliation
    (``tenants.distributions``). The measures and their values: ``schools.rollups.MEASURES``."""

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="distributions")
    year_start = models.PositiveSmallIntegerField()
    grade = models.PositiveSmallIntegerField()
    gender = models.CharField(max_length=1, help_text="M / F, as Student.gender")
    ethnicity = models.CharField(max_length=2, help_text="the group's code (hocba.kernel.ethnicity); 00: other")
    measure = models.CharField(max_length=30)
    value = models.CharField(max_length=40)
    count = models.IntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "year_start", "grade", "gender", "ethnicity", "measure", "value"],
                name="one_distribution_cell",
            )
        ]
        indexes = [models.Index(fields=["year_start", "measure"], name="distribution_year_measure")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start}/{self.grade}/{self.measure}={self.value}: {self.count}"


class RollupDrift(models.Model):
    """One figure the reconciliation found wrong and fixed: the public row said ``old``, the school's tables ``new``.
    Written in the reconciliation's transaction, one row per differing field (tenants.rollup_outbox)."""

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="rollup_drifts")
    year_start = models.PositiveSmallIntegerField()
    table = models.CharField(max_length=40, default="schoolrollup", help_text="the public table the figure is in")
    field = models.CharField(
        max_length=120,
        help_text="a column of the table, or a distribution's cell (grade/gender/ethnicity/measure/value)",
    )
    old = models.IntegerField()
    new = models.IntegerField()
    found_at = models.DateTimeField(help_text="when the school's reconciliation ran (its transaction's time)")
    run = models.CharField(max_length=32, blank=True, help_text="the reconciliation pass (empty when run by hand)")

    class Meta:
        indexes = [models.Index(fields=["school", "-found_at"], name="rollup_drift_school_found")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start} {self.table}.{self.field}: {self.old} → {self.new}"
