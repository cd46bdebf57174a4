"""Subjects taught by several teachers (Long An reg. art. 6.7: KHTN, Lịch sử và Địa lí, HĐTN-HN): a class ×
subject may have one assignment per teacher, each with its named part and the sheet columns it enters. One
assignment with no columns is still the whole subject, so every existing assignment keeps its meaning. The
one-teacher constraint becomes one assignment per teacher, and at most one whole-subject assignment."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("schools", "0010_retest_choice_followup")]
    operations = [
        migrations.RemoveConstraint(model_name="teachingassignment", name="one_teacher_per_class_subject"),
        migrations.AddField(
            model_name="teachingassignment",
            name="columns",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=4), blank=True, default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="teachingassignment", name="part", field=models.CharField(blank=True, max_length=60)
        ),
        migrations.AddConstraint(
            model_name="teachingassignment",
            constraint=models.UniqueConstraint(
                fields=("school_class", "subject", "teacher"), name="one_assignment_per_teacher_class_subject"
            ),
        ),
        migrations.AddConstraint(
            model_name="teachingassignment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("columns", [])),
                fields=("school_class", "subject"),
                name="one_whole_subject_teacher",
            ),
        ),
    ]
