"""Reserved: D: personal identification number and MoET code (issue 12 item 7)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0011_shared_assignments")]
    operations = []
