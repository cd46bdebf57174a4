"""Empty: kept so that databases which applied it keep one linear history."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0013_name_search")]
    operations = []
