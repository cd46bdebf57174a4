-- The school's audit chain made right on one server and under Citus alike (docs/operations.md §9.3, Findings 2 and 3).
-- What each entry hashes is unchanged (audit_payload): chains written before this migration verify after it.
--
-- Finding 3: audit_append numbers each entry `last id + 1`, from the read of the last entry it already makes under the
-- chain lock, instead of drawing from the id sequence. The chain stays gapless and in order wherever the trigger runs:
-- under Citus every node draws sequence values from its own range, and a school moved to a node with a lower range
-- would have given new entries smaller ids than the old ones. (The sequence stays; nothing draws from it any more.)

CREATE OR REPLACE FUNCTION audit_append(operation text, table_name text, n integer, old_values text, new_values text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    last_id bigint;
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
    -- Read after the lock: in READ COMMITTED this statement sees every entry committed by the writers before.
    SELECT e.id, e.hash INTO last_id, prev FROM schools_auditentry e ORDER BY e.id DESC LIMIT 1;
    prev := coalesce(prev, repeat('0', 64));
    INSERT INTO schools_auditentry (id, at, account_id, role, tier, request_id, source, table_name, operation, rows,
                                    old_values, new_values, prev_hash, hash)
    VALUES (coalesce(last_id, 0) + 1, at, account, role, tier, request_id, source, table_name, operation, n,
            old_values, new_values, prev,
            audit_payload(prev, at, account, role, tier, request_id, source, table_name, operation, n,
                          old_values, new_values));
END $$;

-- Finding 2: the entry's table is the trigger's first argument, the table's logical name (a trigger fired on a Citus
-- shard sees the shard's name, e.g. schools_assessment_102008, in TG_TABLE_NAME); a trigger created without an
-- argument still records TG_TABLE_NAME.
CREATE OR REPLACE FUNCTION audit_on_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path FROM CURRENT SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; new_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, new_values FROM new_rows r;
    IF n > 0 THEN PERFORM audit_append('INSERT', coalesce(TG_ARGV[0], TG_TABLE_NAME), n, '', new_values); END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_on_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path FROM CURRENT SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; old_values text; new_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, new_values FROM new_rows r;
    IF n > 0 THEN
        SELECT coalesce(string_agg(r::text, chr(10)), '') INTO old_values FROM old_rows r;
        PERFORM audit_append('UPDATE', coalesce(TG_ARGV[0], TG_TABLE_NAME), n, old_values, new_values);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION audit_on_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path FROM CURRENT SET datestyle = 'ISO, YMD' SET timezone = 'UTC' SET intervalstyle = 'postgres' AS $$
DECLARE n integer; old_values text;
BEGIN
    SELECT count(*), coalesce(string_agg(r::text, chr(10)), '') INTO n, old_values FROM old_rows r;
    IF n > 0 THEN PERFORM audit_append('DELETE', coalesce(TG_ARGV[0], TG_TABLE_NAME), n, old_values, ''); END IF;
    RETURN NULL;
END $$;

-- Every audit trigger of this schema's tables, as the catalog has them (whichever migration created the table),
-- created again with its table's name as argument: the same definition otherwise, and left enabled or disabled as it
-- was. Triggers that already pass an argument are left alone, so the block may run again.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.oid, tg.tgname, c.relname, tg.tgenabled, pg_get_triggerdef(tg.oid) AS definition
          FROM pg_trigger tg
          JOIN pg_class c ON c.oid = tg.tgrelid
          JOIN pg_namespace cn ON cn.oid = c.relnamespace
          JOIN pg_proc p ON p.oid = tg.tgfoid
          JOIN pg_namespace pn ON pn.oid = p.pronamespace
         WHERE cn.nspname = current_schema() AND pn.nspname = current_schema()
           AND p.proname IN ('audit_on_insert', 'audit_on_update', 'audit_on_delete')
           AND tg.tgnargs = 0 AND NOT tg.tgisinternal
         ORDER BY c.relname, tg.tgname
    LOOP
        IF t.definition !~ '\(\)$' THEN
            RAISE EXCEPTION 'audit trigger % on %: unexpected definition %', t.tgname, t.relname, t.definition;
        END IF;
        EXECUTE format('DROP TRIGGER %I ON %I', t.tgname, t.relname);
        EXECUTE regexp_replace(t.definition, '\(\)$', '(' || quote_literal(t.relname) || ')');
        IF t.tgenabled <> 'O' THEN
            EXECUTE format('ALTER TABLE %I %s TRIGGER %I', t.relname,
                           CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'A' THEN 'ENABLE ALWAYS'
                                            ELSE 'ENABLE REPLICA' END,
                           t.tgname);
        END IF;
    END LOOP;
END $$;
