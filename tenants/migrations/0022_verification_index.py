"""The public index of signed documents (issue 10, conflict 7): what the public verification page reads, one row per
sealed document of any school, with no personal data beyond the signers' initials."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0021_board_reserved")]
    operations = [
        migrations.CreateModel(
            name="VerificationIndex",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uid", models.UUIDField(unique=True)),
                ("token", models.CharField(max_length=64, unique=True)),
                ("year_start", models.PositiveSmallIntegerField()),
                ("kind", models.CharField(max_length=12)),
                ("version", models.PositiveSmallIntegerField(default=1)),
                ("sha256", models.CharField(db_index=True, max_length=64)),
                ("s3_key", models.CharField(blank=True, max_length=400)),
                ("s3_version_id", models.CharField(blank=True, max_length=200)),
                ("signers", models.JSONField(default=list)),
                ("sealed_at", models.DateTimeField()),
                ("archived_at", models.DateTimeField(blank=True, null=True)),
                ("superseded_at", models.DateTimeField(blank=True, null=True)),
                ("superseded_by", models.UUIDField(blank=True, null=True)),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenants.school"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["school", "year_start"], name="verification_school_year")],
            },
        ),
    ]
