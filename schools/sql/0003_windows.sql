-- Open/lock windows (DESIGN §5): every statement that writes school data is checked against the windows by the
-- database clock, whatever path wrote it. One function, run by each guarded table's three statement triggers with
-- the statement's rows as `changed_rows` (the new rows; the old ones for a DELETE): it groups the rows by school year
-- and data category and asks, per group, the cheap question first (may any window block that category of that year
-- now?) and the exact one only when a window may. A refusal raises SQLSTATE HB423 with the window's id in DETAIL.
--
-- The trigger's arguments: how a row is placed in a school year (a branch below), then the rows' category, or the
-- category of term 1's rows and that of the other terms'.
--
-- Signed and locked record books (issue 10, conflicts 1 and 3), asked before the windows:
-- * the signing path: an UPDATE of schools_recordbook (placement 'record', whose UPDATE trigger also passes the old
--   rows as `old_rows`) whose every row only moves forward approved → signed → locked, or stays in one of those
--   states, and changes nothing but the state and the signing columns (every other column IS NOT DISTINCT FROM the
--   old row) is let through without asking the windows: signing goes on after the whole-year lock;
-- * a row of a signed or locked record is refused with SQLSTATE HB409 (the record's id in DETAIL): a record's own
--   row, except for a revocation (back to draft, changing only the workflow and revocation columns; the windows are
--   then asked as for any reopening), and every row placed by its year (scores, qualities, conduct, absences,
--   awards, exemptions) of a student whose record of that year is signed or locked (a partial index holds those
--   records: while none is signed the question costs one empty index probe).
CREATE FUNCTION window_guard() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_at timestamptz := clock_timestamp();
    v_first text := TG_ARGV[1];             -- every row's category, or that of term 1's rows
    v_other text := TG_ARGV[TG_NARGS - 1];  -- that of the other terms' rows
    v_groups refcursor;
    g record;
    v_year integer;
    v_record bigint;
    -- What the signing path may change besides the state; a revocation may also change the revocation columns.
    v_signing text[] := ARRAY['state', 'signed_at', 'sealed_by', 'locked_at', 'locked_by'];
    v_revoking text[] := ARRAY['state', 'signed_at', 'sealed_by', 'locked_at', 'locked_by', 'revoked_at',
                               'revoked_by', 'revoked_reason', 'reopened_reason'];
BEGIN
    IF TG_ARGV[0] = 'record' AND TG_OP = 'UPDATE' THEN
        -- The signing path: every row a forward move (or none) among approved, signed, locked, nothing else changed.
        IF NOT EXISTS (
            SELECT 1 FROM changed_rows n LEFT JOIN old_rows o ON o.id = n.id
             WHERE o.id IS NULL
                OR NOT (o.state IN ('approved', 'signed', 'locked')
                        AND (n.state = o.state OR (o.state, n.state) IN (('approved', 'signed'), ('signed', 'locked'))))
                OR (to_jsonb(n) - v_signing) IS DISTINCT FROM (to_jsonb(o) - v_signing)) THEN
            RETURN NULL;
        END IF;
        -- A signed or locked record leaves its state only by a revocation.
        SELECT o.id INTO v_record FROM old_rows o JOIN changed_rows n ON n.id = o.id
         WHERE o.state IN ('signed', 'locked')
           AND NOT (n.state = 'draft' AND (to_jsonb(n) - v_revoking) IS NOT DISTINCT FROM (to_jsonb(o) - v_revoking))
         LIMIT 1;
    ELSIF TG_ARGV[0] = 'record' AND TG_OP = 'DELETE' THEN
        SELECT r.id INTO v_record FROM changed_rows r WHERE r.state IN ('signed', 'locked') LIMIT 1;
    ELSIF TG_ARGV[0] = 'year' AND EXISTS (SELECT 1 FROM schools_recordbook WHERE state IN ('signed', 'locked')) THEN
        -- (The EXISTS: one probe of the partial index while the school has no signed record yet.)
        SELECT rb.id INTO v_record FROM (SELECT DISTINCT year_id, student_id FROM changed_rows) r
          JOIN schools_recordbook rb ON rb.year_id = r.year_id AND rb.student_id = r.student_id
         WHERE rb.state IN ('signed', 'locked')
         LIMIT 1;
    END IF;
    IF v_record IS NOT NULL THEN
        RAISE EXCEPTION 'hocba.record_signed' USING ERRCODE = 'HB409', DETAIL = v_record::text,
            HINT = 'a signed or locked record book changes only by its revocation';
    END IF;
    -- The rows by year and category, with their students and their classes (NULL: see the exact question below).
    CASE TG_ARGV[0]
    WHEN 'year' THEN
        -- The row names its year, and in some tables its term: term 1's rows are of the first category, the
        -- others' of the second (a table with no `term` column reads it as NULL: a NATURAL join joins only the
        -- columns both sides have).
        OPEN v_groups FOR
            SELECT r.year_id, CASE r.term WHEN 1 THEN v_first ELSE v_other END AS category,
                   array_agg(r.student_id) AS students, NULL::bigint[] AS classes
              FROM (SELECT * FROM changed_rows NATURAL LEFT JOIN (SELECT NULL::integer AS term) no_term) r
             GROUP BY 1, 2;
    WHEN 'record' THEN
        -- A record book names its year (and has no term).
        OPEN v_groups FOR
            SELECT r.year_id, v_first AS category, array_agg(r.student_id) AS students, NULL::bigint[] AS classes
              FROM changed_rows r
             GROUP BY 1, 2;
    WHEN 'student' THEN
        -- The row is a student (schools_student has no `student_id`, read as NULL as `term` above) or names
        -- one: the student's latest record book gives the year and class. A student with no record book yet is not
        -- checked (no year says which windows apply).
        OPEN v_groups FOR
            SELECT last.year_id, v_first AS category, array_agg(r.student) AS students,
                   array_agg(DISTINCT last.school_class_id) AS classes
              FROM (SELECT *, coalesce(student_id, id) AS student
                      FROM changed_rows NATURAL LEFT JOIN (SELECT NULL::bigint AS student_id) no_student) r
              JOIN LATERAL (SELECT rb.year_id, rb.school_class_id FROM schools_recordbook rb
                             WHERE rb.student_id = r.student ORDER BY rb.year_id DESC LIMIT 1) last ON true
             GROUP BY 1, 2;
    WHEN 'class' THEN
        -- The row names its class, which gives the year.
        OPEN v_groups FOR
            SELECT c.year_id, v_first AS category, array_agg(r.student_id) AS students,
                   array_agg(DISTINCT c.id) AS classes
              FROM changed_rows r
              JOIN schools_schoolclass c ON c.id = r.school_class_id
             GROUP BY 1, 2;
    END CASE;
    LOOP
        FETCH v_groups INTO g;
        EXIT WHEN NOT FOUND;
        SELECT start_year INTO v_year FROM schools_schoolyear WHERE id = g.year_id;
        -- First the cheap question: may any window block this category of the year now? Usually not (open).
        CONTINUE WHEN NOT public.hocba_window_may_block(TG_TABLE_SCHEMA, g.category, v_year, v_at);
        -- Then the exact one, with the grades, classes and students written (exceptions may let them through). Rows
        -- placed by their year are in the classes of their students' record books of that year, if any. (One call:
        -- the aggregate has its row even when no class is known.)
        PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, v_year,
                                            coalesce(array_agg(DISTINCT c.grade::integer), '{}'),
                                            coalesce(array_agg(DISTINCT c.id), '{}'),
                                            ARRAY(SELECT DISTINCT unnest(g.students)))
           FROM schools_schoolclass c
          WHERE c.id = ANY (coalesce(g.classes, ARRAY(SELECT rb.school_class_id FROM schools_recordbook rb
                                                      WHERE rb.year_id = g.year_id
                                                        AND rb.student_id = ANY (g.students))));
    END LOOP;
    CLOSE v_groups;
    RETURN NULL;
