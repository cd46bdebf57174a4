from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]
    operations = [
        migrations.RunSQL((SQL / "0002_audit.sql").read_text() + (SQL / "0002_audit_tables.sql").read_text(), migrations.RunSQL.noop),
    ]
