"""Reserved: result distributions (province and district boards)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0017_access_grants")]
    operations = []
