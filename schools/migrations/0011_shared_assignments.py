"""Reserved: C: subjects taught by several teachers (issue 12 item 4)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("schools", "0010_retest_choice_followup")]
    operations = []
