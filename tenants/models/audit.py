"""The platform audit trail: every change to units, schools, accounts and memberships."""

from __future__ import annotations

from django.db import models


class PlatformAuditEntry(models.Model):
    at = models.DateTimeField(db_default=models.functions.Now())
    actor = models.ForeignKey("tenants.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=30, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=20, default="system")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    unit = models.ForeignKey(
        "tenants.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school = models.ForeignKey("tenants.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"
