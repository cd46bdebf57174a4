"""School schemas: DDL replay, bulk provisioning from CSV/XLSX, all-or-nothing rows, migrations."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from hocba.kernel.errors import DomainError
from openpyxl import Workbook

from tenants import provisioning
from tenants.models import AdministrativeUnit, Domain, School, SchoolPlacement
from tenants.services import schools as school_services

OWNER = pytest.mark.django_db(databases=["default", "owner"])


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {r[0] for r in cursor.fetchall()}


def _catalog(schema: str, conn=connection) -> dict[str, list]:
    """Everything that makes a schema's structure, without names that embed the schema."""
    queries = {
        "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default IS NOT NULL
                      FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
        "constraints": """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
                          FROM pg_constraint WHERE connamespace = %s::regnamespace ORDER BY 2""",
        "indexes": """SELECT tablename, indexname, regexp_replace(indexdef, ' ON \\S+\\.', ' ON ')
                      FROM pg_indexes WHERE schemaname = %s ORDER BY 2""",
        "triggers": """SELECT event_object_table, trigger_name, action_timing, event_manipulation
                       FROM information_schema.triggers WHERE trigger_schema = %s ORDER BY 2, 1, 4""",
        "functions": """SELECT proname, pg_get_function_identity_arguments(oid) FROM pg_proc
                        WHERE pronamespace = %s::regnamespace ORDER BY 1""",
        "migrations": None,
    }
    out = {}
    with conn.cursor() as cursor:
        for name, sql in queries.items():
            if sql is None:
                cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY 1, 2')
            else:
                cursor.execute(sql, [schema])
            rows = cursor.fetchall()
            out[name] = [tuple(str(c).replace(f"{schema}.", "") for c in row) for row in rows]
    return out


@OWNER
def test_replayed_schema_equals_a_migrated_one(w):
    owner = connections["owner"]
    school = School.objects.get(pk=w.school_a)
    with owner.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated_probe"')
    provisioning._enter("migrated_probe", owner)
    try:
        provisioning._migrate_current_schema(provisioning.migration_head(), owner)
    finally:
        owner.set_schema_to_public()
    replayed, migrated = _catalog(school.schema_name, owner), _catalog("migrated_probe", owner)
    assert replayed["columns"] and replayed["triggers"] and replayed["functions"]
    assert replayed == migrated


def test_csv_provisioning_creates_every_school(w, tmp_path):
    f = tmp_path / "schools.csv"
    f.write_text(
        "code,name,levels,unit_code,slug\n"
        "99100001,Trường Tiểu học Một,Tiểu học,99-AT,th-mot\n"
        '99100002,Trường TH và THCS Hai,"Tiểu học, THCS",99-BM,th-thcs-hai\n'
        "99100003,Trường THPT Ba,THPT,99,thpt-ba\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("provision_schools", str(f), stdout=out)
    assert "3 created, 0 failed" in out.getvalue()
    two = School.objects.get(moet_code="99100002")
    assert two.levels == ["primary", "lower_secondary"]
    assert Domain.objects.get(tenant=two).domain == "th-thcs-hai.hocba.localhost"
    assert {"s_th_mot", "s_th_thcs_hai", "s_thpt_ba"} <= _schemas()


def test_failing_rows_are_reported_and_leave_nothing(w, tmp_path):
    f = tmp_path / "schools.csv"
    f.write_text(
        "code,name,levels,unit_code,slug\n"
        "99200001,Trường Tốt,THCS,99-AT,thcs-tot\n"
        "99000001,Trùng mã,THCS,99-AT,thcs-trung-ma\n"  # duplicate code
        "99200003,Trùng miền,THCS,99-AT,thcs-an-thanh\n"  # duplicate slug
        "99200004,Đơn vị lạ,THCS,XX-00,thcs-don-vi-la\n"  # unknown unit
        "99200005,Sai miền,THCS,99-AT,Sai_Mien!\n"  # invalid slug
        "99200006,Sai cấp,Đại học,99-AT,thcs-sai-cap\n",  # invalid level
        encoding="utf-8",
    )
    before_schemas = _schemas()
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("provision_schools", str(f), "--create-valid", stdout=io.StringIO(), stderr=err)
    text = err.getvalue()
    for line in ("dòng 3", "dòng 4", "dòng 5", "dòng 6", "dòng 7"):
        assert line in text
    assert "đã tồn tại" in text and "Không tìm thấy đơn vị" in text and "không hợp lệ" in text
    assert set(School.objects.filter(moet_code__startswith="992").values_list("moet_code", flat=True)) == {"99200001"}
    assert _schemas() - before_schemas == {"s_thcs_tot"}


def test_xlsx_provisioning(w, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "levels", "unit_code", "slug"])
    ws.append(["99300001", "Trường THCS Excel", "THCS", "99-BM", "thcs-excel"])
    path = tmp_path / "schools.xlsx"
    wb.save(path)
    report = school_services.schools_provision(actor=None, rows=school_services.read_school_rows(path))
    assert report.created == 1 and not report.failed
    assert SchoolPlacement.objects.get(school__moet_code="99300001").unit_id == w.unit_b


