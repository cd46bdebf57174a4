"""Reserved: H: accent-insensitive search columns (issue 11)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0014_rollup_outbox")]
    operations = []
