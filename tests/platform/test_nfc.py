"""Text enters in NFC (issue 13): page forms, query strings, API bodies, imports; and the migrations that rewrite
what was stored before."""

from __future__ import annotations

import importlib
import io
import json
import unicodedata

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.http import HttpResponse, QueryDict
from django.test import RequestFactory
from hocba.kernel.middleware import NfcMiddleware
from hocba.kernel.text import nfc, nfc_table
from openpyxl import Workbook
from rest_framework.test import APIClient

from schools.models import AuditEntry, SchoolClass, Student
from schools.services.common import system_access
from schools.services.students import student_enrol
from tenants.models import School, UnitVersion, Window
from tests.support import SCHOOL_A_HOST, client_for

NAME = "Trường THCS Nguyễn Du"
NFD = unicodedata.normalize("NFD", NAME)


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def api(w, name: str, host: str = "hocba.localhost") -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def in_school_a(w) -> None:
    connection.set_tenant(School.objects.get(pk=w.school_a))


def test_the_two_spellings_differ_until_normalised():
    assert NFD != NAME and not is_nfc(NFD)
    assert nfc(NFD) == NAME
    assert nfc({"a": [NFD, (NFD, 1)], NFD: None, "n": 2}) == {"a": [NAME, (NAME, 1)], NAME: None, "n": 2}


def test_the_middleware_normalises_query_strings_and_form_posts():
    seen = {}

    def view(request):
        seen["get"], seen["post"] = request.GET.get("q"), request.POST.getlist("name")
        return HttpResponse()

    request = RequestFactory().post(f"/setup/?{QueryDict(mutable=True).urlencode()}q=" + NFD, {"name": [NFD, "x"]})
    NfcMiddleware(view)(request)
    assert seen == {"get": NAME, "post": [NAME, "x"]}


def test_a_page_form_stores_nfc_and_the_duplicate_check_sees_the_look_alike(w, klass):
    year = klass.school_class.year
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    url = f"/setup/years/{year.pk}/classes/new/"
    response = client.post(url, {"class-name": unicodedata.normalize("NFD", "6Ê1"), "class-grade": "6"})
    assert response.status_code == 302
    in_school_a(w)
    assert SchoolClass.objects.filter(year=year, name="6Ê1").count() == 1
    response = client.post(url, {"class-name": "6Ê1", "class-grade": "6"})
    assert response.status_code == 200 and "Lớp 6Ê1 đã có trong năm học này." in response.content.decode()
    in_school_a(w)
    assert SchoolClass.objects.filter(year=year).count() == 3


