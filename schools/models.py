"""Per-school data. Every table here is multiplied by the number of schools: keep it lean."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class SchoolYear(models.Model):
    """A school year, "2025–2026": September to May/June."""

    start_year = models.PositiveSmallIntegerField(unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["-start_year"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gt=F("starts_on")), name="school_year_order")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.start_year}–{self.start_year + 1}"
