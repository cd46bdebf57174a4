"""A school's year, curriculum, classes and who teaches what. Every table here is multiplied by the
number of schools: keep it lean."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel import levels as school_levels

from ..rules.common import Grading as RuleGrading

LEVELS = school_levels.LEVEL_CHOICES


class SchoolYear(models.Model):
    """A school year, "2025–2026": September to May/June; term II starts on ``term2_starts_on``."""

    start_year = models.PositiveSmallIntegerField(unique=True)
    starts_on = models.DateField()
    term2_starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["-start_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=F("term2_starts_on")) & Q(term2_starts_on__gt=F("starts_on")),
                name="school_year_order",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.start_year}–{self.start_year + 1}"


class Grading(models.TextChoices):
    """The codes of ``schools.rules.common.Grading``, labelled for the pages."""

    SCORE = RuleGrading.SCORE.value, _("Điểm số và nhận xét")  # TT22 scored subjects
    COMMENT = RuleGrading.COMMENT.value, _("Nhận xét (Đạt/Chưa đạt)")  # TT22 comment-graded subjects
    LEVEL = RuleGrading.LEVEL.value, _("Mức đạt được (T/H/C)")  # TT27 primary subjects and activities


class Department(models.Model):
    """A subject department (tổ chuyên môn) and its head."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    head = models.ForeignKey(
        "tenants.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    """A subject or educational activity of the GDPT 2018 curriculum, editable per school."""

    level = models.CharField(max_length=20, choices=LEVELS)
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    grades = ArrayField(models.PositiveSmallIntegerField())
    periods_per_year = models.PositiveSmallIntegerField()
    grading = models.CharField(max_length=10, choices=Grading.choices)
    has_periodic_test = models.BooleanField(default=False, help_text="TT27: integer test scores")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="subjects"
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["level", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["level", "code"], name="subject_code_per_level"),
            models.CheckConstraint(condition=Q(periods_per_year__gt=0), name="subject_periods_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SchoolClass(models.Model):
    year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(max_length=20)
    grade = models.PositiveSmallIntegerField()
    homeroom_teacher = models.ForeignKey(
        "tenants.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["grade", "name"]
        constraints = [
            models.UniqueConstraint(fields=["year", "name"], name="class_name_per_year"),
            models.CheckConstraint(condition=Q(grade__gte=1) & Q(grade__lte=12), name="class_grade_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> str:
        return school_levels.level_of_grade(self.grade)


class TeachingAssignment(models.Model):
    """Teacher × class × subject for the class's year.

    One assignment with no ``columns`` is the whole subject (the usual case). A subject taught by several teachers
    (KHTN in physics, chemistry and biology parts; Lịch sử và Địa lí; HĐTN-HN — Long An reg. art. 6.7) has one
    assignment per teacher, each with its named ``part`` and the sheet columns (``tx1``, ``gk``, ``nx``…) that
    teacher enters; together they cover every column exactly once (``services.setup.parts``)."""

    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="assignments")
    teacher = models.ForeignKey("tenants.Account", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    part = models.CharField(max_length=60, blank=True)
    columns = ArrayField(models.CharField(max_length=4), default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "subject", "teacher"], name="one_assignment_per_teacher_class_subject"
            ),
            models.UniqueConstraint(
                fields=["school_class", "subject"], condition=Q(columns=[]), name="one_whole_subject_teacher"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_class_id}/{self.subject_id}: {self.teacher_id}"
