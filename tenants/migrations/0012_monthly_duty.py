"""The homeroom teachers' monthly duty (issue 12 item 5; Long An reg. art. 7.2): one public row per school and month
checked — classes with students, classes without an attendance or conduct update, teachers reminded — written by the
beat job ``monthly_duty`` and read by the boards (``/api/v1/monthly-duty/``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_nfc_texts")]
    operations = [
        migrations.CreateModel(
            name="MonthlyDutyCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="the first day of the month checked")),
                ("year_start", models.PositiveSmallIntegerField(help_text="the school year the month belongs to")),
                ("checked_at", models.DateTimeField()),
                (
                    "classes",
                    models.PositiveIntegerField(default=0, help_text="classes of the year with students in the month"),
                ),
                ("classes_without_update", models.PositiveIntegerField(default=0)),
                ("teachers_notified", models.PositiveIntegerField(default=0)),
                (
                    "without_update",
                    models.JSONField(
                        default=list,
                        help_text="the classes without an update: id, name, grade, has a homeroom teacher",
                    ),
                ),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenants.school"
                    ),
                ),
            ],
            options={
                "ordering": ["-month", "school_id"],
                "indexes": [models.Index(fields=["month", "school"], name="duty_check_month_school")],
                "constraints": [
                    models.UniqueConstraint(fields=("school", "month"), name="one_duty_check_per_school_month")
                ],
            },
        ),
    ]
