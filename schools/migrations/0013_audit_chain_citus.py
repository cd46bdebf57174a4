"""Reserved: G: audit table name as trigger argument, ids from the chain (issue 15)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0012_identity_numbers")]
    operations = []
