"""Reserved: approval with completeness (issue 11)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0015_name_search")]
    operations = []
