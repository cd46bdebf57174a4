"""Reserved: rollup drift (province and district boards)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0015_background_jobs")]
    operations = []
