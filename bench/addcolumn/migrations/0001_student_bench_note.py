from django.db import migrations

# What AddField(null=True, db_default="") emits: nullable, with a default — PostgreSQL ≥ 11 stores the default in
# the catalog and rewrites no row. The release that first writes the column ships this; the release that makes it
# required (or drops an old one) comes after every old pod is gone (expand, then contract).
FORWARD = "ALTER TABLE schools_student ADD COLUMN bench_note text NULL DEFAULT ''"
BACKWARD = "ALTER TABLE schools_student DROP COLUMN bench_note"


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
