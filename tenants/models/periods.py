"""Effective dating: a period is [valid_from, valid_to) in local dates; valid_to NULL means open."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q


class PeriodQuerySet(models.QuerySet):
    def on(self, day: dt.date):
        return self.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))

    def open(self):
        return self.filter(valid_to__isnull=True)


class Period(models.Model):
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="exclusive; empty while in force")

    objects = PeriodQuerySet.as_manager()

    class Meta:
        abstract = True

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)
