"""Accent-insensitive search (issue 11): people type Vietnamese without accents; "nguyen du" finds "Nguyễn Du" on
every surface where a name is searched, through a folded ``search_name`` column kept current on save and filled
by the migrations."""

from __future__ import annotations

import importlib
import unicodedata

import pytest
from django.apps import apps
from django.db import connection, connections, transaction
from hocba.kernel.text import fold

from schools.models import Student
from schools.services.common import system_access
from schools.services.students import student_enrol
from tenants.models import Account, School, UnitVersion
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, page_text


class _Undo(Exception):
    pass


def test_fold_drops_case_tones_letter_marks_and_d_bar():
    assert fold("Nguyễn Du") == "nguyen du"
    assert fold("ĐẶNG  Thị   Ước") == "dang thi uoc"
    assert fold(unicodedata.normalize("NFD", "Hoàng Minh Đức")) == "hoang minh duc"  # the decomposed spelling too
    assert fold("Lê Quý Đôn") == fold("le quy don") == "le quy don"
    assert fold("") == ""


def _student(klass, name: str) -> int:
    return student_enrol(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        today=klass.school_class.year.starts_on,
        profile={"full_name": name, "date_of_birth": "05/03/2014", "gender": "M"},
    ).pk


def test_a_student_keeps_the_folded_name_on_every_save(klass):
    pk = _student(klass, "Nguyễn Du")
    assert Student.objects.get(pk=pk).search_name == "nguyen du"
    student = Student.objects.get(pk=pk)
    student.full_name = "Nguyễn Văn Đức"
    student.save(update_fields=["full_name"])
    assert Student.objects.filter(pk=pk).values_list("search_name", flat=True).get() == "nguyen van duc"


def test_the_history_page_finds_a_student_typed_without_accents(w, klass, login):
    pk = _student(klass, "Nguyễn Du")
    principal = login("principal_a", SCHOOL_A_HOST)
    for typed in ("nguyen du", "NGUYEN DU", "Nguyễn Du", "nguyên du"):
        body = principal.get("/history/", {"q": typed}).content.decode()
        assert f'<li><a href="?student={pk}">' in body, typed
    assert f'<li><a href="?student={pk}">' not in principal.get("/history/", {"q": "nguyen duc"}).content.decode()


def test_no_foreign_school_student_is_found(w, klass, login):
    _student(klass, "Nguyễn Du")
    connection.set_schema_to_public()
    principal_b = login("principal_b", SCHOOL_B_HOST)
    body = page_text(principal_b.get("/history/", {"q": "nguyen du"}))
    assert "Nguyễn Du" not in body


def test_the_school_list_finds_schools_and_units_without_accents(w, login):
    admin = login("province_admin")
    found = page_text(admin.get("/manage/schools/", {"q": "thcs an thanh"}))
    assert "Trường THCS An Thạnh" in found and "Trường THCS Bình Minh" not in found
    by_unit = page_text(admin.get("/manage/schools/", {"q": "phuong binh minh"}))
    assert "Trường THCS Bình Minh" in by_unit and "Trường THCS An Thạnh" not in by_unit
    by_code = page_text(admin.get("/manage/schools/", {"q": "99000002"}))
    assert "Trường THCS Bình Minh" in by_code and "Trường THCS An Thạnh" not in by_code
    # A unit's staff only ever see their own schools, whatever they search.
    unit_b = page_text(login("unit_b_admin").get("/manage/schools/", {"q": "truong thcs"}))
    assert "Trường THCS Bình Minh" in unit_b and "Trường THCS An Thạnh" not in unit_b


