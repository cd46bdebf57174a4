"""Reserved for the documents, signatures and archive of record books (filled by that change)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0019_signing")]
    operations = []
