"""Reserved for the boards' rollups on the school side (filled by the change that needs it)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0017_parent_view")]
    operations = []
