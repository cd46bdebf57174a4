"""Reserved: H: accent-insensitive search columns (issue 11)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0012_monthly_duty")]
    operations = []
