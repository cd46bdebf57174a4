"""The year's last lock on the school's rollup row: the board read the latest of each school's snapshots (a sort of
every snapshot of the year at every board, half of its query); now a trigger copies a snapshot's lock figures onto
the rollup row when it is taken, and the board reads one row per school. Existing snapshots are copied once here."""

from django.db import migrations, models

# A snapshot's figures → records and records approved or further; NULL for a snapshot without figures (no rollup
# row at the lock). The same reading the board made of ``ComplianceSnapshot.figures``.
RECORDS = (
    "CASE WHEN {f} IS NULL OR {f} = '{{}}'::jsonb THEN NULL"
    " ELSE coalesce(({f} ->> 'records_total')::numeric::bigint, 0) END"
)
APPROVED = (
    "CASE WHEN {f} IS NULL OR {f} = '{{}}'::jsonb THEN NULL"
    " ELSE coalesce(({f} -> 'records' ->> 'approved')::numeric::bigint, 0)"
    " + coalesce(({f} -> 'records' ->> 'signed')::numeric::bigint, 0)"
    " + coalesce(({f} -> 'records' ->> 'locked')::numeric::bigint, 0) END"
)

FORWARD = f"""
CREATE FUNCTION public.hocba_rollup_last_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- a later lock (or the same lock taken again) replaces the row's; an earlier one leaves it
  UPDATE public.tenants_schoolrollup r
     SET lock_at = NEW.locks_at,
         lock_records = {RECORDS.format(f="NEW.figures")},
         lock_approved = {APPROVED.format(f="NEW.figures")}
   WHERE r.school_id = NEW.school_id AND r.year_start = NEW.year_start
     AND (r.lock_at IS NULL OR r.lock_at <= NEW.locks_at);
  RETURN NULL;
END $$;
CREATE TRIGGER rollup_last_lock AFTER INSERT ON public.tenants_compliancesnapshot
  FOR EACH ROW EXECUTE FUNCTION public.hocba_rollup_last_lock();
UPDATE public.tenants_schoolrollup r
   SET lock_at = l.locks_at,
       lock_records = {RECORDS.format(f="l.figures")},
       lock_approved = {APPROVED.format(f="l.figures")}
  FROM (SELECT DISTINCT ON (c.school_id, c.year_start) c.school_id, c.year_start, c.locks_at, c.figures
          FROM public.tenants_compliancesnapshot c
         ORDER BY c.school_id, c.year_start, c.locks_at DESC, c.taken_at DESC, c.id DESC) l
 WHERE r.school_id = l.school_id AND r.year_start = l.year_start;
"""
BACKWARD = """
DROP TRIGGER IF EXISTS rollup_last_lock ON public.tenants_compliancesnapshot;
DROP FUNCTION IF EXISTS public.hocba_rollup_last_lock();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0022_verification_index")]
    operations = [
        migrations.AddField(
            model_name="schoolrollup",
            name="lock_at",
            field=models.DateTimeField(blank=True, help_text="the lock time of the year's last snapshot", null=True),
        ),
        migrations.AddField(
            model_name="schoolrollup", name="lock_records", field=models.IntegerField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="schoolrollup", name="lock_approved", field=models.IntegerField(blank=True, null=True)
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
