"""Every school runs the same window guard: schemas made before it had one trigger function per table (and the
assessment table's own from 0004); this replaces them by ``window_guard()`` and its generated triggers."""

from django.db import migrations

from schools.windowguards import upgrade_sql


class Migration(migrations.Migration):
    dependencies = [("schools", "0006_enrolment_exit_note")]
    operations = [migrations.RunSQL(upgrade_sql(), migrations.RunSQL.noop)]
