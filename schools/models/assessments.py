"""Assessments: scores, levels and comments per subject; qualities; conduct; absences; awards."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _


class AssessmentKind(models.TextChoices):
    # TT22 (secondary)
    REGULAR = "tx", _("Đánh giá thường xuyên")
    MIDTERM = "gk", _("Đánh giá giữa kì")
    FINAL = "ck", _("Đánh giá cuối kì")
    COMMENT = "nx", _("Nhận xét")
    # TT27 (primary): level and comment at mid-term and end of term; periodic tests
    LEVEL_MID = "mgk", _("Mức giữa kì")
    LEVEL_END = "mck", _("Mức cuối kì")
    TEST_MID = "kgk", _("Bài kiểm tra giữa kì")
    TEST_END = "kck", _("Bài kiểm tra cuối kì")


class Verdict(models.TextChoices):
    DAT = "D", _("Đạt")
    CHUA_DAT = "CD", _("Chưa đạt")
    T = "T", _("Hoàn thành tốt")
    H = "H", _("Hoàn thành")
    C = "C", _("Chưa hoàn thành")


class Assessment(models.Model):
    """One cell of a grade sheet: student × subject × year × term × kind × sequence number."""

    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="assessments")
    subject = models.ForeignKey("schools.Subject", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=3, choices=AssessmentKind.choices)
    seq = models.PositiveSmallIntegerField(default=0)
    score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    verdict = models.CharField(max_length=2, choices=Verdict.choices, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "subject", "year", "term", "kind", "seq"], name="assessment_cell"
            ),
            models.CheckConstraint(condition=Q(term__in=[1, 2]), name="assessment_term"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=10)), name="assessment_score_range"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score=Round("score", 1)), name="assessment_one_decimal"
            ),
        ]
        indexes = [models.Index(fields=["year", "subject", "term"])]

    def __str__(self) -> str:
        return f"{self.student_id}/{self.subject_id}/{self.term}/{self.kind}{self.seq or ''}"


class QualityAssessment(models.Model):
    """TT27: a quality or competency at mid-term or end of term: Tốt / Đạt / Cần cố gắng."""

    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    checkpoint = models.CharField(max_length=3, choices=[("mid", _("Giữa kì")), ("end", _("Cuối kì"))])
    code = models.SlugField(max_length=40)
    level = models.CharField(max_length=1, choices=[("T", _("Tốt")), ("D", _("Đạt")), ("C", _("Cần cố gắng"))])
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "year", "term", "checkpoint", "code"], name="quality_cell"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.level}"


class Conduct(models.Model):
    """TT22 conduct (rèn luyện) per semester, set by the homeroom teacher."""

    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField()
    level = models.CharField(
        max_length=2, choices=[("T", _("Tốt")), ("K", _("Khá")), ("D", _("Đạt")), ("CD", _("Chưa đạt"))]
    )
    text = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "year", "term"], name="conduct_once_per_term")]

    def __str__(self) -> str:
        return f"{self.student_id}/HK{self.term}: {self.level}"


class Absence(models.Model):
    """One day absent; months and years are sums of these."""

    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    excused = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "date"], name="absence_once_per_day")]

    def __str__(self) -> str:
        return f"{self.student_id} {self.date:%d/%m/%Y}"


class AwardDiscipline(models.Model):
    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=[("award", _("Khen thưởng")), ("discipline", _("Kỉ luật"))])
    title = models.CharField(max_length=200)
    decided_on = models.DateField()
    decided_by = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return self.title
