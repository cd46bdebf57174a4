"""Exemptions (miễn học, miễn học phần thực hành): recorded and revoked by the school's leadership and office, by
page and API; an exempt cell reads "Miễn" and refuses input on the page, the API and the Excel import; the subject is
left out of the learning result, titles and promotion; the record book prints "Miễn học"."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django.db import connection
from hocba.kernel.errors import DomainError
from rest_framework.test import APIClient

from schools.audit.history import history
from schools.models import Assessment, AuditEntry, Exemption, RecordBook, Subject
from schools.services import exemptions
from schools.services.results import class_results, class_subjects
from schools.services.sheets import SheetInvalid, sheet_read, sheet_save
from tests.schools.test_excel import client, headers, sheet_urls, upload, workbook, xlsx
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST

TODAY = dt.date(2025, 10, 1)


def api(w, name, host=SCHOOL_A_HOST):
    c = APIClient(HTTP_HOST=host)
    c.force_authenticate(w.account(name))
    return c


def _record(w, klass, who="principal_a", *, student=None, subject=None, term=None, part="subject", **fields):
    return exemptions.exemption_record(
        access=klass.access(w, who),
        school_class=klass.school_class,
        student_id=klass.students[0] if student is None else student,
        subject_id=(subject or klass.pe).pk,
        term=term,
        part=part,
        reason=fields.get("reason", "Sức khỏe: điều trị dài ngày, giấy chứng nhận của bệnh viện huyện"),
        decision_number=fields.get("decision_number", "15/QĐ-THCS"),
        decided_on=fields.get("decided_on", dt.date(2025, 9, 20)),
        today=TODAY,
    )


def _fill_all_but_pe(klass, student: int, score="8.0") -> None:
    """Every subject of the class for both terms — Đạt for those graded by comment — except physical education."""
    from schools.rules import tt22

    rows = []
    for subject in class_subjects(klass.school_class):
        if subject.pk == klass.pe.pk:
            continue
        n = tt22.regular_assessment_count(subject.periods_per_year)
        cells = [("tx", i) for i in range(1, n + 1)] + [("gk", 0), ("ck", 0)]
        for term in (1, 2):
            for kind, seq in cells:
                scored = subject.grading == "score"
                rows.append(
                    Assessment(
                        student_id=student,
                        subject=subject,
                        year_id=klass.school_class.year_id,
                        term=term,
                        kind=kind,
                        seq=seq,
                        score=score if scored else None,
                        verdict="" if scored else "D",
                    )
                )
    Assessment.objects.bulk_create(rows)


# --------------------------------------------------------------------------------- the service


def test_the_principal_records_a_decision_and_the_audit_keeps_it(w, klass):
    exemption = _record(w, klass)
    assert (exemption.term, exemption.part, exemption.recorded_by) == (None, "subject", w.accounts["principal_a"])
    entry = AuditEntry.objects.filter(table_name="schools_exemption").latest("id")
    assert entry.operation == "INSERT" and "15/QĐ-THCS" in entry.new_values
    (change,) = [c for c in history(student_id=klass.students[0]).changes if c.table == "schools_exemption"]
    assert change.table_label == "Miễn học" and change.description == "Giáo dục thể chất · Cả năm học · 15/QĐ-THCS"
    assert {f.label: f.new for f in change.fields}["Phạm vi miễn"] == "Miễn học cả môn"


@pytest.mark.parametrize("who", ["vice_a", "clerk_a"])
def test_the_leadership_and_the_office_record_decisions(w, klass, who):
    assert _record(w, klass, who).pk


@pytest.mark.parametrize("who", ["teacher_a", "homeroom_a", "parent_a"])
def test_a_teacher_or_a_parent_cannot_record_a_decision(w, klass, who):
    with pytest.raises(DomainError) as info:
        _record(w, klass, who)
    assert info.value.http_status == 403
    assert not Exemption.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"subject": "toan", "part": "practical"}, "exemption.exemption_no_practical_part"),  # TT22 art. 10
        ({"reason": "  "}, "exemption.bad_reason"),
        ({"decision_number": ""}, "exemption.bad_number"),
        ({"decided_on": dt.date(2025, 10, 2)}, "exemption.future_date"),
        ({"decided_on": None}, "exemption.bad_date"),
        ({"part": "half"}, "exemption.bad_part"),
        ({"term": 3}, "exemption.bad_term"),
    ],
)
def test_a_bad_decision_is_refused_in_both_languages_and_nothing_is_written(w, klass, fields, code):
    if "subject" in fields:
        fields["subject"] = Subject.objects.get(level="lower_secondary", code=fields["subject"])
    with pytest.raises(DomainError) as info:
        _record(w, klass, **fields)
    body = info.value.as_dict()
    assert body["code"] == code and body["detail"] and body["detail_en"] and body["detail"] != body["detail_en"]
    assert not Exemption.objects.exists()


def test_a_practical_part_exemption_of_physical_education_is_allowed(w, klass):
    assert _record(w, klass, part="practical", term=2).part == "practical"


@pytest.mark.parametrize(("first", "second"), [(None, 1), (1, None), (2, 2)])
def test_an_overlapping_decision_is_refused(w, klass, first, second):
    _record(w, klass, term=first)
    with pytest.raises(DomainError) as info:
        _record(w, klass, term=second, decision_number="16/QĐ-THCS")
    assert info.value.code == "exemption.overlap"
    assert Exemption.objects.count() == 1


def test_term_one_and_term_two_are_two_decisions(w, klass):
    _record(w, klass, term=1)
    _record(w, klass, term=2, decision_number="20/QĐ-THCS")
    assert Exemption.objects.count() == 2


def test_a_student_of_another_class_or_an_approved_record_is_refused(w, klass):
    with pytest.raises(DomainError) as info:
        _record(w, klass, student=klass.other_students[0])
    assert info.value.errors[0]["code"] == "class.student_not_in_class"
    RecordBook.objects.filter(student_id=klass.students[1]).update(state="approved")
    with pytest.raises(DomainError) as info:
        _record(w, klass, student=klass.students[1])
    assert info.value.errors[0]["code"] == "class.record_approved"
    assert not Exemption.objects.exists()


def test_revoking_deletes_the_decision_and_the_audit_keeps_it(w, klass):
    exemption = _record(w, klass)
    exemptions.exemption_revoke(
        access=klass.access(w, "clerk_a"), school_class=klass.school_class, exemption_id=exemption.pk
    )
    assert not Exemption.objects.exists()
    assert AuditEntry.objects.filter(table_name="schools_exemption").latest("id").operation == "DELETE"
    with pytest.raises(DomainError) as info:
        exemptions.exemption_revoke(
            access=klass.access(w, "clerk_a"), school_class=klass.school_class, exemption_id=exemption.pk
        )
    assert info.value.http_status == 404


# --------------------------------------------------------------------------------- the results


def test_an_exempt_subject_with_a_blank_cell_no_longer_holds_the_learning_result_back(w, klass):
    an = klass.students[0]
    _fill_all_but_pe(klass, an)
    before = class_results(klass.school_class, [an])[an]
    assert before.learning["year"] == ""  # physical education blank: never computed
    _record(w, klass)
    after = class_results(klass.school_class, [an])[an]
    assert after.learning == {"term1": "Tốt", "term2": "Tốt", "year": "Tốt"}
    pe = next(line for line in after.subjects if line.subject_id == klass.pe.pk)
    assert (pe.term1, pe.term2, pe.year, pe.exempt) == ("Miễn học", "Miễn học", "Miễn học", [1, 2, 0])


def test_an_exemption_in_term_one_only_leaves_the_year_to_term_two(w, klass):
    an = klass.students[0]
    _fill_all_but_pe(klass, an)
    _record(w, klass, term=1)
    result = class_results(klass.school_class, [an])[an]
    assert result.learning["term1"] == "Tốt" and result.learning["term2"] == ""  # term II: PE still to assess
    sheet_save(
        access=klass.access(w, "teacher_a"),
        school_class=klass.school_class,
        subject=klass.pe,
        term=2,
        cells=[{"student": an, "column": c, "value": "Đ"} for c in ("tx1", "tx2", "tx3", "gk", "ck")],
    )
    result = class_results(klass.school_class, [an])[an]
    pe = next(line for line in result.subjects if line.subject_id == klass.pe.pk)
    assert (pe.term1, pe.term2, pe.year) == ("Miễn học", "Đạt", "Đạt")
    assert result.learning["year"] == "Tốt"


def test_a_practical_part_exemption_keeps_the_subject_assessed(w, klass):
    an = klass.students[0]
    _fill_all_but_pe(klass, an)
    _record(w, klass, part="practical")
    result = class_results(klass.school_class, [an])[an]
    assert result.learning["year"] == ""  # assessed on theory: the blank cells still hold the result back
    pe = next(line for line in result.subjects if line.subject_id == klass.pe.pk)
    assert pe.exempt == [] and pe.practical_exempt == [1, 2]


def test_the_record_book_prints_mien_hoc(w, klass):
    an = klass.students[0]
    _fill_all_but_pe(klass, an)
    _record(w, klass)
    page = client(w, "principal_a").get(f"/students/{an}/record/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-subject="{klass.pe.pk}" data-exempt="1,2,0"' in text and "Miễn học" in text


def test_the_record_book_notes_a_practical_part_exemption(w, klass):
    an = klass.students[0]
    _record(w, klass, part="practical", term=1)
    text = client(w, "principal_a").get(f"/students/{an}/record/").content.decode()
    assert "Miễn học phần thực hành, đánh giá bằng nội dung lý thuyết (HK I)" in text


# ----------------------------------------------------------------------------------- the sheet


def test_the_sheet_marks_the_exempt_student_and_refuses_a_value(w, klass):
    an, binh = klass.students[:2]
    _record(w, klass, term=1)
    access = klass.access(w, "teacher_a")
    sheet = sheet_read(access=access, school_class=klass.school_class, subject=klass.pe, term=1)
    assert sheet.exempt == {an: "subject"} and sheet.computed[an]["term1"] == "Miễn"
    assert sheet_read(access=access, school_class=klass.school_class, subject=klass.pe, term=2).exempt == {}
    cells = [{"student": binh, "column": "tx1", "value": "Đ"}, {"student": an, "column": "tx1", "value": "Đ"}]
    with pytest.raises(SheetInvalid) as info:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.pe, term=1, cells=cells)
    error = info.value.errors[0]
    assert (error["code"], error["student"], error["column"]) == ("sheet.exempt", an, "tx1")
    assert "Nguyễn Văn An" in error["detail"] and "exempt" in error["detail_en"]
    assert not Assessment.objects.exists()  # all or nothing
    # Term II is not exempt; another subject neither.
    sheet_save(access=access, school_class=klass.school_class, subject=klass.pe, term=2, cells=cells)
    sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": an, "column": "tx1", "value": "9"}],
    )


def test_a_value_entered_before_the_decision_can_still_be_cleared(w, klass):
    an = klass.students[0]
    access = klass.access(w, "teacher_a")
    sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.pe,
        term=1,
        cells=[{"student": an, "column": "tx1", "value": "CĐ"}],
    )
    _record(w, klass)
    result = sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.pe,
        term=1,
        cells=[{"student": an, "column": "tx1", "value": ""}],
    )
    assert result.cleared == 1 and not Assessment.objects.exists()


def test_an_exemption_costs_no_query_per_cell(w, klass, queries):
    access = klass.access(w, "teacher_a")
    cells = [{"student": s, "column": "tx1", "value": "Đ"} for s in klass.students[1:]]
    with queries() as without:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.pe, term=1, cells=cells)
    for i, student in enumerate(klass.students):
        _record(w, klass, student=student, subject=klass.math, term=2, decision_number=f"{i}/QĐ")
    _record(w, klass, term=1)
    with queries() as exempt:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.pe, term=2, cells=cells)
    assert len(exempt) == len(without)


def test_the_page_shows_mien_and_no_input_for_the_exempt_student(w, klass):
    an = klass.students[0]
    _record(w, klass, term=1)
    _record(w, klass, student=klass.students[1], part="practical", decision_number="17/QĐ-THCS")
    text = client(w, "teacher_a").get(f"/classes/{klass.school_class.pk}/sheets/{klass.pe.pk}/1/").content.decode()
    row = text.split(f'<tr data-student="{an}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-exempt="true"' in row and "<input" not in row and ">Miễn<" in row
    practical = text.split(f'<tr data-student="{klass.students[1]}"', 1)[1].split("</tr>", 1)[0]
    assert "Miễn TH" in practical and "<input" in practical
    assert "Sức khỏe" not in text  # the reason is not on the sheet


def test_the_sheet_api_refuses_a_value_for_an_exempt_cell(w, klass):
    an = klass.students[0]
    _record(w, klass)
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{klass.pe.pk}/2/"
    teacher = api(w, "teacher_a")
    rows = {r["student"]: r for r in teacher.get(url).json()["rows"]}
    assert rows[an]["exempt"] == "subject" and rows[klass.students[1]]["exempt"] == ""
    assert "Sức khỏe" not in teacher.get(url).content.decode()
    response = teacher.put(url, {"cells": [{"student": an, "column": "ck", "value": "Đ"}]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["code"] == "sheet.exempt" and body["errors"][0]["detail_en"]
    assert not Assessment.objects.exists()


def test_the_excel_template_marks_the_exempt_cells_and_the_import_refuses_a_value(w, klass):
    an = klass.students[0]
    _record(w, klass)
    template, url = sheet_urls(klass, klass.pe)
    c = client(w, "teacher_a")
    wb = workbook(c.get(template))
    ws = wb.active
    cols = headers(ws, 3)
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=1).value == an)
    assert [ws.cell(row=row, column=cols[k]).value for k in ("ĐĐGtx 1", "ĐĐGck", "Nhận xét")] == ["Miễn"] * 3
    other = row + 1
    ws.cell(row=other, column=cols["ĐĐGtx 1"], value="Đ")
    # Uploaded with the marks left as they are: the other students' values are saved.
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 200, response.content
    assert response.json()["written"] == 1
    # A value typed over the mark is refused, naming the cell; nothing is saved.
    ws.cell(row=row, column=cols["ĐĐGgk"], value="Đ")
    ws.cell(row=other, column=cols["ĐĐGtx 2"], value="Đ")
    response = upload(c, url, xlsx(wb))
    assert response.status_code == 400
    error = next(e for e in response.json()["errors"] if e["code"] == "sheet.exempt")
    assert f"{openpyxl.utils.get_column_letter(cols['ĐĐGgk'])}{row}" in error["detail"]
    assert Assessment.objects.count() == 1


# ------------------------------------------------------------------------------ page and API


def test_the_page_lists_records_and_revokes(w, klass):
    url = f"/classes/{klass.school_class.pk}/exemptions/"
    c = client(w, "principal_a")
    assert c.get(url).status_code == 200
    response = c.post(
        url,
        {
            "student": klass.students[0],
            "subject": klass.pe.pk,
            "part": "subject",
            "term": "",
            "reason": "Sức khỏe",
            "decision_number": "15/QĐ-THCS",
            "decided_on": "20/09/2025",
        },
    )
    assert response.status_code == 302
    exemption = Exemption.objects.get()
    text = c.get(url).content.decode()
    assert "15/QĐ-THCS" in text and "20/09/2025" in text and "Sức khỏe" in text
    assert c.post(f"{url}{exemption.pk}/revoke/").status_code == 302
    assert not Exemption.objects.exists()


def test_the_page_names_a_refused_field_and_writes_nothing(w, klass):
    url = f"/classes/{klass.school_class.pk}/exemptions/"
    response = client(w, "principal_a").post(
        url,
        {
            "student": klass.students[0],
            "subject": klass.math.pk,
            "part": "practical",
            "term": "1",
            "reason": "Sức khỏe",
            "decision_number": "15/QĐ-THCS",
            "decided_on": "31/02/2025",
        },
    )
    assert response.status_code == 400 and "dd/mm/yyyy" in response.content.decode()
    assert not Exemption.objects.exists()


@pytest.mark.parametrize("who", ["teacher_a", "homeroom_a", "parent_a", "principal_b"])
def test_who_may_not_open_the_page(w, klass, who):
    assert client(w, who).get(f"/classes/{klass.school_class.pk}/exemptions/").status_code == 403


def test_the_api_records_lists_and_revokes(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/exemptions/"
    clerk = api(w, "clerk_a")
    body = {
        "student": klass.students[0],
        "subject": klass.pe.pk,
        "part": "practical",
        "term": 2,
        "reason": "Khuyết tật vận động",
        "decision_number": "21/QĐ-THCS",
        "decided_on": "01/09/2025",
    }
    created = clerk.post(url, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["decided_on"] == "01/09/2025" and created.json()["subject_name"] == klass.pe.name
    listed = clerk.get(url).json()
    assert [e["decision_number"] for e in listed] == ["21/QĐ-THCS"] and listed[0]["reason"] == "Khuyết tật vận động"
    again = clerk.post(url, body, format="json")
    assert again.status_code == 400 and again.json()["code"] == "exemption.overlap"
    assert clerk.delete(f"{url}{created.json()['id']}/").status_code == 204
    assert not Exemption.objects.exists()


def test_the_api_refuses_a_teacher_and_a_foreign_school(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/exemptions/"
    _record(w, klass)
    assert api(w, "teacher_a").get(url).status_code == 403
    assert api(w, "homeroom_a").post(url, {}, format="json").status_code == 403
    assert api(w, "principal_b", SCHOOL_A_HOST).get(url).status_code == 403
    assert api(w, "principal_b", SCHOOL_B_HOST).get(url).status_code == 404  # that id is not a class there
    connection.set_tenant(klass.school)
    assert Exemption.objects.count() == 1


def test_the_class_export_writes_mien_hoc(w, klass):
    an, binh = klass.students[:2]
    _record(w, klass, term=1)
    sheet_save(
        access=klass.access(w, "teacher_a"),
        school_class=klass.school_class,
        subject=klass.pe,
        term=2,
        cells=[
            {"student": s, "column": c, "value": "Đ"} for s in (an, binh) for c in ("tx1", "tx2", "tx3", "gk", "ck")
        ],
    )
    wb = workbook(client(w, "principal_a").get(f"/excel/classes/{klass.school_class.pk}/export.xlsx"))
    pe = wb["Giáo dục thể chất"]
    cols = headers(pe, 4)
    rows = {pe.cell(row=r, column=2).value: r for r in range(5, pe.max_row + 1)}
    values = [pe.cell(row=rows["Nguyễn Văn An"], column=cols[k]).value for k in ("KQ HK I", "KQ HK II", "Cả năm")]
    assert values == ["Miễn học", "Đạt", "Đạt"]  # exempt in term I only: the year is term II's
    other = [pe.cell(row=rows["Trần Thị Bình"], column=cols[k]).value for k in ("KQ HK I", "KQ HK II", "Cả năm")]
    assert other == [None, "Đạt", "Đạt"]
