"""Background jobs (bulk school creation, large imports, the year-end carry-over): the job with its progress
counters and the uploaded file kept for the run, and one row per outcome (tenants.models.jobs)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0014_outbox"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.CreateModel(
            name="BackgroundJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=40)),
                ("capability", models.CharField(max_length=60)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Đang chờ"),
                            ("running", "Đang chạy"),
                            ("done", "Đã xong"),
                            ("partly_done", "Xong một phần"),
                            ("failed", "Thất bại"),
                        ],
                        default="queued",
                        max_length=12,
                    ),
                ),
                ("total", models.PositiveIntegerField(default=0)),
                ("done", models.PositiveIntegerField(default=0)),
                ("ok", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("summary", models.JSONField(blank=True, default=dict)),
                ("error", models.JSONField(blank=True, default=dict)),
                ("input_name", models.CharField(blank=True, max_length=255)),
                ("input_data", models.BinaryField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(blank=True, null=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "school",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.school",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.administrativeunit",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="BackgroundJobRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("key", models.CharField(max_length=300)),
                ("group", models.CharField(blank=True, max_length=300)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("created", "Đã tạo"),
                            ("updated", "Đã cập nhật"),
                            ("skipped", "Bỏ qua"),
                            ("error", "Lỗi"),
                            ("moved", "Đã chuyển lớp"),
                            ("stayed", "Chưa chuyển"),
                        ],
                        max_length=10,
                    ),
                ),
                ("message", models.TextField(blank=True)),
                ("message_en", models.TextField(blank=True)),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="rows", to="tenants.backgroundjob"
                    ),
                ),
            ],
            options={
                "ordering": ["job", "number"],
            },
        ),
        migrations.AddIndex(
            model_name="backgroundjob",
            index=models.Index(fields=["requested_by", "-created_at"], name="job_requester_recent"),
        ),
        migrations.AddConstraint(
            model_name="backgroundjobrow",
            constraint=models.UniqueConstraint(fields=("job", "number"), name="job_row_number_unique"),
        ),
    ]
