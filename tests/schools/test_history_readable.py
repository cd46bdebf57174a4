"""The school's history as people read it (issue 11): a sentence per change with names, not ids; dates dd/mm/yyyy;
frozen results as a small table; the source as people know it (the grade sheet's saves are the web page's, a
token client's the API's); filters, pages that stay short, the Excel export and who may have it."""

from __future__ import annotations

import io

from django.db import connection, transaction
from django.utils import timezone
from hocba.kernel import context
from openpyxl import load_workbook
from rest_framework.test import APIClient

from schools.audit.history import history
from schools.models import Absence, AuditEntry, Student
from schools.services.records import records_approve, records_submit
from schools.services.sheets import sheet_save
from schools.services.students import student_update
from schools.views.history import personal_hidden
from tests.schools.test_audit import _cells, acting
from tests.schools.test_excel import fill, sheet_urls, upload, workbook, xlsx
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, api_token_for, client_for, page_text


def _sheet(w, klass, students, value="8"):
    with acting(w, "teacher_a", "subject_teacher"):
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=_cells(students, value),
        )


def test_a_score_change_reads_as_a_sentence_with_names(w, klass):
    _sheet(w, klass, klass.students[:1])
    change = history(table="schools_assessment", limit=1).changes[0]
    assert change.sentence.startswith("Teacher A đã thêm điểm và nhận xét của học sinh Nguyễn Văn An (Toán · HKI")
    assert change.sentence.endswith("— qua trang web.")
    shown = {f.field: f.new for f in change.fields}
    assert shown["subject_id"] == "Toán" and shown["student_id"] == "Nguyễn Văn An"
    assert shown["year_id"] == "2025–2026" and shown["score"] == "8,0"


def test_a_profile_update_a_class_move_and_a_delete_read_as_sentences(w, klass):
    student = klass.students[1]
    with acting(w, "principal_a", "principal"), transaction.atomic():
        context.bind_to_transaction(connection)
        Absence.objects.create(student_id=student, year=klass.school_class.year, date="2025-10-02", excused=True)
        Absence.objects.filter(student_id=student).delete()
    inserted, deleted = sorted((c for c in history(table="schools_absence", limit=5).changes), key=lambda c: c.entry_id)
    assert inserted.sentence.startswith("Principal A đã thêm nghỉ học của học sinh Trần Thị Bình (02/10/2025)")
    assert deleted.sentence.startswith("Principal A đã xóa nghỉ học của học sinh Trần Thị Bình (02/10/2025)")
    assert {f.label: f.old for f in deleted.fields}["Có phép"] == "Có"
    student_row = history(table="schools_student", limit=50).changes[-1]
    assert "đã thêm hồ sơ học sinh" in student_row.sentence and "search_name" not in {
        f.field for f in student_row.fields
    }


def test_the_workflow_and_the_frozen_results_read_as_labels_and_a_table(w, klass):
    _sheet(w, klass, klass.students)
    with acting(w, "homeroom_a", "homeroom_teacher"):
        records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)
    with acting(w, "principal_a", "principal"):
        records_approve(
            access=klass.access(w, "principal_a"), school_class=klass.school_class, reason="Duyệt khi còn thiếu môn"
        )
    changes = history(student_id=klass.students[0], table="schools_recordbook", limit=5).changes
    approved, submitted = changes[:2]
    assert approved.sentence.startswith(
        "Principal A đã duyệt học bạ khi còn thiếu dữ liệu của học sinh Nguyễn Văn An (6A1)"
    )
    assert " đã trình học bạ của học sinh Nguyễn Văn An (6A1)" in submitted.sentence
    fields = {f.field: f for f in approved.fields}
    assert fields["approved_by"].new == "Principal A"  # a name, not an id
    assert "/" in fields["approved_at"].new and "T" not in fields["approved_at"].new  # HH:MM:SS dd/mm/yyyy
    results = dict(fields["results"].new_rows)
    assert results["Toán"].startswith("HKI: 8,0") and fields["results"].old_rows == ()


def test_a_whole_sheet_shows_a_few_rows_and_links_to_the_rest(w, klass, login):
    _sheet(w, klass, klass.students)
    page = history(table="schools_assessment", rows_per_entry=5, limit=20)
    assert len(page.changes) == 5 and page.changes[-1].more == len(klass.students) * 6 - 5
    entry = page.changes[0].entry_id
    whole = history(entry_id=entry, limit=10, page=2)
    assert len(whole.changes) == 10 and whole.has_next and {c.entry_id for c in whole.changes} == {entry}
    principal = login("principal_a", SCHOOL_A_HOST)
    body = principal.get("/history/").content.decode()
    assert f'href="?entry={entry}"' in body and "thay đổi khác trong cùng lần lưu" in body
    assert principal.get(f"/history/?entry={entry}&page=2").status_code == 200


def test_the_source_filter(w, klass, login):
    _sheet(w, klass, klass.students[:1])
    with acting(w, "teacher_a", "subject_teacher", source="import"):
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=2,
            cells=_cells(klass.students[:1], "7"),
        )
    imported = history(source="import", table="schools_assessment", limit=5).changes
    assert imported and {c.source_label for c in imported} == {"Nhập từ Excel"}
    body = page_text(login("principal_a", SCHOOL_A_HOST).get("/history/?source=import&table=schools_assessment"))
    assert "qua nhập từ Excel" in body and "qua trang web" not in body