def test_public_names_are_kept_folded(w):
    assert School.objects.get(pk=w.school_a).search_name == "truong thcs an thanh"
    assert UnitVersion.objects.get(unit_id=w.unit_b, valid_to__isnull=True).search_name == "phuong binh minh"
    account = w.account("teacher_a")
    account.full_name = "Trần Đình Ước"
    account.save(update_fields=["full_name"])
    assert Account.objects.filter(pk=account.pk).values_list("search_name", flat=True).get() == "tran dinh uoc"


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_operator_admin_search_ignores_accents(w, client):
    from tests.support import client_for

    operator = Account.objects.create_superuser("op_search", "op_search@example.vn", "x")
    account = w.account("teacher_a")
    account.full_name = "Nguyễn Du"
    account.save()
    from tests.support import give_totp

    give_totp(operator)
    admin = client_for(operator)
    body = page_text(admin.get("/admin/tenants/account/", {"q": "nguyen du"}))
    assert "teacher_a" in body and "teacher_b" not in body


def test_the_public_migration_fills_the_column(w):
    migration = importlib.import_module("tenants.migrations.0013_name_search")
    School.objects.filter(pk=w.school_b).update(search_name="")
    migration.fill(apps, type("Editor", (), {"connection": connection})())
    assert School.objects.get(pk=w.school_b).search_name == "truong thcs binh minh"


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_school_migration_fills_the_column_past_a_refusing_guard_without_an_audit_entry(w):
    """As migrate_schools runs it (the owner): the window guard's and the audit's update triggers are off for the
    fill only — a derived column is not a change anyone made — and on again afterwards."""
    owner = connections["owner"]
    owner.set_schema(School.objects.get(pk=w.school_b).schema_name)
    migration = importlib.import_module("schools.migrations.0015_name_search")
    try:
        with pytest.raises(_Undo), transaction.atomic(using="owner"), owner.cursor() as cursor:
            cursor.execute(
                "INSERT INTO schools_student (full_name, sort_key, date_of_birth, gender, ethnicity, nationality,"
                " place_of_birth, address, guardians) VALUES ('Nguyễn Du', 'k', '2014-03-05', 'M', 'Kinh',"
                " 'Việt Nam', '', '', '[]'::jsonb) RETURNING id"
            )
            pk = cursor.fetchone()[0]
            cursor.execute(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'locked' USING ERRCODE = 'HB423'; END $$;"
                " DROP TRIGGER window_upd ON schools_student;"
                " CREATE TRIGGER window_upd AFTER UPDATE ON schools_student"
                " FOR EACH STATEMENT EXECUTE FUNCTION test_refuse();"
            )
            cursor.execute("SELECT max(id) FROM schools_auditentry")
            before = cursor.fetchone()[0]
            migration.fill(apps, type("Editor", (), {"connection": owner})())
            cursor.execute("SELECT search_name FROM schools_student WHERE id = %s", [pk])
            assert cursor.fetchone()[0] == "nguyen du"
            cursor.execute("SELECT count(*) FROM schools_auditentry WHERE id > %s", [before])
            assert cursor.fetchone()[0] == 0
            cursor.execute(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'schools_student'::regclass"
                " AND tgname IN ('window_upd', 'audit_upd') ORDER BY tgname"
            )
            assert cursor.fetchall() == [("audit_upd", "O"), ("window_upd", "O")]  # on again
            raise _Undo
    finally:
        owner.set_schema_to_public()


def test_the_unit_list_finds_units_without_accents(w, login):
    def listed(client, **query) -> set[str]:
        return {r["node"].name for r in client.get("/manage/units/", query).context["rows"]}

    admin = login("province_admin")
    assert listed(admin, q="binh minh") == {"Phường Bình Minh"}
    assert listed(admin, q="99-AT") == {"Xã An Thạnh"}
    assert {"Phường Bình Minh", "Xã An Thạnh", "Sở GD&ĐT Thử nghiệm"} <= listed(admin)
    assert "Phường Bình Minh" in page_text(admin.get("/manage/units/", {"q": "binh minh"}))
    # Unit A's staff find only what they may see.
    assert listed(login("unit_a_admin"), q="binh minh") == set()
