from django.db import migrations

# The effective rule of the open/lock windows (DESIGN §5), in one place for every path that writes:
# the schools' triggers call hocba_window_enforce; the application reads hocba_window_blocking to
# show the state of a sheet. Times are the database's clock; days are local (Asia/Ho_Chi_Minh).
FORWARD = r"""
CREATE FUNCTION hocba_school_units(p_school bigint, p_day date) RETURNS bigint[]
    LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    WITH RECURSIVE chain(unit_id, depth) AS (
        SELECT p.unit_id, 0 FROM tenants_schoolplacement p
         WHERE p.school_id = p_school AND p.valid_from <= p_day AND (p.valid_to IS NULL OR p.valid_to > p_day)
        UNION ALL
        SELECT v.parent_id, c.depth + 1 FROM chain c
          JOIN tenants_unitversion v ON v.unit_id = c.unit_id
               AND v.valid_from <= p_day AND (v.valid_to IS NULL OR v.valid_to > p_day)
         WHERE v.parent_id IS NOT NULL AND c.depth < 12)
    SELECT coalesce(array_agg(unit_id), '{}') FROM chain
$$;

CREATE FUNCTION hocba_window_blocking(p_school bigint, p_category text, p_year integer, p_grades integer[],
                                      p_classes bigint[], p_students bigint[], p_at timestamptz)
    RETURNS TABLE (window_id bigint, tier text, opens_at timestamptz, locks_at timestamptz, set_by bigint,
                   reason text, not_yet_open boolean)
    LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT w.id, w.tier, w.opens_at, w.locks_at, w.set_by_id, w.reason, p_at < w.opens_at
      FROM tenants_window w
     WHERE w.year_start = p_year AND w.cancelled_at IS NULL
       AND (w.category = p_category OR w.category = 'whole_year')
       AND (w.school_id = p_school
            OR w.unit_id = ANY (hocba_school_units(p_school, (p_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)))
       AND (w.grades = '{}' OR w.grades::integer[] && p_grades)
       AND NOT (w.opens_at <= p_at AND p_at < w.locks_at)
       AND NOT EXISTS (
            SELECT 1 FROM tenants_windowexception e
             WHERE e.window_id = w.id AND e.school_id = p_school AND e.status = 'approved' AND e.until > p_at
               AND ((e.class_ids <> '{}' AND p_classes <> '{}' AND p_classes <@ e.class_ids)
                    OR (e.student_ids <> '{}' AND p_students <> '{}' AND p_students <@ e.student_ids)))
     ORDER BY CASE w.tier WHEN 'province' THEN 0 WHEN 'unit' THEN 1 ELSE 2 END, w.locks_at
     LIMIT 1
$$;

CREATE FUNCTION hocba_window_enforce(p_schema text, p_category text, p_year integer, p_grades integer[],
                                     p_classes bigint[], p_students bigint[]) RETURNS void
    LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_school bigint;
    v_block record;
BEGIN
    SELECT id INTO v_school FROM tenants_school WHERE schema_name = p_schema;
    SELECT * INTO v_block
      FROM hocba_window_blocking(v_school, p_category, p_year, p_grades, p_classes, p_students, clock_timestamp());
    IF FOUND THEN
        RAISE EXCEPTION 'hocba.window_locked' USING ERRCODE = 'HB423', DETAIL = v_block.window_id::text,
            HINT = p_category;
    END IF;
END $$;
"""
BACKWARD = """
DROP FUNCTION IF EXISTS hocba_window_enforce(text, text, integer, integer[], bigint[], bigint[]);
DROP FUNCTION IF EXISTS hocba_window_blocking(bigint, text, integer, integer[], bigint[], bigint[], timestamptz);
DROP FUNCTION IF EXISTS hocba_school_units(bigint, date);
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_windows")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
