"""Accent-insensitive search (issue 11): accounts, schools and unit versions keep their name folded by
``hocba.kernel.text.fold`` (lower case, no tone or letter marks, "đ" as "d") in ``search_name``, kept current by
each model's ``save``; existing rows are filled here (public tables have no audit trigger: the platform audit is
written by the services, and a derived column is not a change anyone made)."""

from django.db import migrations, models
from hocba.kernel.text import fold_column

FILLED = (("tenants_account", "full_name"), ("tenants_school", "name"), ("tenants_unitversion", "name"))


def fill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table, source in FILLED:
            fold_column(cursor, table, source, "search_name")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0012_monthly_duty")]
    operations = [
        migrations.AddField(
            model_name="account",
            name="search_name",
            field=models.CharField(db_default="", editable=False, max_length=150),
        ),
        migrations.AddField(
            model_name="school",
            name="search_name",
            field=models.CharField(db_default="", editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="unitversion",
            name="search_name",
            field=models.CharField(db_default="", editable=False, max_length=200),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
