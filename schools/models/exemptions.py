"""Exemptions: the principal's decision that a student is not assessed in a subject (miễn học), or only on its
theory (miễn học phần thực hành, TT22 art. 10), for a term or the whole school year."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..rules.common import ExemptionPart as RulePart


class ExemptionPart(models.TextChoices):
    """The codes of ``schools.rules.common.ExemptionPart``, labelled for the pages."""

    SUBJECT = RulePart.SUBJECT.value, _("Miễn học cả môn")
    PRACTICAL = RulePart.PRACTICAL.value, _("Miễn học phần thực hành")


class Exemption(models.Model):
    """One decision: student × subject × year × term (``None``: the whole year). Revoking deletes the row; the
    school's audit chain keeps it."""

    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("schools.Subject", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 or 2; empty: the whole year")
    part = models.CharField(max_length=10, choices=ExemptionPart.choices, default=ExemptionPart.SUBJECT)
    reason = models.CharField(max_length=300)
    decision_number = models.CharField(max_length=60)
    decided_on = models.DateField()
    recorded_by = models.BigIntegerField(null=True, blank=True, help_text="the account that recorded the decision")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "subject", "year", "term"], name="exemption_once_per_term", nulls_distinct=False
            ),
            models.CheckConstraint(condition=Q(term__isnull=True) | Q(term__in=[1, 2]), name="exemption_term"),
        ]
        indexes = [models.Index(fields=["year", "student"], name="exemption_year_student")]

    def __str__(self) -> str:
        return f"{self.student_id}/{self.subject_id}/{self.term or 'year'}: {self.part}"
