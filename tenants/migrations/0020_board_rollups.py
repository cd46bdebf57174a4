"""Board rollups: more figures per school, one row per class, and a daily copy for completion over time."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0019_class_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="schoolrollup",
            name="conduct_done_term1",
            field=models.IntegerField(
                db_default=0, default=0, help_text="students with conduct (TT22) or qualities (TT27) entered for term I"
            ),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="conduct_done_term2",
            field=models.IntegerField(
                db_default=0,
                default=0,
                help_text="students with conduct (TT22) or qualities (TT27) entered for term II",
            ),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="edits_after_approval",
            field=models.IntegerField(
                db_default=0,
                default=0,
                help_text="audit entries changing an approved record (counted by the daily pass)",
            ),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="edits_counted_to",
            field=models.BigIntegerField(
                db_default=0, default=0, help_text="the school's last audit entry id the daily pass counted"
            ),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="profile_complete",
            field=models.IntegerField(
                db_default=0, default=0, help_text="students on roll whose record-book identity fields are all filled"
            ),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="records_archived",
            field=models.IntegerField(db_default=0, default=0, help_text="record books signed and archived"),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="sheets_done_term1",
            field=models.IntegerField(db_default=0, default=0, help_text="term I sheets finished"),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="sheets_done_term2",
            field=models.IntegerField(db_default=0, default=0, help_text="term II sheets finished"),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="sheets_required_term1",
            field=models.IntegerField(db_default=0, default=0, help_text="term I sheets (assignment × term)"),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="sheets_required_term2",
            field=models.IntegerField(db_default=0, default=0, help_text="term II sheets"),
        ),
        migrations.CreateModel(
            name="ClassRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year_start", models.PositiveSmallIntegerField()),
                ("class_id", models.BigIntegerField(help_text="the class's id in the school's schema")),
                ("name", models.CharField(max_length=40)),
                ("grade", models.PositiveSmallIntegerField()),
                ("students", models.IntegerField(db_default=0, default=0)),
                ("records_draft", models.IntegerField(db_default=0, default=0)),
                ("records_submitted", models.IntegerField(db_default=0, default=0)),
                ("records_approved", models.IntegerField(db_default=0, default=0)),
                ("records_signed", models.IntegerField(db_default=0, default=0)),
                ("records_locked", models.IntegerField(db_default=0, default=0)),
                ("sheets_required_term1", models.IntegerField(db_default=0, default=0)),
                ("sheets_done_term1", models.IntegerField(db_default=0, default=0)),
                ("sheets_required_term2", models.IntegerField(db_default=0, default=0)),
                ("sheets_done_term2", models.IntegerField(db_default=0, default=0)),
                (
                    "stale_since",
                    models.DateTimeField(
                        blank=True,
                        help_text="set when a write may have changed the sheets' completeness; null: current",
                        null=True,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("reconciled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="class_rollups", to="tenants.school"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("stale_since__isnull", False)),
                        fields=["stale_since"],
                        name="class_rollup_stale",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("school", "year_start", "class_id"), name="one_class_rollup")
                ],
            },
        ),
        migrations.CreateModel(
            name="RollupDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year_start", models.PositiveSmallIntegerField()),
                ("day", models.DateField()),
                ("figures", models.JSONField(default=dict)),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="rollup_days", to="tenants.school"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["year_start", "day"], name="rollup_day_year_day")],
                "constraints": [models.UniqueConstraint(fields=("school", "year_start", "day"), name="one_rollup_day")],
            },
        ),
    ]
