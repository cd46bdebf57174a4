"""Open/lock windows set by the province, a unit or a school, and the exceptions to them (DESIGN §5)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class DataCategory(models.TextChoices):
    PROFILE = "profile", _("Hồ sơ học sinh")
    SCORES_1 = "scores_1", _("Điểm, nhận xét học kì I")
    SCORES_2 = "scores_2", _("Điểm, nhận xét học kì II")
    CONDUCT = "conduct", _("Rèn luyện")
    ATTENDANCE = "attendance", _("Chuyên cần")
    YEAR_END = "year_end", _("Đánh giá cuối năm")
    WHOLE_YEAR = "whole_year", _("Cả năm học (khóa sổ)")


class WindowTier(models.TextChoices):
    PROVINCE = "province", _("Sở GD&ĐT")
    UNIT = "unit", _("Phòng/xã")
    SCHOOL = "school", _("Nhà trường")


TIER_RANK = {WindowTier.SCHOOL: 1, WindowTier.UNIT: 2, WindowTier.PROVINCE: 3}


class Window(models.Model):
    """Data of ``category`` may be written from ``opens_at`` until ``locks_at`` in the scope."""

    tier = models.CharField(max_length=10, choices=WindowTier.choices)
    unit = models.ForeignKey(
        "tenants.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school = models.ForeignKey("tenants.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grades = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True, help_text="empty: every grade")
    category = models.CharField(max_length=12, choices=DataCategory.choices)
    year_start = models.PositiveSmallIntegerField()
    opens_at = models.DateTimeField()
    locks_at = models.DateTimeField()
    set_by = models.ForeignKey("tenants.Account", null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["year_start", "opens_at"]
        constraints = [
            models.CheckConstraint(condition=Q(locks_at__gt=F("opens_at")), name="window_locks_after_opening"),
            models.CheckConstraint(
                condition=(Q(tier="school") & Q(school__isnull=False) & Q(unit__isnull=True))
                | (~Q(tier="school") & Q(unit__isnull=False) & Q(school__isnull=True)),
                name="window_scope_matches_tier",
            ),
        ]
        indexes = [models.Index(fields=["year_start", "category"])]

    def __str__(self) -> str:
        return f"{self.tier} {self.category} {self.year_start}"


class ExceptionStatus(models.TextChoices):
    REQUESTED = "requested", _("Chờ duyệt")
    APPROVED = "approved", _("Đã duyệt")
    REFUSED = "refused", _("Từ chối")


class WindowException(models.Model):
    """A school asks the tier that set a lock to let named classes or students write until a time."""

    window = models.ForeignKey(Window, on_delete=models.PROTECT, related_name="exceptions")
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    class_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    student_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    until = models.DateTimeField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=ExceptionStatus.choices, default=ExceptionStatus.REQUESTED)
    requested_by = models.ForeignKey("tenants.Account", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("tenants.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(class_ids=[]) | ~Q(student_ids=[]), name="exception_names_classes_or_students"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.window_id}/{self.school_id}"
