"""The audit chain's findings for Citus, built so that they are right on one server too (docs/operations.md §9.3):

* Finding 1 — the actor reaches the triggers through ``SET LOCAL`` statements (quoted client-side), not
  ``set_config()``: the entries still carry account, role, source and request id, and hostile values are stored
  verbatim (nothing in them is ever SQL);
* Finding 2 — the audit triggers pass the table's logical name, which the entry records (a shard's own name never
  reaches the chain); migration 0013 re-creates every audit trigger found in the catalog with it;
* Finding 3 — entry ids are ``last id + 1`` under the chain lock: the first entry is 1, concurrent writers leave no
  gap, a restored school continues its chain.

Schema changes run on the owner's connection inside the test's transaction (rolled back), except the concurrency
test, which needs commits: it works in a scratch schema of its own and drops it."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.test import Client
from hocba.kernel import auditchain, context
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from psycopg import sql

from schools.audit import chain
from schools.audit.triggers import attach_sql, detach_sql
from schools.models import AuditEntry, Department
from schools.services.common import school_write
from tenants import backups
from tenants.models import School
from tests.support import as_owner

OWNER = pytest.mark.django_db(databases=["default", "owner"])
SQL = Path(__file__).resolve().parents[2] / "schools" / "sql"
MIGRATION_SQL = (SQL / "0013_audit_chain_citus.sql").read_text()
AUDIT_FUNCTIONS = ("audit_on_insert", "audit_on_update", "audit_on_delete")
# Quotes, a backslash before a quote, SQL, dollar quotes, placeholders, an E'' escape, Vietnamese, an emoji: 64
# characters at most (the audit rows' request id).
HOSTILE = "O'Brien\\'; DROP TABLE schools_student; -- $$ %s E'\\x41' Ánh 🎓 \\\\"


def _school(w, which: str = "a") -> School:
    return School.objects.get(pk=w.school_a if which == "a" else w.school_b)


def _actor(**values) -> context.ActorContext:
    base = {"account_id": 7, "role": "clerk", "tier": "school", "request_id": "r-1", "source": "web"}
    return context.ActorContext(**{**base, **values})


def _intact(rows: list[tuple]) -> auditchain.ChainReport:
    check = auditchain.ChainCheck()
    check.feed(rows)
    return check.report()


def _audit_triggers(cursor, schema: str) -> list[tuple[str, str, int, bytes]]:
    cursor.execute(
        "SELECT c.relname, t.tgname, t.tgnargs, t.tgargs FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_proc p ON p.oid = t.tgfoid WHERE n.nspname = %s AND p.proname = ANY(%s) ORDER BY 1, 2",
        [schema, list(AUDIT_FUNCTIONS)],
    )
    return [(r, t, n, bytes(a)) for r, t, n, a in cursor.fetchall()]


# --- Finding 1: SET LOCAL statements, values quoted client-side ---------------------------------------------------


def test_the_actor_is_bound_with_set_local_statements_only(w):
    token = context.activate(_actor(role=HOSTILE))
    try:
        with connection.cursor() as cursor:
            text = context.bind_sql(cursor)
    finally:
        context.reset(token)
    statements = text.split("; SET LOCAL ")
    assert text.startswith('SET LOCAL "hocba"."account_id" = ') and len(statements) == len(context.SETTINGS)
    assert "set_config" not in text and len(HOSTILE) <= context.REQUEST_ID_MAX
    # The hostile value is one quoted literal: its quotes doubled, its backslashes in an E'' string.
    assert " E'O''Brien\\\\''; DROP TABLE" in text


@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80))
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_reaches_the_database_verbatim(w, value):
    token = context.activate(_actor(role=value, request_id=value, tier=value, source=value))
    try:
        with transaction.atomic():
            context.bind_to_transaction(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('hocba.role'), current_setting('hocba.request_id'), current_setting("
                    "'hocba.tier'), current_setting('hocba.source'), current_setting('hocba.account_id')"
                )
                assert cursor.fetchone() == (value, value, value, value, "7")
    finally:
        context.reset(token)


@school_write
def _add_department(code: str) -> None:
    Department.objects.create(code=code, name="Tổ Toán – Tin")


def test_audit_rows_carry_the_actor_and_hostile_values_verbatim(w):
    connection.set_tenant(_school(w))
    token = context.activate(_actor(account_id=w.accounts["clerk_a"], request_id=HOSTILE, source="import"))
    try:
        _add_department("toan-tin")
    finally:
        context.reset(token)
    entry = AuditEntry.objects.filter(table_name="schools_department").latest("id")
    assert (entry.account_id, entry.role, entry.tier, entry.request_id, entry.source) == (
        w.accounts["clerk_a"],
        "clerk",
        "school",
        HOSTILE,
        "import",
    )
    assert "toan-tin" in entry.new_values and Department.objects.filter(code="toan-tin").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('schools_student') IS NOT NULL")
        assert cursor.fetchone()[0]
    assert _intact(chain.rows(0, 100_000)).broken is None


# --- Finding 2: the logical table name as the triggers' argument ---------------------------------------------------


@OWNER
def test_every_audit_trigger_passes_its_table_name(w):
    with connections["owner"].cursor() as cursor:
        for which in ("a", "b"):
            found = _audit_triggers(cursor, _school(w, which).schema_name)
            assert len(found) >= 3 * 14
            assert all(n == 1 and args == table.encode() + b"\x00" for table, _t, n, args in found), found


@OWNER
def test_an_entry_records_the_argument_not_the_physical_table(w):
    """A copy of a table named like a Citus shard, its triggers passing the logical name: the chain records the
    logical name; a trigger without an argument records the table's own."""
    with as_owner():
        connection.set_tenant(_school(w, "b"))
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE schools_department_102008 (LIKE schools_department INCLUDING ALL)")
            cursor.execute(
                attach_sql("schools_department_102008").replace("'schools_department_102008'", "'schools_department'")
            )
            cursor.execute("INSERT INTO schools_department_102008 (code, name) VALUES ('shard', 'Tổ trên phân mảnh')")
            cursor.execute("SELECT table_name, new_values FROM schools_auditentry ORDER BY id DESC LIMIT 1")
            table, values = cursor.fetchone()
            assert table == "schools_department" and "shard" in values
            cursor.execute(detach_sql("schools_department_102008"))
            cursor.execute(
                "CREATE TRIGGER audit_upd AFTER UPDATE ON schools_department_102008 REFERENCING OLD TABLE AS old_rows"
                " NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_on_update()"
            )
            cursor.execute("UPDATE schools_department_102008 SET name = 'Tổ mới'")
            cursor.execute("SELECT table_name FROM schools_auditentry ORDER BY id DESC LIMIT 1")
            assert cursor.fetchone()[0] == "schools_department_102008"
            assert _intact(chain.rows(0, 100_000, using="owner")).broken is None


