"""Backups read through a login of their own, granted the read-only role ``hocba_backup`` (issue 15, conflict 4: back
up as the owner or a read-only backup role that db_roles creates; restore only as the owner).

``db_roles`` creates the login (``HOCBA_DB_BACKUP_USER`` / ``HOCBA_DB_BACKUP_PASSWORD``); the nightly job and
``school_backup`` read through the ``backup`` connection (``DATABASE_BACKUP_URL``, or ``DATABASE_URL`` with that
login), and refuse to read as the application's role. The reading tests need a committed login on the server: it is
made with the same code db_roles runs, on a connection of its own, and dropped afterwards."""

from __future__ import annotations

import json
import os
import secrets

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.utils import load_backend
from hocba.kernel import archive
from psycopg import sql

from tenants import backups, dbroles, provisioning, tasks
from tenants.models import School
from tests.support import as_owner

OWNER = pytest.mark.django_db(databases=["default", "owner"])


def _school_b(w) -> School:
    return School.objects.get(pk=w.school_b)


def _owner_conninfo(**changes) -> str:
    s = {**connections["owner"].settings_dict, **changes}
    return psycopg.conninfo.make_conninfo(
        host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"], password=s["PASSWORD"] or None, dbname=s["NAME"]
    )


@pytest.fixture
def s3(settings, monkeypatch):
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", "anchors-test")
    monkeypatch.setenv("HOCBA_BACKUP_BUCKET", "backups-test")
    with mock_aws():
        yield archive.archive_client()


@pytest.fixture
def backup_login(w):
    """A committed backup login made as db_roles makes it, and the ``backup`` connection through it (as the settings
    make it from DATABASE_BACKUP_URL); both gone afterwards."""
    user, password = f"hocba_backup_reader_{os.getpid()}", secrets.token_urlsafe(16)
    with psycopg.connect(_owner_conninfo(), autocommit=True) as admin, admin.cursor() as cursor:
        dbroles._ensure_backup_login(cursor, user, password)
    settings_dict = {**connections["owner"].settings_dict, "USER": user, "PASSWORD": password}
    reader = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, backups.BACKUP_ALIAS)
    # Connected before the alias is known: Django's test case refuses new connections of aliases it was not given.
    reader.ensure_connection()
    connections.settings[backups.BACKUP_ALIAS] = settings_dict
    connections[backups.BACKUP_ALIAS] = reader
    try:
        yield user
    finally:
        connections[backups.BACKUP_ALIAS].close()
        del connections[backups.BACKUP_ALIAS]
        del connections.settings[backups.BACKUP_ALIAS]
        with psycopg.connect(_owner_conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


@OWNER
def test_db_roles_creates_the_backup_login_read_only_and_in_the_backup_role_only(w, settings):
    settings.DB_BACKUP_USER, settings.DB_BACKUP_PASSWORD = "hocba_backup_reader_dbroles", "mat-khau-sao-luu"
    with as_owner():
        call_command("db_roles", verbosity=0)
        schema = _school_b(w).schema_name
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.rolcanlogin, r.rolsuper, r.rolconfig, pg_has_role(r.oid, 'hocba_backup', 'MEMBER'),"
                " pg_has_role(r.oid, 'hocba_writers', 'MEMBER'),"
                " has_table_privilege(r.oid, %s, 'SELECT'), has_table_privilege(r.oid, %s, 'INSERT'),"
                " has_table_privilege(r.oid, 'public.tenants_account', 'SELECT'),"
                " has_schema_privilege(r.oid, %s, 'CREATE')"
                " FROM pg_roles r WHERE r.rolname = %s",
                [f'"{schema}".schools_student', f'"{schema}".schools_student', schema, settings.DB_BACKUP_USER],
            )
            assert cursor.fetchone() == (
                True,
                False,
                ["default_transaction_read_only=on"],
                True,
                False,
                True,
                False,
                False,
                False,
            )
        # Its own login: never the owner's or the application's.
        settings.DB_BACKUP_USER = settings.DB_APP_USER
        with pytest.raises(ValueError, match="login of its own"):
            call_command("db_roles", verbosity=0)


