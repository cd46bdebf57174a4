from django.db import migrations

# A cheap first question for the schools' window guards: could any window block this school's category of this
# year at this instant, whatever the grades, classes and students written? The usual answer — no, the window is
# open — then costs one indexed look-up instead of resolving every written row's class and grade. Only a "maybe"
# goes on to the exact hocba_window_blocking (whose set of windows is a subset of this one's).
FORWARD = r"""
CREATE FUNCTION hocba_window_may_block(p_schema text, p_category text, p_year integer, p_at timestamptz)
    RETURNS boolean LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM tenants_school s JOIN tenants_window w ON w.year_start = p_year
         WHERE s.schema_name = p_schema AND w.cancelled_at IS NULL
           AND (w.category = p_category OR w.category = 'whole_year')
           AND NOT (w.opens_at <= p_at AND p_at < w.locks_at)
           AND (w.school_id = s.id
                OR w.unit_id = ANY (hocba_school_units(s.id, (p_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date))))
$$;
"""
BACKWARD = "DROP FUNCTION IF EXISTS hocba_window_may_block(text, text, integer, timestamptz);"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_notifications_and_snapshots")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
