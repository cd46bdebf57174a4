-- The school's audit chain (DESIGN §7). Statement-level triggers with transition tables write one
-- entry per statement with the changed rows as compact text; rows are hash-chained with sha256().
-- Context comes from transaction-local settings (hocba.account_id, hocba.role, hocba.tier,
-- hocba.request_id, hocba.source); a write with none of them is raw SQL and says so.

-- Each field is length-prefixed, so no content can shift a boundary between fields.
CREATE FUNCTION audit_payload(prev text, at timestamptz, account bigint, role text, tier text, request_id text,
                              source text, table_name text, operation text, n integer, old_values text,
                              new_values text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(
        (SELECT string_agg(length(f)::text || ':' || f, '|' ORDER BY i)
           FROM unnest(ARRAY[prev, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                             coalesce(account::text, ''), role, tier, request_id, source, table_name, operation,
                             n::text, old_values, new_values]) WITH ORDINALITY AS fields(f, i)), 'UTF8')), 'hex')
$$;

-- Runs as the owner: the application's role may neither insert into the audit table nor call this.
CREATE FUNCTION audit_append(operation text, table_name text, n integer, old_values text, new_values text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    prev text;
    at timestamptz := clock_timestamp();
    account bigint := nullif(current_setting('hocba.account_id', true), '')::bigint;
    role text := coalesce(nullif(current_setting('hocba.role', true), ''), session_user::text);
    tier text := coalesce(nullif(current_setting('hocba.tier', true), ''), 'database');
    request_id text := coalesce(current_setting('hocba.request_id', true), '');
    source text := coalesce(nullif(current_setting('hocba.source', true), ''), 'sql');
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- A snapshot older than the chain's head would fork the chain.
        RAISE EXCEPTION 'school data is written in READ COMMITTED transactions only' USING ERRCODE = 'HB001';
    END IF;
    -- One writer at a time extends the chain; held until this transaction ends. The application
    -- takes the same lock at the start of each write (school_write), before any row lock.
    PERFORM pg_advisory_xact_lock(hashtext('hocba.audit_chain'), hashtext(current_schema()));
    SELECT hash INTO prev FROM schools_auditentry ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    INSERT INTO schools_auditentry (at, account_id, role, tier, request_id, source, table_name, operation, rows,
                                    old_values, new_values, prev_hash, hash)
    VALUES (at, account, role, tier, request_id, source, table_name, operation, n, old_values, new_values, prev,
            audit_payload(prev, at, account, role, tier, request_id, source, table_name, operation, n,
                          old_values, new_values));
END $$;

CREATE FUNCTION audit_on_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; new_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, new_values FROM new_rows r;
    IF n > 0 THEN PERFORM audit_append('INSERT', TG_TABLE_NAME, n, '', new_values); END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION audit_on_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; old_values text; new_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, new_values FROM new_rows r;
    IF n > 0 THEN
        SELECT coalesce(string_agg(r::text, chr(10)), '') INTO old_values FROM old_rows r;
        PERFORM audit_append('UPDATE', TG_TABLE_NAME, n, old_values, new_values);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION audit_on_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
    SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; old_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, old_values FROM old_rows r;
    IF n > 0 THEN PERFORM audit_append('DELETE', TG_TABLE_NAME, n, old_values, ''); END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit chain is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

REVOKE ALL ON FUNCTION audit_append(text, text, integer, text, text) FROM PUBLIC;

CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON schools_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON schools_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The first link that does not hold, or NULL when the whole chain is intact.
CREATE FUNCTION audit_first_broken_link() RETURNS bigint LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT id FROM (
        SELECT id, hash, prev_hash,
               lag(hash, 1, repeat('0', 64)) OVER (ORDER BY id) AS expected_prev,
               audit_payload(prev_hash, at, account_id, role, tier, request_id, source, table_name, operation,
                             rows, old_values, new_values) AS expected_hash
        FROM schools_auditentry) chain
    WHERE prev_hash <> expected_prev OR hash <> expected_hash
    ORDER BY id LIMIT 1
$$;
