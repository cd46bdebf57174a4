"""The one door into a school: ``run_in_school`` runs a function inside the school's schema and puts the connection
back where it was, whatever happens (public for a job, the requesting school for a request on a school's site)."""

from __future__ import annotations

import pytest
from django.db import connection
from hocba.kernel.errors import DomainError

from tenants import perschool
from tenants.models import School


def _schema() -> str:
    return connection.schema_name


def test_a_job_on_public_returns_to_public(w):
    school = School.objects.get(pk=w.school_a)
    connection.set_schema_to_public()
    assert perschool.run_in_school(school.schema_name, _schema) == school.schema_name
    assert connection.schema_name == "public"


def test_a_request_on_a_school_site_stays_on_its_school(w):
    own, other = School.objects.get(pk=w.school_a), School.objects.get(pk=w.school_b)
    connection.set_tenant(own)
    try:
        assert perschool.run_in_school(other.schema_name, _schema) == other.schema_name
        assert connection.schema_name == own.schema_name and connection.tenant.pk == own.pk
    finally:
        connection.set_schema_to_public()


def test_the_connection_is_put_back_when_the_function_fails(w):
    school = School.objects.get(pk=w.school_a)
    connection.set_schema_to_public()

    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        perschool.run_in_school(school.schema_name, fails)
    assert connection.schema_name == "public"


@pytest.mark.parametrize("name", ["public", "pg_catalog", "s_x; DROP TABLE y", ""])
def test_no_schema_but_a_schools_is_entered(w, name):
    with pytest.raises(DomainError):
        perschool.run_in_school(name, _schema)
    assert connection.schema_name == "public"
