"""Result distributions (province and district boards): per school, year, grade, gender and ethnic group, how many
approved record books hold each result frozen at approval (``tenants.models.ResultDistribution``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0017_access_grants")]
    operations = [
        migrations.CreateModel(
            name="ResultDistribution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("year_start", models.PositiveSmallIntegerField()),
                ("grade", models.PositiveSmallIntegerField()),
                ("gender", models.CharField(help_text="M / F, as Student.gender", max_length=1)),
                (
                    "ethnicity",
                    models.CharField(help_text="the group's code (hocba.kernel.ethnicity); 00: other", max_length=2),
                ),
                ("measure", models.CharField(max_length=30)),
                ("value", models.CharField(max_length=40)),
                ("count", models.IntegerField(db_default=0, default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="distributions",
                        to="tenants.school",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["year_start", "measure"], name="distribution_year_measure")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("school", "year_start", "grade", "gender", "ethnicity", "measure", "value"),
                        name="one_distribution_cell",
                    )
                ],
            },
        ),
    ]
