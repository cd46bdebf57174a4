"""Reserved for signing: the record's signing columns and the guards of signed records (filled by that change)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0018_rollup_reserved")]
    operations = []
