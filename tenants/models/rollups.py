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
    profile_complete = models.IntegerField(
        default=0, db_default=0, help_text="students on roll whose record-book identity fields are all filled"
    )
    sheets_required_term1 = models.IntegerField(default=0, db_default=0, help_text="term I sheets (assignment × term)")
    sheets_done_term1 = models.IntegerField(default=0, db_default=0, help_text="term I sheets finished")
    sheets_required_term2 = models.IntegerField(default=0, db_default=0, help_text="term II sheets")
    sheets_done_term2 = models.IntegerField(default=0, db_default=0, help_text="term II sheets finished")
    conduct_done_term1 = models.IntegerField(
        default=0, db_default=0, help_text="students with conduct (TT22) or qualities (TT27) entered for term I"
    )
    conduct_done_term2 = models.IntegerField(
        default=0, db_default=0, help_text="students with conduct (TT22) or qualities (TT27) entered for term II"
    )
    records_archived = models.IntegerField(default=0, db_default=0, help_text="record books signed and archived")
    edits_after_approval = models.IntegerField(
        default=0, db_default=0, help_text="audit entries changing an approved record (counted by the daily pass)"
    )
    edits_counted_to = models.BigIntegerField(
        default=0, db_default=0, help_text="the school's last audit entry id the daily pass counted"
    )
    updated_at = models.DateTimeField(auto_now=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # The year's last lock as its snapshot holds it (``ComplianceSnapshot``, copied by a trigger at each snapshot:
    # the board reads one row per school, not the latest of its snapshots): records and records approved or further.
    lock_at = models.DateTimeField(null=True, blank=True, help_text="the lock time of the year's last snapshot")
    lock_records = models.IntegerField(null=True, blank=True)
    lock_approved = models.IntegerField(null=True, blank=True)

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


class ClassRollup(models.Model):
    """One class of a school's year: its students on roll, record books per state and sheets required/done per term.
    Students and states move in the writer's transaction; the sheets' completeness is recomputed by the drain of
    stale classes (``stale_since`` set in the writer's transaction, cleared by the drain within seconds)."""

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="class_rollups")
    year_start = models.PositiveSmallIntegerField()
    class_id = models.BigIntegerField(help_text="the class's id in the school's schema")
    name = models.CharField(max_length=40)
    grade = models.PositiveSmallIntegerField()
    students = models.IntegerField(default=0, db_default=0)
    records_draft = models.IntegerField(default=0, db_default=0)
    records_submitted = models.IntegerField(default=0, db_default=0)
    records_approved = models.IntegerField(default=0, db_default=0)
    records_signed = models.IntegerField(default=0, db_default=0)
    records_locked = models.IntegerField(default=0, db_default=0)
    sheets_required_term1 = models.IntegerField(default=0, db_default=0)
    sheets_done_term1 = models.IntegerField(default=0, db_default=0)
    sheets_required_term2 = models.IntegerField(default=0, db_default=0)
    sheets_done_term2 = models.IntegerField(default=0, db_default=0)
    stale_since = models.DateTimeField(
        null=True, blank=True, help_text="set when a write may have changed the sheets' completeness; null: current"
    )
    updated_at = models.DateTimeField(auto_now=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year_start", "class_id"], name="one_class_rollup")]
        indexes = [
            models.Index(
                fields=["stale_since"], name="class_rollup_stale", condition=models.Q(stale_since__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start}/{self.name}"


class RollupDay(models.Model):
    """A school's figures as they stood on a day (completion over time): written by the first reconciliation pass of
    the day, a copy of the school's rollup row (``tenants.reminders.rollup_figures``)."""

    school = models.ForeignKey("tenants.School", on_delete=models.CASCADE, related_name="rollup_days")
    year_start = models.PositiveSmallIntegerField()
    day = models.DateField()
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "year_start", "day"], name="one_rollup_day")]
        indexes = [models.Index(fields=["year_start", "day"], name="rollup_day_year_day")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.year_start}/{self.day}"
