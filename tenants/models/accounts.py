"""One account per person; roles come from memberships in a unit or a school for a period."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel.roles import ROLE_TIERS, Role, Tier, role_choices
from hocba.kernel.text import fold

from .periods import Period

_SCHOOL_ROLES = [r.value for r, t in ROLE_TIERS.items() if t is Tier.SCHOOL]


class Account(AbstractUser):
    full_name = models.CharField(_("Họ và tên"), max_length=150)
    phone = models.CharField(_("Số điện thoại"), max_length=20, blank=True)
    search_name = models.CharField(max_length=150, editable=False, db_default="")  # fold(full_name): accent-free search

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "email",
                condition=~Q(email=""),
                name="account_email_unique",
                violation_error_message=_("Email đã được dùng."),
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def save(self, *args, **kwargs):
        self.search_name = fold(self.full_name)
        if kwargs.get("update_fields") is not None and "full_name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)


class Membership(Period):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=30, choices=role_choices())
    unit = models.ForeignKey(
        "tenants.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    school = models.ForeignKey(
        "tenants.School", null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    granted_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(unit__isnull=True) & Q(school__isnull=False) & Q(role__in=_SCHOOL_ROLES))
                | (Q(unit__isnull=False) & Q(school__isnull=True) & ~Q(role__in=_SCHOOL_ROLES)),
                name="membership_scope_matches_role",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")), name="membership_period"
            ),
            models.UniqueConstraint(
                fields=["account", "role", "unit", "school"],
                condition=Q(valid_to__isnull=True),
                nulls_distinct=False,
                name="one_open_membership_per_scope_role",
            ),
        ]
        indexes = [models.Index(fields=["account", "valid_from"]), models.Index(fields=["school", "role"])]

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
