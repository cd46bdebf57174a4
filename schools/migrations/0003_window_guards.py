from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("schools", "0002_audit_chain"), ("tenants", "0008_window_may_block")]
    operations = [migrations.RunSQL((SQL / "0003_windows.sql").read_text(), migrations.RunSQL.noop)]
