-- Open/lock windows (DESIGN §5): every statement that writes school data is checked against the
-- windows by the database clock, whatever path wrote it. One query per statement, rows grouped by
-- year and category; a refusal raises SQLSTATE HB423 with the window's id.

CREATE FUNCTION window_guard_assessment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, CASE r.term WHEN 1 THEN 'scores_1' ELSE 'scores_2' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, CASE r.term WHEN 1 THEN 'scores_1' ELSE 'scores_2' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_assessment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_assessment();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_assessment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_assessment();
CREATE TRIGGER window_del AFTER DELETE ON schools_assessment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_assessment();

CREATE FUNCTION window_guard_qualityassessment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, CASE r.term WHEN 1 THEN 'scores_1' ELSE 'scores_2' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, CASE r.term WHEN 1 THEN 'scores_1' ELSE 'scores_2' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_qualityassessment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_qualityassessment();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_qualityassessment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_qualityassessment();
CREATE TRIGGER window_del AFTER DELETE ON schools_qualityassessment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_qualityassessment();

CREATE FUNCTION window_guard_conduct() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'conduct' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'conduct' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_conduct REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_conduct();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_conduct REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_conduct();
CREATE TRIGGER window_del AFTER DELETE ON schools_conduct REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_conduct();

CREATE FUNCTION window_guard_absence() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'attendance' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'attendance' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_absence REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_absence();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_absence REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_absence();
CREATE TRIGGER window_del AFTER DELETE ON schools_absence REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_absence();

CREATE FUNCTION window_guard_awarddiscipline() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'year_end' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'year_end' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_awarddiscipline REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_awarddiscipline();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_awarddiscipline REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_awarddiscipline();
CREATE TRIGGER window_del AFTER DELETE ON schools_awarddiscipline REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_awarddiscipline();

-- A record is opened with the student's profile; changing it afterwards is year-end work.
CREATE FUNCTION window_guard_recordbook() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, CASE WHEN TG_OP = 'UPDATE' THEN 'year_end' ELSE 'profile' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, CASE WHEN TG_OP = 'UPDATE' THEN 'year_end' ELSE 'profile' END AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT rb.school_class_id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolyear y ON y.id = r.year_id
          LEFT JOIN schools_recordbook rb ON rb.student_id = r.student_id AND rb.year_id = r.year_id
          LEFT JOIN schools_schoolclass c ON c.id = rb.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_recordbook REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_recordbook();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_recordbook REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_recordbook();
CREATE TRIGGER window_del AFTER DELETE ON schools_recordbook REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_recordbook();

CREATE FUNCTION window_guard_student() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT c.id), NULL) AS classes,
               array_agg(DISTINCT r.id) AS students
          FROM old_rows r
          JOIN LATERAL (SELECT rb.school_class_id, rb.year_id FROM schools_recordbook rb
                         WHERE rb.student_id = r.id ORDER BY rb.year_id DESC LIMIT 1) last ON true
          JOIN schools_schoolyear y ON y.id = last.year_id
          LEFT JOIN schools_schoolclass c ON c.id = last.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT c.id), NULL) AS classes,
               array_agg(DISTINCT r.id) AS students
          FROM new_rows r
          JOIN LATERAL (SELECT rb.school_class_id, rb.year_id FROM schools_recordbook rb
                         WHERE rb.student_id = r.id ORDER BY rb.year_id DESC LIMIT 1) last ON true
          JOIN schools_schoolyear y ON y.id = last.year_id
          LEFT JOIN schools_schoolclass c ON c.id = last.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_student REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_student();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_student REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_student();
CREATE TRIGGER window_del AFTER DELETE ON schools_student REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_student();

CREATE FUNCTION window_guard_guardianlink() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT c.id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN LATERAL (SELECT rb.school_class_id, rb.year_id FROM schools_recordbook rb
                         WHERE rb.student_id = r.student_id ORDER BY rb.year_id DESC LIMIT 1) last ON true
          JOIN schools_schoolyear y ON y.id = last.year_id
          LEFT JOIN schools_schoolclass c ON c.id = last.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_remove(array_agg(DISTINCT c.grade::integer), NULL) AS grades,
               array_remove(array_agg(DISTINCT c.id), NULL) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN LATERAL (SELECT rb.school_class_id, rb.year_id FROM schools_recordbook rb
                         WHERE rb.student_id = r.student_id ORDER BY rb.year_id DESC LIMIT 1) last ON true
          JOIN schools_schoolyear y ON y.id = last.year_id
          LEFT JOIN schools_schoolclass c ON c.id = last.school_class_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_guardianlink REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_guardianlink();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_guardianlink REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_guardianlink();
CREATE TRIGGER window_del AFTER DELETE ON schools_guardianlink REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_guardianlink();

CREATE FUNCTION window_guard_enrolment() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE g record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_agg(DISTINCT c.grade::integer) AS grades, array_agg(DISTINCT c.id) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM old_rows r
          JOIN schools_schoolclass c ON c.id = r.school_class_id
          JOIN schools_schoolyear y ON y.id = c.year_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    ELSE
        FOR g IN SELECT y.start_year AS year, 'profile' AS category,
               array_agg(DISTINCT c.grade::integer) AS grades, array_agg(DISTINCT c.id) AS classes,
               array_agg(DISTINCT r.student_id) AS students
          FROM new_rows r
          JOIN schools_schoolclass c ON c.id = r.school_class_id
          JOIN schools_schoolyear y ON y.id = c.year_id
         GROUP BY 1, 2 LOOP
            PERFORM public.hocba_window_enforce(TG_TABLE_SCHEMA, g.category, g.year, g.grades, g.classes, g.students);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER window_ins AFTER INSERT ON schools_enrolment REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_enrolment();
CREATE TRIGGER window_upd AFTER UPDATE ON schools_enrolment REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_enrolment();
CREATE TRIGGER window_del AFTER DELETE ON schools_enrolment REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION window_guard_enrolment();
