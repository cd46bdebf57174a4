"""Administrative units as an effective-dated tree: province → (district | commune | ward) → schools.

A unit keeps its internal id for life; its name, official code and parent are versions with a
validity period, so renames, moves and merges never rewrite history.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel.text import fold

from .periods import Period


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("Tỉnh/Thành phố (Sở GD&ĐT)")
    DISTRICT = "district", _("Quận/Huyện (Phòng GD&ĐT)")
    COMMUNE = "commune", _("Xã (Phòng Văn hóa – Xã hội)")
    WARD = "ward", _("Phường (Phòng Văn hóa – Xã hội)")
    SPECIAL_ZONE = "special_zone", _("Đặc khu")


class AdministrativeUnit(models.Model):
    kind = models.CharField(max_length=20, choices=UnitKind.choices)
    created_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("created_on")),
                name="unit_closed_after_created",
            )
        ]

    def __str__(self) -> str:
        return f"unit {self.pk}"


class UnitVersion(Period):
    unit = models.ForeignKey(AdministrativeUnit, on_delete=models.PROTECT, related_name="versions")
    name = models.CharField(max_length=200)
    search_name = models.CharField(max_length=200, editable=False, db_default="")  # fold(name): accent-free search
    official_code = models.CharField(max_length=20)
    parent = models.ForeignKey(
        AdministrativeUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="child_versions"
    )

    class Meta:
        ordering = ["unit_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["unit"], condition=Q(valid_to__isnull=True), name="one_open_unit_version"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")), name="unit_version_period"
            ),
            models.CheckConstraint(condition=~Q(parent=F("unit")), name="unit_not_own_parent"),
        ]
        indexes = [models.Index(fields=["official_code"]), models.Index(fields=["parent", "valid_from"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)