def test_attach_sql_refuses_anything_but_a_plain_table_name():
    assert "audit_on_insert('schools_exemption')" in attach_sql("schools_exemption")
    assert attach_sql("schools_exemption").count("CREATE TRIGGER") == 4
    for bad in ("schools_x; DROP TABLE y", "Schools", "a'b", "", "x" * 64):
        with pytest.raises(ValueError):
            attach_sql(bad)


OLD_FUNCTIONS = re.compile(
    r"CREATE FUNCTION (audit_append|audit_on_insert|audit_on_update|audit_on_delete)\(.*?END \$\$;", re.S
)


@OWNER
def test_migration_0013_upgrades_a_chain_written_before_it(w):
    """The school as it was before 0013 — the functions of 0002, triggers without arguments (0002 and the tables
    of later migrations alike), ids from the sequence with a gap — then 0013's SQL: every audit trigger found in the
    catalog now passes its table's name (a disabled one stays disabled), the old entries still verify, the new ones
    continue the chain at last id + 1."""
    old = "\n".join(
        m.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        for m in OLD_FUNCTIONS.finditer((SQL / "0002_audit.sql").read_text())
    )
    assert old.count("CREATE OR REPLACE FUNCTION") == 4
    with as_owner():
        school = _school(w, "b")
        connection.set_tenant(school)
        with connection.cursor() as cursor:
            for table, tgname, _n, _a in _audit_triggers(cursor, school.schema_name):
                cursor.execute(
                    sql.SQL("DROP TRIGGER {} ON {}")
                    .format(sql.Identifier(tgname), sql.Identifier(table))
                    .as_string(cursor.connection)
                )
            cursor.execute(old)
            # A table added by a later migration (0009–0012) with triggers written by hand, without an argument.
            cursor.execute("CREATE TABLE schools_newthing (id bigserial PRIMARY KEY, note text NOT NULL)")
            cursor.execute(re.sub(r"\('[a-z_]+'\)", "()", attach_sql("schools_newthing")))
            for table in ("schools_department", "schools_subject"):
                cursor.execute(
                    re.sub(r"\('[a-z_]+'\)", "()", attach_sql(table).split("\nCREATE TRIGGER audit_no_truncate")[0])
                )
            cursor.execute("ALTER TABLE schools_subject DISABLE TRIGGER audit_upd")
            assert all(n == 0 for *_x, n, _a in _audit_triggers(cursor, school.schema_name))
            cursor.execute("INSERT INTO schools_newthing (note) VALUES ('trước')")
            cursor.execute(
                "SAVEPOINT gap; INSERT INTO schools_newthing (note) VALUES ('bỏ'); ROLLBACK TO SAVEPOINT gap"
            )
            cursor.execute("INSERT INTO schools_department (code, name) VALUES ('cu', 'Tổ cũ')")
            cursor.execute("SELECT id FROM schools_auditentry ORDER BY id DESC LIMIT 2")
            before, earlier = (r[0] for r in cursor.fetchall())
            assert before == earlier + 2  # from the sequence: the rolled-back entry's id is lost

            cursor.execute(MIGRATION_SQL)

            found = _audit_triggers(cursor, school.schema_name)
            assert {t for t, *_x in found} >= {"schools_newthing", "schools_department", "schools_subject"}
            assert all(args == table.encode() + b"\x00" for table, _t, _n, args in found)
            cursor.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_upd' AND tgrelid = 'schools_subject'::regclass"
            )
            assert cursor.fetchone()[0] == "D"
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'schools_newthing'::regclass")
            assert cursor.fetchone()[0] == 4  # nothing doubled: audit_no_truncate kept, three re-created
            cursor.execute(MIGRATION_SQL)  # again: nothing left to change
            assert _audit_triggers(cursor, school.schema_name) == found
            cursor.execute("INSERT INTO schools_newthing (note) VALUES ('sau')")
            cursor.execute("UPDATE schools_department SET name = 'Tổ mới' WHERE code = 'cu'")
            cursor.execute("SELECT id, table_name FROM schools_auditentry WHERE id > %s ORDER BY id", [before])
            assert cursor.fetchall() == [(before + 1, "schools_newthing"), (before + 2, "schools_department")]
        report = _intact(chain.rows(0, 100_000, using="owner"))
        assert report.broken is None and report.head["last_id"] == before + 2