def test_file_with_missing_columns_is_refused(w, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("code,name\n1,x\n", encoding="utf-8")
    with pytest.raises(DomainError) as info:
        school_services.read_school_rows(f)
    assert info.value.code == "provision.missing_columns"
    assert "unit_code" in info.value.as_dict()["detail"]


def test_broken_xlsx_is_refused(w, tmp_path):
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"not a workbook")
    with pytest.raises(DomainError) as info:
        school_services.read_school_rows(f)
    assert info.value.code == "provision.bad_file"


@pytest.mark.parametrize("slug", ["a", "-abc", "abc-", "có-dấu", "a b c", "x" * 41])
def test_invalid_slugs(w, slug):
    with pytest.raises(DomainError):
        school_services.school_create(
            actor=None,
            code=f"slug-{len(slug)}",
            name="X",
            levels="THCS",
            unit=AdministrativeUnit.objects.get(pk=w.unit_a),
            slug=slug,
        )


@pytest.mark.parametrize("name", ["public", "pg_catalog", "school_template", "1abc", "a;drop", ""])
def test_invalid_schema_names(name):
    with pytest.raises(DomainError):
        provisioning.validate_schema_name(name)


@OWNER
def test_schemas_behind_and_migrate_schools(w):
    owner = connections["owner"]
    school = School.objects.get(pk=w.school_b)
    head = provisioning.migration_head()
    assert provisioning.schemas_behind([school.schema_name], head, using="owner") == []
    with owner.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{school.schema_name}".django_migrations WHERE app = %s AND name = %s', list(head.targets[-1])
        )
    behind = provisioning.schemas_behind([school.schema_name, "no_such_schema"], head, using="owner")
    assert behind == [school.schema_name, "no_such_schema"]
    with owner.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{school.schema_name}".django_migrations (app, name, applied) VALUES (%s, %s, now())',
            list(head.targets[-1]),
        )
    assert provisioning.schemas_behind([school.schema_name], head, using="owner") == []


def test_migrate_schools_check_reports_every_school_at_head(w):
    out = io.StringIO()
    call_command("migrate_schools", "--check", stdout=out)
    assert "0 behind" in out.getvalue()


def test_migrations_need_the_owner(w):
    with pytest.raises(CommandError) as info:
        call_command("migrate_schools", stdout=io.StringIO())
    assert "owner" in str(info.value)


@OWNER
def test_a_failed_migration_is_recorded_and_the_school_stays(w):
    owner = connections["owner"]
    school = School.objects.get(pk=w.school_b)
    with owner.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{school.schema_name}".django_migrations WHERE app = %s', ["schools"])
    # The tables still exist, so re-running the initial migration fails and changes nothing.
    schema, error = provisioning.migrate_one(school.schema_name, using="owner")
    assert error
    school = School.objects.using("owner").get(pk=w.school_b)
    assert school.schema_error and school.schema_head == ""
    with owner.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{school.schema_name}".schools_assessment')
        assert cursor.fetchone()[0] == 0


def test_a_stopped_run_starts_no_school():
    """``stop()`` true before the first school: nothing is touched, every school is left for the next run.
    (Signals to a real run, and a killed one: ``test_migrate_interrupt``.)"""
    for workers in (1, 2):
        with pytest.raises(provisioning.MigrationInterrupted) as info:
            provisioning.migrate_schools(["s_one", "s_two", "s_three"], workers=workers, stop=lambda: True)
        assert info.value.not_started == ["s_one", "s_two", "s_three"] and info.value.failures == {}
        assert info.value.reason == "stopped"


def test_template_is_captured_once_per_head(w):
    first = provisioning.template_current()
    assert provisioning.template_current().pk == first.pk
    assert "CREATE TABLE" in first.script and "django_migrations" in first.script
    statements = [line.strip().lower() for line in first.script.split(";\n")]
    assert not [st for st in statements if st.startswith("set search_path")]


def test_provision_bad_encoding(w, tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes(b"code,name,levels,unit_code,slug\n1,Tr\xf0\xe9ng,THCS,99-AT,abc\n")
    with pytest.raises(DomainError) as info:
        school_services.read_school_rows(f)
    assert info.value.code == "provision.bad_encoding"


def test_files_are_read_by_extension(w, tmp_path):
    f = tmp_path / "schools.txt"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(DomainError) as info:
        school_services.read_school_rows(Path(f))
    assert info.value.code == "provision.bad_type"
