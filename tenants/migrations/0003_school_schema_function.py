from django.db import migrations

# Schools are created by the application's role, which owns nothing: this function runs as the owner
# of the database objects, takes its DDL only from the captured template (which the application can
# read but not write), and accepts only a well-formed schema name.
FORWARD = r"""
CREATE FUNCTION hocba_create_school_schema(schema_name text, head text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    ddl text;
BEGIN
    IF schema_name !~ '^[a-z][a-z0-9_]{2,62}$' OR schema_name LIKE 'pg\_%' OR schema_name IN ('public', 'school_template') THEN
        RAISE EXCEPTION 'invalid school schema name %', schema_name USING ERRCODE = 'invalid_schema_name';
    END IF;
    SELECT script INTO ddl FROM tenants_schematemplate t WHERE t.head = hocba_create_school_schema.head;
    IF ddl IS NULL THEN
        RAISE EXCEPTION 'no school template for migration head %', head USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    PERFORM set_config('search_path', quote_ident(schema_name) || ', public', true);
    EXECUTE ddl;
    PERFORM set_config('search_path', 'public', true);
    RETURN 1;
END $$;
REVOKE ALL ON FUNCTION hocba_create_school_schema(text, text) FROM PUBLIC;
"""
BACKWARD = "DROP FUNCTION IF EXISTS hocba_create_school_schema(text, text);"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_audit_append_only")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