# --- Finding 3: ids from the chain ---------------------------------------------------------------------------------


@OWNER
def test_the_first_entry_of_an_empty_chain_is_one(w):
    with as_owner():
        school = _school(w, "b")
        connection.set_tenant(school)
        with connection.cursor() as cursor:
            cursor.execute("CREATE SCHEMA g_empty_chain")
            cursor.execute(
                sql.SQL("CREATE TABLE g_empty_chain.schools_auditentry (LIKE {}.schools_auditentry INCLUDING ALL)")
                .format(sql.Identifier(school.schema_name))
                .as_string(cursor.connection)
            )
            cursor.execute("CREATE TABLE g_empty_chain.schools_note (id bigserial PRIMARY KEY, note text)")
            cursor.execute("SET LOCAL search_path TO g_empty_chain, public")
            audit_sql = (SQL / "0002_audit.sql").read_text()
            cursor.execute(audit_sql[: audit_sql.index("REVOKE ALL ON FUNCTION")])
            cursor.execute(MIGRATION_SQL + ";" + attach_sql("schools_note"))
            cursor.execute("INSERT INTO schools_note (note) VALUES ('một'), ('hai')")
            cursor.execute("INSERT INTO schools_note (note) VALUES ('ba')")
            cursor.execute("SELECT id, prev_hash, table_name, rows FROM schools_auditentry ORDER BY id")
            rows = cursor.fetchall()
            assert rows == [(1, auditchain.GENESIS, "schools_note", 2), (2, rows[1][1], "schools_note", 1)]
            entries = chain.rows(0, 10, using="owner")
            cursor.execute(
                sql.SQL("SET LOCAL search_path TO {}, public")
                .format(sql.Identifier(school.schema_name))
                .as_string(cursor.connection)
            )
    report = _intact(entries)
    assert report.broken is None and report.entries == 2