def _put(client, klass, value, **headers):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
    cells = {"cells": [{"student": klass.students[0], "column": "tx1", "value": value}]}
    return client.put(url, cells, content_type="application/json", **headers)


def test_the_grade_sheet_page_saves_as_the_web_page_and_a_token_client_as_the_api(w, klass):
    page = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    assert _put(page, klass, "7", HTTP_X_HOCBA_PAGE="1", HTTP_SEC_FETCH_SITE="same-origin").status_code == 200
    assert AuditEntry.objects.filter(table_name="schools_assessment").latest("id").source == "web"
    # Without the page's mark, or from another site: the API.
    assert _put(page, klass, "6", HTTP_X_HOCBA_PAGE="1", HTTP_SEC_FETCH_SITE="cross-site").status_code == 200
    assert AuditEntry.objects.filter(table_name="schools_assessment").latest("id").source == "api"
    assert _put(page, klass, "5").status_code == 200
    assert AuditEntry.objects.filter(table_name="schools_assessment").latest("id").source == "api"
    # Origin alone (a browser without Sec-Fetch-Site) counts when it is the site itself.
    origin = f"http://{SCHOOL_A_HOST}"
    assert _put(page, klass, "6,5", HTTP_X_HOCBA_PAGE="1", HTTP_ORIGIN=origin).status_code == 200
    assert AuditEntry.objects.filter(table_name="schools_assessment").latest("id").source == "web"
    # A token client cannot claim to be the page.
    key = api_token_for(w.account("teacher_a"), f"school:{w.school_a}")
    token = APIClient(HTTP_HOST=SCHOOL_A_HOST)
    token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = token.put(
        f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/",
        {"cells": [{"student": klass.students[0], "column": "tx1", "value": "4"}]},
        format="json",
        HTTP_X_HOCBA_PAGE="1",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 200
    assert AuditEntry.objects.filter(table_name="schools_assessment").latest("id").source == "api"


def test_the_export_has_the_pages_rows_for_the_principal_only(w, klass, login):
    _sheet(w, klass, klass.students[:2])
    principal = login("principal_a", SCHOOL_A_HOST)
    response = principal.get("/history/export/?table=schools_assessment")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    header = values[3]
    assert header[:4] == ["Thời điểm", "Người thực hiện", "Vai trò", "Nguồn"]
    rows = values[4:]
    assert len(rows) == 2 * 6 and all(r[1] == "Teacher A" and r[3] == "Trang web" for r in rows)
    assert any("Nguyễn Văn An" in r[7] and "Toán" in r[7] for r in rows)
    assert all(r[0].endswith(f"{timezone.localdate():%d/%m/%Y}") for r in rows)
    assert principal.get("/history/export/?date_from=31/02/2026").status_code == 400
    assert login("teacher_a", SCHOOL_A_HOST).get("/history/export/").status_code == 403
    # Another school's principal, on their own address, sees their school's (empty) history only.
    connection.set_schema_to_public()
    theirs = login("principal_b", SCHOOL_B_HOST).get("/history/export/")
    assert theirs.status_code == 200
    text = " ".join(
        str(c) for row in load_workbook(io.BytesIO(theirs.content)).active.iter_rows(values_only=True) for c in row if c
    )
    assert "Nguyễn Văn An" not in text and "Toán" not in text
    assert login("principal_b", SCHOOL_A_HOST).get("/history/export/").status_code in (302, 403)


def test_history_pages_keep_a_constant_number_of_queries(w, klass, login, queries):
    principal = login("principal_a", SCHOOL_A_HOST)
    _sheet(w, klass, klass.students[:1])
    principal.get("/history/")
    with queries() as few:
        principal.get("/history/")
    _sheet(w, klass, klass.students, "9")
    with acting(w, "homeroom_a", "homeroom_teacher"):
        records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)
    with queries() as many:
        principal.get("/history/")
    assert len(few) == len(many)


def test_personal_data_shows_only_to_profile_keepers(w, klass, login):
    with acting(w, "clerk_a", "clerk"):
        student_update(
            access=klass.access(w, "clerk_a"),
            student=Student.objects.get(pk=klass.students[0]),
            profile={"address": "99 Đường Bí Mật"},
            today=klass.school_class.year.starts_on,
        )
    page = history(student_id=klass.students[0], table="schools_student", limit=1)
    assert {f.field: f.new for f in page.changes[0].fields}["address"] == "99 Đường Bí Mật"
    body = page_text(login("principal_a", SCHOOL_A_HOST).get(f"/history/?student={klass.students[0]}"))
    assert "99 Đường Bí Mật" in body  # the principal keeps every profile
    hidden = personal_hidden(page, frozenset())
    shown = {f.field: f.new for f in hidden.changes[0].fields}
    assert "99 Đường Bí Mật" not in str(shown) and shown["address"].startswith("(dữ liệu cá nhân")


def test_an_excel_import_reads_as_one(w, klass, login):
    template, url = sheet_urls(klass)
    teacher = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    wb = workbook(teacher.get(template))
    fill(wb.active)
    assert upload(teacher, url, xlsx(wb)).status_code == 200
    imported = history(table="schools_assessment", rows_per_entry=3, limit=1).changes
    assert imported[0].source_label == "Nhập từ Excel"
    assert imported[0].sentence.endswith("— qua nhập từ Excel.") and "Teacher A đã thêm điểm" in imported[0].sentence
    assert imported[-1].more == 37 - 3