def test_the_json_api_stores_nfc_and_the_duplicate_check_sees_the_look_alike(w, klass):
    year = klass.school_class.year
    client = api(w, "principal_a", SCHOOL_A_HOST)
    url = f"/api/v1/years/{year.pk}/classes/"
    response = client.post(url, {"name": unicodedata.normalize("NFD", "7Ă2"), "grade": 7}, format="json")
    assert response.status_code == 201, response.content
    in_school_a(w)
    assert SchoolClass.objects.get(year=year, grade=7).name == "7Ă2"
    response = client.post(url, {"name": "7Ă2", "grade": 7}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "name", response.content
    in_school_a(w)
    assert SchoolClass.objects.filter(year=year, grade=7).count() == 1


def calendar_with_reason(reason: str, year: int) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["Loại dữ liệu", "Khối", "Mở lúc", "Khóa lúc", "Lý do"])
    ws.append(["conduct", "", f"05/09/{year} 07:00", f"31/05/{year + 1} 17:00", reason])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_import_stores_cell_text_in_nfc(w):
    year = 2025
    reason = "Kế hoạch của Phòng Giáo dục"
    content = calendar_with_reason(unicodedata.normalize("NFD", reason), year)
    response = api(w, "unit_a_admin").post(
        "/api/v1/windows/import/",
        {"unit_id": w.unit_a, "year_start": year, "file": SimpleUploadedFile("lich.xlsx", content)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert Window.objects.get(unit_id=w.unit_a).reason == reason


def test_a_window_reason_sent_as_nfd_json_is_stored_nfc(w):
    response = api(w, "unit_a_admin").post(
        "/api/v1/windows/",
        {
            "unit_id": w.unit_a,
            "category": "conduct",
            "opens_at": "05/09/2025 07:00",
            "locks_at": "31/05/2026 17:00",
            "reason": NFD,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Window.objects.get(pk=response.json()["id"]).reason == NAME


# --- the migrations ---------------------------------------------------------------------------------------------


class _Editor:
    connection = connection


def test_the_public_migration_rewrites_nfd_names(w):
    School.objects.filter(pk=w.school_b).update(name=NFD)
    migration = importlib.import_module("tenants.migrations.0011_nfc_texts")
    migration.normalise(apps, _Editor())
    assert School.objects.get(pk=w.school_b).name == NAME
    assert School.objects.get(pk=w.school_a).name == "Trường THCS An Thạnh"  # untouched


def test_the_school_migration_rewrites_nfd_names_and_the_audit_chain_says_so(w, klass):
    student = student_enrol(
        access=system_access(klass.school.pk),
        school_class=klass.school_class,
        today=klass.school_class.year.starts_on,
        profile={
            "full_name": unicodedata.normalize("NFD", "Đặng Thị Ánh"),
            "date_of_birth": "05/03/2014",
            "gender": "F",
        },
    )
    assert not is_nfc(Student.objects.get(pk=student.pk).full_name)
    before = AuditEntry.objects.count()
    with connection.cursor() as cursor:
        # As the application's role: the window guard's trigger stays (only the owner may switch it off).
        assert nfc_table(cursor, "schools_student", ["full_name", "place_of_birth"], note="test") == 1
        assert nfc_table(cursor, "schools_student", ["full_name"], note="test") == 0  # nothing left: untouched
    assert Student.objects.get(pk=student.pk).full_name == "Đặng Thị Ánh"
    entries = list(AuditEntry.objects.order_by("id")[before:])
    assert [(e.operation, e.table_name, e.source, e.request_id) for e in entries] == [
        ("UPDATE", "schools_student", "migration", "test")
    ]


def test_a_public_page_form_stores_a_unit_name_in_nfc(w):
    name = "Phường Nguyễn Du"
    response = client_for(w.account("province_admin")).post(
        "/manage/units/new/",
        {
            "kind": "ward",
            "name": unicodedata.normalize("NFD", name),
            "official_code": "99-ND",
            "parent": str(w.province),
            "valid_from": "01/07/2025",
        },
    )
    assert response.status_code == 302, response.content
    assert UnitVersion.objects.get(official_code="99-ND").name == name


class _Undo(Exception):
    pass


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_school_migration_passes_a_refusing_window_guard_as_the_owner_and_puts_it_back(w):
    """As migrate_schools runs it (the owner): the window guard's update trigger is off for the normalising statement
    only — here a guard that refuses every update, as a locked year's would — and on again afterwards; the audit
    trigger stays on and records the rewrite as the migration's."""
    owner = connections["owner"]
    owner.set_schema(School.objects.get(pk=w.school_b).schema_name)
    migration = importlib.import_module("schools.migrations.0008_nfc_texts")
    try:
        with pytest.raises(_Undo), transaction.atomic(using="owner"), owner.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'locked' USING ERRCODE = 'HB423'; END $$;"
                " DROP TRIGGER window_upd ON schools_student;"
                " CREATE TRIGGER window_upd AFTER UPDATE ON schools_student"
                " FOR EACH STATEMENT EXECUTE FUNCTION test_refuse();"
            )
            cursor.execute(
                "INSERT INTO schools_student (full_name, sort_key, date_of_birth, gender, ethnicity, nationality,"
                " place_of_birth, address, guardians) VALUES (%s, 'k', '2014-03-05', 'F', 'Kinh', 'Việt Nam', %s, '',"
                " %s::jsonb)",
                [NFD, unicodedata.normalize("NFD", "Hà Nội"), json.dumps([{"full_name": NFD}], ensure_ascii=False)],
            )
            with pytest.raises(Exception, match="locked"), transaction.atomic(using="owner"):
                cursor.execute("UPDATE schools_student SET address = address")
            cursor.execute("SELECT max(id) FROM schools_auditentry")
            before = cursor.fetchone()[0]
            migration.normalise(apps, type("Editor", (), {"connection": owner})())
            cursor.execute(
                "SELECT full_name, place_of_birth, guardians::text FROM schools_student WHERE full_name LIKE 'Tr%%'"
            )
            assert cursor.fetchall() == [(NAME, "Hà Nội", json.dumps([{"full_name": NAME}], ensure_ascii=False))]
            cursor.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'schools_student'::regclass AND tgname = 'window_upd'"
            )
            assert cursor.fetchone()[0] == "O"  # on again
            cursor.execute(
                "SELECT table_name, operation, source, request_id FROM schools_auditentry WHERE id > %s", [before]
            )
            assert cursor.fetchall() == [("schools_student", "UPDATE", "migration", "schools.0008_nfc_texts")]
            raise _Undo
    finally:
        owner.set_schema_to_public()
