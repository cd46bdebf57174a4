"""Reserved: F: rollup outbox (issue 15)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0013_name_search")]
    operations = []
