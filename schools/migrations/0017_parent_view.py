"""Reserved: the record book parents read (issue 11)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0016_approval_completeness")]
    operations = []
