"""Chosen re-tests (TT22: the subjects a student chose to re-test) and the primary summer follow-up (TT27: the
plan of help, the follow-up evaluation per subject or quality, the principal's decision) on the record book."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0009_exemptions")]
    operations = [
        migrations.AddField(
            model_name="recordbook",
            name="retest_chosen",
            field=models.JSONField(
                blank=True,
                default=None,
                help_text="TT22: subjects chosen for the re-test; null: no choice recorded (every candidate)",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="followup_plan",
            field=models.TextField(blank=True, help_text="TT27: the plan of help over the summer"),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="followup_levels",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="TT27: the follow-up evaluation by subject or quality code (T/H/C, T/D/C)",
            ),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="followup_decision",
            field=models.CharField(
                blank=True,
                help_text="TT27: the principal's decision after the follow-up: len_lop / o_lai_lop",
                max_length=10,
            ),
        ),
    ]
