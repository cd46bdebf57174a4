"""The audit chain right on one server and under Citus alike (issue 15; docs/operations.md §9.3, Findings 2 and 3).

``sql/0013_audit_chain_citus.sql``: ``audit_append`` numbers each entry ``last id + 1`` from its read of the last
entry under the chain lock (not from the sequence); the audit functions record the table named by the trigger's first
argument (``TG_TABLE_NAME`` without one); and every audit trigger of the schema, found in the catalog (``pg_trigger``,
so the tables of every earlier migration are included), is created again with its table's name as argument. Tables
created later attach their triggers with ``schools.audit.triggers.attach_sql``. The hashes are unchanged: chains
written before verify after."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("schools", "0012_identity_numbers")]
    operations = [migrations.RunSQL((SQL / "0013_audit_chain_citus.sql").read_text(), migrations.RunSQL.noop)]
