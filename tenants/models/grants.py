"""Read grants: a unit or province officer reads named records of one school, once its principal has agreed, until a
time (DESIGN §4). A grant opens the record book's read-only page and nothing else; every read is a platform audit
entry (``grant.read``)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class GrantStatus(models.TextChoices):
    REQUESTED = "requested", _("Chờ hiệu trưởng duyệt")
    APPROVED = "approved", _("Đã duyệt")
    REFUSED = "refused", _("Bị từ chối")
    REVOKED = "revoked", _("Đã thu hồi")


class AccessGrant(models.Model):
    """``account`` may read the records of ``student_ids`` and of the students of ``class_ids`` at ``school`` until
    ``until`` (checked against the database clock), once approved and while not revoked."""

    account = models.ForeignKey("tenants.Account", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    class_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    student_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # The classes and students as named when asked (the platform site never reads a school's schema to show them).
    targets_label = models.CharField(max_length=1000)
    purpose = models.CharField(max_length=500)
    until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=GrantStatus.choices, default=GrantStatus.REQUESTED)
    requested_at = models.DateTimeField(db_default=models.functions.Now())
    decided_by = models.ForeignKey("tenants.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    revoked_by = models.ForeignKey("tenants.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(class_ids=[]) | ~Q(student_ids=[]), name="grant_names_records"),
            models.CheckConstraint(condition=~Q(purpose=""), name="grant_has_purpose"),
        ]
        indexes = [models.Index(fields=["account", "school", "status"]), models.Index(fields=["school", "status"])]

    def __str__(self) -> str:
        return f"{self.account_id}@{self.school_id}"
