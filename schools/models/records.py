"""The record book of a student for a year and its workflow: draft → submitted → approved → signed → locked."""

from __future__ import annotations

from django.db import models
from hocba.kernel.recordstates import RecordState

__all__ = ["RecordBook", "RecordState"]


class RecordBook(models.Model):
    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="records")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey("schools.SchoolClass", on_delete=models.PROTECT, related_name="records")
    state = models.CharField(max_length=10, choices=RecordState.choices, default=RecordState.DRAFT)
    homeroom_comment = models.TextField(blank=True)
    principal_comment = models.TextField(blank=True)
    completion_note = models.TextField(blank=True)
    retest_passed = models.BooleanField(null=True, blank=True)
    summer_training_passed = models.BooleanField(null=True, blank=True)
    retest_scores = models.JSONField(
        default=dict, blank=True, help_text='TT22 re-test results by subject code: a score ("6.5") or "D"/"CD"'
    )
    retest_chosen = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text="TT22: subjects chosen for the re-test; null: no choice recorded (every candidate)",
    )
    followup_plan = models.TextField(blank=True, help_text="TT27: the plan of help over the summer")
    followup_levels = models.JSONField(
        default=dict, blank=True, help_text="TT27: the follow-up evaluation by subject or quality code (T/H/C, T/D/C)"
    )
    followup_decision = models.CharField(
        max_length=10, blank=True, help_text="TT27: the principal's decision after the follow-up: len_lop / o_lai_lop"
    )
    exemplary_recognised = models.BooleanField(default=False, help_text="TT27: recognised as Học sinh Tiêu biểu")
    adhoc_commendation = models.CharField(
        max_length=300, blank=True, help_text="TT27: the principal's ad-hoc commendation"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.BigIntegerField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.BigIntegerField(null=True, blank=True)
    reopened_reason = models.TextField(blank=True)
    approved_incomplete_reason = models.TextField(
        blank=True, help_text="why the record was approved although it missed items (empty: it was complete)"
    )
    approved_missing = models.JSONField(
        default=list, blank=True, help_text="what the record missed when approved, in words (Vietnamese)"
    )
    results = models.JSONField(
        default=dict,
        blank=True,
        help_text="results as computed at the last approval; kept through a reopen: what readers of approved records "
        "see until the next approval",
    )
    # Signing (reporting.services.signing): every column below is a workflow column (schools.audit.history
    # WORKFLOW_FIELDS), and the window guard lets an update through after a lock when it only moves the record forward
    # approved → signed → locked and changes only these and the state (sql/0003_windows.sql, the signing path).
    signed_at = models.DateTimeField(null=True, blank=True, help_text="when the school's seal closed the chain")
    sealed_by = models.BigIntegerField(null=True, blank=True, help_text="the account that applied the school's seal")
    locked_at = models.DateTimeField(null=True, blank=True, help_text="the principal's khóa decision (004 art. 12.1)")
    locked_by = models.BigIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="the last revocation of a signed record")
    revoked_by = models.BigIntegerField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True, help_text="why the principal revoked the signed record")
    approved_view = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text="the rest of what readers of approved records (parents) see, frozen at the last approval: comments, "
        "completion note, awards and discipline, who submitted and approved when; null: never approved",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "year"], name="one_record_per_year")]
        indexes = [
            models.Index(fields=["school_class", "state"]),
            # The window guard's question "is this student's record of that year signed or locked?" (sql/0003):
            # only those records are in it, so while none is signed the question costs an empty probe.
            models.Index(
                fields=["year", "student"],
                condition=models.Q(state__in=["signed", "locked"]),
                name="record_signed_or_locked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}/{self.year_id} ({self.state})"