END $$;

-- Generated by `manage.py window_guards_sql` from GUARDS in schools/windowguards.py: edit the spec there,
-- not the lines below. INSERT and UPDATE triggers read the new rows, DELETE triggers the old ones.
CREATE TRIGGER window_ins AFTER INSERT ON schools_assessment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_assessment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_del AFTER DELETE ON schools_assessment REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_ins AFTER INSERT ON schools_qualityassessment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_qualityassessment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_del AFTER DELETE ON schools_qualityassessment REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'scores_1', 'scores_2');
CREATE TRIGGER window_ins AFTER INSERT ON schools_conduct REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'conduct');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_conduct REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'conduct');
CREATE TRIGGER window_del AFTER DELETE ON schools_conduct REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'conduct');
CREATE TRIGGER window_ins AFTER INSERT ON schools_absence REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'attendance');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_absence REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'attendance');
CREATE TRIGGER window_del AFTER DELETE ON schools_absence REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'attendance');
CREATE TRIGGER window_ins AFTER INSERT ON schools_awarddiscipline REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'year_end');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_awarddiscipline REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'year_end');
CREATE TRIGGER window_del AFTER DELETE ON schools_awarddiscipline REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('year', 'year_end');
-- A record is opened with the student's profile; changing it afterwards is year-end work (signing aside).
CREATE TRIGGER window_ins AFTER INSERT ON schools_recordbook REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('record', 'profile');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_recordbook REFERENCING NEW TABLE AS changed_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('record', 'year_end');
CREATE TRIGGER window_del AFTER DELETE ON schools_recordbook REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('record', 'profile');
CREATE TRIGGER window_ins AFTER INSERT ON schools_student REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_student REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_del AFTER DELETE ON schools_student REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_ins AFTER INSERT ON schools_guardianlink REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_guardianlink REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_del AFTER DELETE ON schools_guardianlink REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('student', 'profile');
CREATE TRIGGER window_ins AFTER INSERT ON schools_enrolment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('class', 'profile');
CREATE TRIGGER window_upd AFTER UPDATE ON schools_enrolment REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('class', 'profile');
CREATE TRIGGER window_del AFTER DELETE ON schools_enrolment REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard('class', 'profile');
