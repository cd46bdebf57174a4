"""Reserved: A: exemptions (issue 12 item 1)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0008_nfc_texts")]
    operations = []
