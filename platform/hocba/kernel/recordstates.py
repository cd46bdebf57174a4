"""The states of a student's record book for a year (DESIGN §6): draft → submitted (homeroom teacher) →
approved (principal) → signed → locked. The codes are what the database stores (``RecordBook.state``) and
name the public rollup columns (``SchoolRollup.records_<state>``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordState(models.TextChoices):
    DRAFT = "draft", _("Đang nhập")
    SUBMITTED = "submitted", _("GVCN đã trình")
    APPROVED = "approved", _("Hiệu trưởng đã duyệt")
    SIGNED = "signed", _("Đã ký số")
    LOCKED = "locked", _("Đã khóa")


STATES: tuple[str, ...] = tuple(RecordState.values)  # in workflow order
# Before the principal's approval: teachers may still change the record's data.
EDITABLE = frozenset({RecordState.DRAFT, RecordState.SUBMITTED})
# Approved by the principal, or further on: the record's results are frozen.
FINAL = frozenset({RecordState.APPROVED, RecordState.SIGNED, RecordState.LOCKED})