def _owner_url(name: str) -> str:
    s = connections["owner"].settings_dict
    return psycopg.conninfo.make_conninfo(
        host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"], password=s["PASSWORD"] or None, dbname=name
    )


@pytest.mark.django_db(databases=["default", "owner"])
def test_concurrent_writers_leave_a_gapless_intact_chain(w):
    """Four connections write into one school at once, some of their transactions rolled back: the chain's ids run
    without a gap in commit order and every link holds."""
    school = _school(w, "b")
    name = connections["owner"].settings_dict["NAME"]
    scratch = "g_chain_race"
    with psycopg.connect(_owner_url(name), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(scratch)))
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
        admin.execute(
            sql.SQL("CREATE TABLE {}.schools_auditentry (LIKE {}.schools_auditentry INCLUDING ALL)").format(
                sql.Identifier(scratch), sql.Identifier(school.schema_name)
            )
        )
        admin.execute(
            sql.SQL("CREATE TABLE {}.schools_note (id bigserial PRIMARY KEY, note text)").format(
                sql.Identifier(scratch)
            )
        )
        with admin.transaction():
            admin.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(scratch)))
            audit_sql = (SQL / "0002_audit.sql").read_text()
            admin.execute(audit_sql[: audit_sql.index("REVOKE ALL ON FUNCTION")])
            admin.execute(MIGRATION_SQL + ";" + attach_sql("schools_note"))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with psycopg.connect(_owner_url(name)) as conn:
                conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(scratch)))
                conn.commit()
                for i in range(12):
                    conn.execute("INSERT INTO schools_note (note) VALUES (%s)", [f"{n}-{i}"])
                    conn.execute("UPDATE schools_note SET note = note || '!' WHERE note = %s", [f"{n}-{i}"])
                    if i % 4 == 3:
                        conn.rollback()
                    else:
                        conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        with psycopg.connect(_owner_url(name)) as conn:
            rows = conn.execute(
                sql.SQL("SELECT {} FROM {}.schools_auditentry ORDER BY id").format(
                    sql.SQL(", ").join(map(sql.Identifier, auditchain.COLUMNS)), sql.Identifier(scratch)
                )
            ).fetchall()
    finally:
        with psycopg.connect(_owner_url(name), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(scratch)))
    committed = 4 * 9 * 2  # per writer 9 of 12 transactions committed, two statements each
    assert [r[0] for r in rows] == list(range(1, committed + 1))
    report = _intact([tuple(r) for r in rows])
    assert report.broken is None and report.entries == committed


@OWNER
def test_a_restored_school_continues_its_chain(w, tmp_path):
    with as_owner():
        school = _school(w, "b")
        connection.set_tenant(school)
        token = context.activate(_actor(account_id=w.accounts["principal_b"], role="principal"))
        try:
            _add_department("truoc-sao-luu")
        finally:
            context.reset(token)
        connection.set_schema_to_public()
        manifest = backups.backup_school(school, str(tmp_path), use_archive=False)
        restored = backups.restore_school(manifest["location"], "restored_g_chain", use_archive=False)
        head = restored.audit_head["last_id"]
        connection.set_tenant(School.objects.get(pk=school.pk))
        token = context.activate(_actor(account_id=w.accounts["principal_b"], role="principal"))
        try:
            _add_department("sau-khoi-phuc")
        finally:
            context.reset(token)
        entry = AuditEntry.objects.latest("id")
        assert (entry.id, entry.table_name, entry.account_id) == (
            head + 1,
            "schools_department",
            w.accounts["principal_b"],
        )
        report = _intact(chain.rows(0, 100_000, using="owner"))
        assert report.broken is None and report.head["last_id"] == head + 1
        connection.set_schema_to_public()


def test_a_clients_request_id_is_kept_as_sent_up_to_the_audit_rows_length(w):
    sent = "r'\\'; DROP TABLE x; --" + "x" * 80  # a header travels as Latin-1: ASCII here
    response = Client(HTTP_HOST="hocba.localhost").get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] == sent[: context.REQUEST_ID_MAX]
