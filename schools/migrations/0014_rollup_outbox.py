"""Reserved: F: rollup outbox (issue 15)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0013_audit_chain_citus")]
    operations = []
