from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION tenants_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the platform audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER tenants_audit_no_update BEFORE UPDATE OR DELETE ON tenants_platformauditentry
    FOR EACH ROW EXECUTE FUNCTION tenants_audit_append_only();
CREATE TRIGGER tenants_audit_no_truncate BEFORE TRUNCATE ON tenants_platformauditentry
    FOR EACH STATEMENT EXECUTE FUNCTION tenants_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS tenants_audit_no_update ON tenants_platformauditentry;
DROP TRIGGER IF EXISTS tenants_audit_no_truncate ON tenants_platformauditentry;
DROP FUNCTION IF EXISTS tenants_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
