"""Reserved: per-class rollups (province and district boards)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0018_result_distributions")]
    operations = []
