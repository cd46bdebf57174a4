"""The audit triggers of a table of school data (DESIGN §7), for the migration that creates the table.

Every table of school data has four: after INSERT, UPDATE and DELETE, one statement-level trigger each with its
transition tables, calling ``audit_on_insert`` / ``audit_on_update`` / ``audit_on_delete`` with the table's name as
the first argument — the name the audit entry records (a trigger fired on a Citus shard sees the shard's name in
``TG_TABLE_NAME``: docs/operations.md §9.3, Finding 2) — and one refusing TRUNCATE, which would leave no trace of
the rows. A migration that adds a school table runs, after creating it::

    migrations.RunSQL(attach_sql("schools_example"), detach_sql("schools_example"))

Plain DDL statements: the school template's replay (``tenants.provisioning``) records and replays them as they are.
The new table also needs its label in ``schools.audit.history.TABLE_LABELS`` and its window guard
(``schools.windowguards``)."""

from __future__ import annotations

import re

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

TRIGGERS = (
    ("audit_ins", "INSERT", "REFERENCING NEW TABLE AS new_rows", "audit_on_insert"),
    ("audit_upd", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", "audit_on_update"),
    ("audit_del", "DELETE", "REFERENCING OLD TABLE AS old_rows", "audit_on_delete"),
)


def _checked(table: str) -> str:
    if not _NAME.match(table):
        raise ValueError(f"{table!r} is not a plain lowercase table name")
    return table


def attach_sql(table: str) -> str:
    """The statements creating ``table``'s audit triggers (in the current school schema)."""
    table = _checked(table)
    lines = [
        f"CREATE TRIGGER {name} AFTER {event} ON {table} {transition} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {function}('{table}');"
        for name, event, transition, function in TRIGGERS
    ]
    lines.append(
        f"CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
        "EXECUTE FUNCTION audit_refuse_change();"
    )
    return "\n".join(lines)


def detach_sql(table: str) -> str:
    """The statements dropping them again (the reverse of ``attach_sql``)."""
    table = _checked(table)
    names = [name for name, *_rest in TRIGGERS] + ["audit_no_truncate"]
    return "\n".join(f"DROP TRIGGER IF EXISTS {name} ON {table};" for name in names)
