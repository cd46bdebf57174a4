"""API tokens: issued by an account for itself, for one scope (a school, or a unit), to read or also to write, until
an expiry. Only a SHA-256 digest of the key is stored; the short prefix finds the row and is not secret."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .accounts import Account

# A key reads ``hb_<prefix>_<secret>``: the prefix (hex, fixed length) finds the row, the digest proves the secret.
TOKEN_MARK = "hb_"
PREFIX_LENGTH = 12


class ApiToken(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the whole key, hex")
    school = models.ForeignKey("tenants.School", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        "tenants.AdministrativeUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    may_write = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(school__isnull=False) & Q(unit__isnull=True))
                | (Q(school__isnull=True) & Q(unit__isnull=False)),
                name="api_token_one_scope",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="api_token_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
