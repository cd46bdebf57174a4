"""Reserved: background jobs (issue 11)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0014_outbox")]
    operations = []
