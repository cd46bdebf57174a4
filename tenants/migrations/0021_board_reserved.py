"""Reserved for the boards' rollups (filled by the change that needs it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0020_board_rollups")]
    operations = []
