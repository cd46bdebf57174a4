"""Rollup drift: every figure the reconciliation found wrong in a school's public rollup row and fixed (school,
school year, table, field, old → new, when, which pass), for the operators' and the boards' view of the rollups."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0015_background_jobs")]
    operations = [
        migrations.CreateModel(
            name="RollupDrift",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year_start", models.PositiveSmallIntegerField()),
                (
                    "table",
                    models.CharField(
                        default="schoolrollup", help_text="the public table the figure is in", max_length=40
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        max_length=120,
                        help_text="a column of the table, or a distribution's cell (grade/gender/ethnicity/measure/value)",
                    ),
                ),
                ("old", models.IntegerField()),
                ("new", models.IntegerField()),
                (
                    "found_at",
                    models.DateTimeField(help_text="when the school's reconciliation ran (its transaction's time)"),
                ),
                (
                    "run",
                    models.CharField(
                        blank=True, help_text="the reconciliation pass (empty when run by hand)", max_length=32
                    ),
                ),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rollup_drifts",
                        to="tenants.school",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["school", "-found_at"], name="rollup_drift_school_found")],
            },
        ),
    ]
