from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("schools", "0003_window_guards"), ("tenants", "0008_window_may_block")]
    operations = [migrations.RunSQL((SQL / "0004_assessment_hot_path.sql").read_text(), migrations.RunSQL.noop)]