@pytest.fixture
def scratch_school(w):
    """A committed school schema of its own with a few audited rows (made from the school template, as a school is),
    not registered as a school (nothing else sees it), dropped afterwards."""
    schema = f"g_backup_{os.getpid()}"
    with psycopg.connect(_owner_conninfo(), autocommit=True) as admin:
        with admin.transaction():
            admin.execute("SELECT hocba_create_school_schema(%s, %s)", [schema, provisioning.migration_head().digest])
            admin.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(schema)))
            admin.execute("INSERT INTO schools_department (code, name) VALUES ('toan', 'Tổ Toán'), ('van', 'Tổ Văn')")
            admin.execute("UPDATE schools_department SET name = name || ' – Tin' WHERE code = 'toan'")
    try:
        yield School(pk=10**9, slug="g-sao-luu", moet_code="99999999", schema_name=schema, status="active")
    finally:
        with psycopg.connect(_owner_conninfo(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@OWNER
def test_a_backup_reads_through_the_backup_login_which_cannot_write(w, backup_login, scratch_school, tmp_path):
    school = scratch_school
    assert backups.backup_connection() == backups.BACKUP_ALIAS
    manifest = backups.backup_school(school, str(tmp_path), use_archive=False, using=backups.BACKUP_ALIAS)
    # The same tables copied out by the owner on a connection of its own (the test's transaction must not hold locks
    # on the scratch schema, which is dropped afterwards).
    with psycopg.connect(_owner_conninfo()) as conn, conn.cursor() as cursor:
        backups._pin(cursor)
        expected = {
            t.name: (c.rows, c.sha256)
            for t in backups.school_tables(cursor, school.schema_name)
            for c in [backups.copy_out(cursor, school.schema_name, t, keep=False)]
        }
    assert {n: (m["rows"], m["sha256"]) for n, m in manifest["tables"].items()} == expected
    assert manifest["tables"]["schools_department"]["rows"] == 2 and manifest["audit_head"]["last_id"] >= 2
    assert (tmp_path / school.schema_name).is_dir()

    reader = connections[backups.BACKUP_ALIAS]
    with reader.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == backup_login
    s = sql.Identifier(school.schema_name)
    attempts = [
        sql.SQL("INSERT INTO {}.schools_department (code, name) VALUES ('x', 'Tổ X')").format(s),
        sql.SQL("UPDATE {}.schools_student SET full_name = 'X'").format(s),
        sql.SQL("DELETE FROM {}.schools_auditentry").format(s),
        sql.SQL("CREATE TABLE {}.schools_extra (id int)").format(s),
        sql.SQL("UPDATE public.tenants_school SET name = 'X'"),
        sql.SQL("SELECT count(*) FROM public.tenants_account"),
    ]
    with psycopg.connect(_owner_conninfo(USER=backup_login, PASSWORD=reader.settings_dict["PASSWORD"])) as conn:
        for statement in attempts[:3]:  # the login's sessions are read-only by default
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute(statement)
            conn.rollback()
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")  # … and without it: no privilege
        conn.commit()
        for statement in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()


@OWNER
def test_the_nightly_job_backs_up_through_the_backup_login(w, backup_login, s3):
    school = _school_b(w)
    assert tasks.school_backups_chunk.run([[school.pk, school.schema_name]]) == {"done": 1, "failed": 0}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="backups-test")["Contents"]]
    manifest_key = next(
        k for k in keys if k.startswith(f"backups/{school.schema_name}/") and k.endswith("/manifest.json")
    )
    manifest = json.loads(s3.get_object(Bucket="backups-test", Key=manifest_key)["Body"].read())
    assert manifest["school"]["schema"] == school.schema_name and "schools_auditentry" in manifest["tables"]


def test_without_a_backup_login_the_application_role_never_backs_up(w, s3, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.school_backups_chunk, "delay", sent.append)
    with pytest.raises(backups.BackupError, match="never as the application's role"):
        tasks.school_backups()
    assert sent == []
    school = _school_b(w)
    with pytest.raises(backups.BackupError, match="never as the application's role"):
        tasks.school_backups_chunk.run([[school.pk, school.schema_name]])
    with pytest.raises(CommandError, match="never as the application's role"):
        call_command("school_backup", school.slug, "--to", "/nonexistent")
    assert s3.list_buckets()["Buckets"] == []  # refused before any bucket was touched


@OWNER
def test_a_backup_login_in_the_writers_group_is_refused(w, backup_login):
    with psycopg.connect(_owner_conninfo(), autocommit=True) as admin:
        admin.execute(sql.SQL("GRANT hocba_writers TO {}").format(sql.Identifier(backup_login)))
    with pytest.raises(backups.BackupError, match="not be in hocba_writers"):
        backups.backup_connection()
