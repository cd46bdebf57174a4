"""Schools: one PostgreSQL schema each, placed under a unit for a period."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from hocba.kernel import levels as school_levels
from hocba.kernel.text import fold

from .periods import Period


class SchoolLevel(models.TextChoices):
    """The school levels of hocba.kernel.levels, as model choices."""

    PRIMARY = school_levels.PRIMARY, school_levels.LEVEL_LABELS[school_levels.PRIMARY]
    LOWER_SECONDARY = school_levels.LOWER_SECONDARY, school_levels.LEVEL_LABELS[school_levels.LOWER_SECONDARY]
    UPPER_SECONDARY = school_levels.UPPER_SECONDARY, school_levels.LEVEL_LABELS[school_levels.UPPER_SECONDARY]


class SchoolStatus(models.TextChoices):
    ACTIVE = "active", _("Đang hoạt động")
    CLOSED = "closed", _("Đã đóng")


class School(TenantMixin):
    moet_code = models.CharField(max_length=20, unique=True, help_text="MoET school code")
    name = models.CharField(max_length=200)
    search_name = models.CharField(max_length=200, editable=False, db_default="")  # fold(name): accent-free search
    slug = models.SlugField(max_length=40, unique=True)
    levels = ArrayField(models.CharField(max_length=20, choices=SchoolLevel.choices), size=3)
    status = models.CharField(max_length=10, choices=SchoolStatus.choices, default=SchoolStatus.ACTIVE)
    created_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    # Where the school's schema stands against the tenant migrations (DESIGN §3).
    schema_head = models.CharField(max_length=64, blank=True)
    schema_error = models.TextField(blank=True)
    schema_checked_at = models.DateTimeField(null=True, blank=True)

    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(levels=[]), name="school_has_level")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)

    @property
    def level_labels(self) -> list[str]:
        return [str(SchoolLevel(level).label) for level in self.levels]


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]


class SchoolPlacement(Period):
    """Which unit oversees a school, from when to when."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="placements")
    unit = models.ForeignKey("tenants.AdministrativeUnit", on_delete=models.PROTECT, related_name="placements")

    class Meta:
        ordering = ["school_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["school"], condition=Q(valid_to__isnull=True), name="one_open_placement"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="placement_period",
            ),
        ]
        indexes = [models.Index(fields=["unit", "valid_from"])]


class SchemaTemplate(models.Model):
    """The DDL that creates a school schema at a given migration head, captured once, replayed per school."""

    head = models.CharField(max_length=64, unique=True)
    script = models.TextField()
    statements = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.head
