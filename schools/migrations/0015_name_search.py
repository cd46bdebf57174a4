"""Accent-insensitive search (issue 11): ``Student.search_name`` holds the name folded by ``hocba.kernel.text.fold``
(lower case, no tone or letter marks, "đ" as "d"), kept current by ``Student.save``; "nguyen du" finds "Nguyễn Du".

Existing rows are filled here. The column is derived from the name already in the row, so the fill is not a change
anyone made: the window guard's update trigger (a locked year's rows) and the audit update trigger are off for these
statements only (the chain would otherwise copy every student's whole profile into one entry for nothing; later
entries carry the column, which the history page does not show)."""

from django.db import migrations, models
from hocba.kernel.text import fold_column


def fill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        fold_column(cursor, "schools_student", "full_name", "search_name", quiet_triggers=("window_upd", "audit_upd"))


class Migration(migrations.Migration):
    dependencies = [("schools", "0014_rollup_outbox")]
    operations = [
        migrations.AddField(
            model_name="student",
            name="search_name",
            field=models.CharField(db_default="", editable=False, max_length=120),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
