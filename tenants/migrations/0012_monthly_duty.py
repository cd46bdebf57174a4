"""Reserved: D: monthly duty reminders (issue 12 item 5)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_nfc_texts")]
    operations = []
