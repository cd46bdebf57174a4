"""Reserved: grants (province and district boards)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0016_rollup_drift")]
    operations = []
