"""Approval with completeness: a record book approved while it still missed items (a sheet, a term, conduct, the
qualities, the homeroom teacher's comment) keeps the approver's reason and what it missed at that moment."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0015_name_search")]
    operations = [
        migrations.AddField(
            model_name="recordbook",
            name="approved_incomplete_reason",
            field=models.TextField(
                blank=True, help_text="why the record was approved although it missed items (empty: it was complete)"
            ),
        ),
        migrations.AddField(
            model_name="recordbook",
            name="approved_missing",
            field=models.JSONField(
                blank=True, default=list, help_text="what the record missed when approved, in words (Vietnamese)"
            ),
        ),
    ]
