"""What the grade sheets' hot path relies on in every school schema (schools/sql/0004_assessment_hot_path.sql)."""

from __future__ import annotations

from django.db import connection

from tenants.models import School


def _school_catalog(schema: str, sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql, [schema])
        return cursor.fetchall()


def test_assessments_leave_room_for_in_place_updates(w):
    schema = School.objects.get(pk=w.school_a).schema_name
    options = _school_catalog(
        schema,
        "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = 'schools_assessment'",
    )
    assert options == [(["fillfactor=70"],)]


def test_audit_row_texts_use_lz4_where_the_server_has_it(w):
    schema = School.objects.get(pk=w.school_a).schema_name
    rows = dict(
        _school_catalog(
            schema,
            "SELECT a.attname, a.attcompression FROM pg_attribute a JOIN pg_class c ON"
            " c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE"
            " n.nspname = %s AND c.relname = 'schools_auditentry'"
            " AND a.attname IN ('old_values', 'new_values')",
        )
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute("SAVEPOINT lz4_probe")
            cursor.execute("CREATE TEMP TABLE lz4_probe (t text COMPRESSION lz4)")
            has_lz4 = True
        except Exception:  # noqa: BLE001 - a server built without lz4
            has_lz4 = False
        cursor.execute("ROLLBACK TO SAVEPOINT lz4_probe")
    assert rows == ({"old_values": "l", "new_values": "l"} if has_lz4 else {"old_values": "", "new_values": ""})


def test_the_window_guard_asks_the_cheap_question_first(w):
    schema = School.objects.get(pk=w.school_a).schema_name
    source = _school_catalog(
        schema,
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = %s AND p.proname = 'window_guard'",
    )[0][0]
    assert source.index("hocba_window_may_block") < source.index("hocba_window_enforce")
