"""Reserved for the public index of signed record books (filled by the change that needs it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0021_board_reserved")]
    operations = []
