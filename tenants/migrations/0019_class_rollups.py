"""Richer rollups for the boards: a school year's classes and its record books reopened at least once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0018_result_distributions")]
    operations = [
        migrations.AddField(
            model_name="schoolrollup",
            name="classes",
            field=models.IntegerField(db_default=0, default=0, help_text="classes of the year"),
        ),
        migrations.AddField(
            model_name="schoolrollup",
            name="records_reopened",
            field=models.IntegerField(
                db_default=0, default=0, help_text="record books of the year reopened at least once (a reason kept)"
            ),
        ),
    ]
