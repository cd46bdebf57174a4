"""The board's read of each school's last snapshot of a year (``DISTINCT ON (school_id) … ORDER BY locks_at DESC,
taken_at DESC, id DESC``): an index in that order, so that the newest snapshot of every school is read from the index
instead of sorting every snapshot of the year (two locks a year × 3,000 schools, growing with each lock)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0020_board_rollups")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS compliance_snapshot_last_lock ON public.tenants_compliancesnapshot"
            " (year_start, school_id, locks_at DESC, taken_at DESC, id DESC)",
            "DROP INDEX IF EXISTS public.compliance_snapshot_last_lock",
        ),
    ]
