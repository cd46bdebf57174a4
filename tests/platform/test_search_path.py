"""One `SET search_path` per connection and tenant (TENANT_LIMIT_SET_CALLS) must never leave a query in the wrong
school: a ROLLBACK or ROLLBACK TO SAVEPOINT reverts a SET issued inside it, and the next query must set it again."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from tenants.models import School


class Boom(Exception):
    pass


def current_schema() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


def test_savepoint_rollback_does_not_leave_another_schools_search_path(w):
    a, b = School.objects.get(pk=w.school_a), School.objects.get(pk=w.school_b)
    connection.set_tenant(a)
    try:
        with transaction.atomic():
            assert current_schema() == a.schema_name
            with pytest.raises(Boom), transaction.atomic():
                connection.set_tenant(b)
                assert current_schema() == b.schema_name  # SET inside the savepoint
                raise Boom
            # The savepoint's rollback put the server back on A; the connection still serves B and must say so again.
            assert connection.schema_name == b.schema_name
            assert current_schema() == b.schema_name
            connection.set_tenant(a)
            assert current_schema() == a.schema_name
    finally:
        connection.set_schema_to_public()


def test_one_set_per_tenant_not_per_cursor(w):
    from django.test.utils import CaptureQueriesContext

    a = School.objects.get(pk=w.school_a)
    connection.set_tenant(a)
    try:
        with CaptureQueriesContext(connection) as captured:
            for _ in range(3):
                current_schema()
        sets = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET search_path")]
        assert len(sets) == 1 and a.schema_name in sets[0]
    finally:
        connection.set_schema_to_public()


def test_a_prepared_statement_follows_the_school(w):
    """Parameters are bound by the server and a statement repeated on a connection is prepared once (psycopg
    prepares it at its fifth run): the same prepared statement must still read the school now selected."""
    a, b = School.objects.get(pk=w.school_a), School.objects.get(pk=w.school_b)
    sql = "SELECT c.relnamespace::regnamespace::text FROM pg_class c WHERE c.oid = 'schools_subject'::regclass AND %s"
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    try:
        for school in (a, b, a):
            connection.set_tenant(school)
            for _ in range(7):
                with connection.cursor() as cursor:
                    cursor.execute(sql, [True])
                    assert cursor.fetchone()[0] == school.schema_name
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%schools_subject%"])
            assert cursor.fetchone()[0] >= 1  # it really was prepared
    finally:
        connection.set_schema_to_public()


def test_requests_alternating_between_schools_each_read_their_own(w):
    """The tenant middleware keeps the connection's search_path when the previous request served the same school,
    and sets it whenever the school changes: alternate requests never read the other school."""
    from rest_framework.test import APIClient

    from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST

    seen = []
    for host, name, school_id in (
        (SCHOOL_A_HOST, "principal_a", w.school_a),
        (SCHOOL_A_HOST, "principal_a", w.school_a),
        (SCHOOL_B_HOST, "principal_b", w.school_b),
        (SCHOOL_A_HOST, "principal_a", w.school_a),
        (SCHOOL_B_HOST, "principal_b", w.school_b),
        (SCHOOL_B_HOST, "principal_b", w.school_b),
    ):
        client = APIClient(HTTP_HOST=host)
        client.force_authenticate(w.account(name))
        assert client.get("/api/v1/classes/").status_code == 200
        seen.append((current_schema(), School.objects.get(pk=school_id).schema_name))
    connection.set_schema_to_public()
    assert all(now == expected for now, expected in seen), seen
