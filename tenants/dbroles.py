"""Database roles: the owner (migrations, templates) and the application's role, which owns nothing.

The application logs in as a member of ``hocba_writers``. That group may read and write school data
but may only read the school's audit table (its triggers write it, as the owner) and only INSERT and
SELECT the platform's, only read the migration records and the school
template, and creates school schemas only through ``hocba_create_school_schema`` (SECURITY DEFINER).
``hocba_backup`` (no login of its own: grant it to a backup login) may only read the school schemas and the school
list, for ``manage.py school_backup`` and the nightly backups; a restore needs the owner. Given a password
(``HOCBA_DB_BACKUP_PASSWORD``), ``db_roles`` also creates that login (``HOCBA_DB_BACKUP_USER``, default
``hocba_backup_reader``): a member of ``hocba_backup`` only, read-only by default (``default_transaction_read_only``).
``manage.py db_roles`` (run as the owner, after migrations) makes it so; it is idempotent.
"""

from __future__ import annotations

from django.db import connection, connections
from psycopg import sql

WRITERS = "hocba_writers"
# Reads for backups (``tenants.backups``): SELECT on the school schemas and on the school list, nothing else.
BACKUP = "hocba_backup"

# Run in each school schema (search_path set to it): what the application may not change there.
SCHOOL_RESTRICTIONS = f"""
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITERS}') THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {WRITERS};
        -- Entries are written by the triggers (as the owner) only: the application reads them.
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON schools_auditentry FROM {WRITERS};
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{BACKUP}') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO {BACKUP}', current_schema());
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO {BACKUP}', current_schema());
    END IF;
END $$;
"""


def _exec(cursor, statement) -> None:
    cursor.execute(statement if isinstance(statement, str) else statement.as_string(cursor.connection))


def _ensure_backup_login(cursor, user: str, password: str) -> None:
    """The backups' login: created if missing, its password set, granted ``hocba_backup`` and nothing else of ours."""
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user])
    u = sql.Identifier(user)
    if cursor.fetchone() is None:
        _exec(cursor, sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(u))
    _exec(cursor, sql.SQL("ALTER ROLE {} PASSWORD {}").format(u, sql.Literal(password)))
    _exec(cursor, sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(u))
    _exec(cursor, sql.SQL("GRANT {} TO {}").format(sql.Identifier(BACKUP), u))


def ensure_roles(
    *,
    app_user: str | None,
    app_password: str | None,
    school_schemas: list[str],
    backup_user: str | None = None,
    backup_password: str | None = None,
) -> None:
    """Create the group and the application's login if missing and (re)grant everything; with ``backup_password``,
    the backups' login too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        owner, database = cursor.fetchone()
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [WRITERS])
        if cursor.fetchone() is None:
            _exec(cursor, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(WRITERS)))
        if app_user:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_user])
            if cursor.fetchone() is None:
                _exec(
                    cursor,
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                        sql.Identifier(app_user)
                    ),
                )
            if app_password:
                _exec(
                    cursor,
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(app_user), sql.Literal(app_password)),
                )
            _exec(cursor, sql.SQL("GRANT {} TO {}").format(sql.Identifier(WRITERS), sql.Identifier(app_user)))
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [BACKUP])
        if cursor.fetchone() is None:
            _exec(cursor, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(BACKUP)))
        b = sql.Identifier(BACKUP)
        for statement in (
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), b),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(b),
            sql.SQL("GRANT SELECT ON tenants_school TO {}").format(b),
        ):
            _exec(cursor, statement)
        if backup_user and backup_password:
            if backup_user in (owner, app_user):
                raise ValueError(f"the backups' login {backup_user} must be a login of its own")
            _ensure_backup_login(cursor, backup_user, backup_password)
        w, o = sql.Identifier(WRITERS), sql.Identifier(owner)
        for statement in (
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), w),
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(
                o, w
            ),
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(o, w),
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(o, w),
            sql.SQL("GRANT EXECUTE ON FUNCTION hocba_create_school_schema(text, text) TO {}").format(w),
        ):
            _exec(cursor, statement)
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [school_schemas])
        school_schemas = [r[0] for r in cursor.fetchall()]
        for schema in ["public", *school_schemas]:
            s = sql.Identifier(schema)
            _exec(cursor, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, w))
            _exec(cursor, sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(s, w))
            _exec(cursor, sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, w))
        _exec(
            cursor,
            sql.SQL(
                "REVOKE UPDATE, DELETE, TRUNCATE ON tenants_platformauditentry FROM {w};"
                "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON tenants_schematemplate, django_migrations FROM {w}"
            ).format(w=w),
        )
        for schema in school_schemas:
            _exec(cursor, sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(schema)))
            cursor.execute(SCHOOL_RESTRICTIONS)
        _exec(cursor, "SET LOCAL search_path TO public")


def is_owner_connection(using: str = "default") -> bool:
    """True when this process's login owns the platform's tables (or is a superuser)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper OR EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename = 'tenants_school' AND tableowner = current_user)"
            " FROM pg_roles r WHERE r.rolname = current_user"
        )
        return bool(cursor.fetchone()[0])
