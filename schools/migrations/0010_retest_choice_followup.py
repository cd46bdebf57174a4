"""Reserved: B: chosen re-tests and the primary summer follow-up (issue 12 items 2-3)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0009_exemptions")]
    operations = []
