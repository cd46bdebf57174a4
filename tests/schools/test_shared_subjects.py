"""A subject taught by several teachers in one class (KHTN: Vật lí, Hoá học, Sinh học — Long An reg. art. 6.7): each
teacher enters the columns of their part, by every path (service, page, API, Excel import); one subject average; the
setup page and API share a subject out with validation; the record book names who taught which part."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hocba.kernel.errors import DomainError
from rest_framework.test import APIClient

from schools.compliance import unfinished_sheets
from schools.models import Assessment, Subject, TeachingAssignment
from schools.selectors import subject_teachers
from schools.services.common import system_access
from schools.services.setup import (
    AssignmentsInvalid,
    assignment_set,
    assignments_save,
    subject_parts_save,
    subject_update,
)
from schools.services.sheets import SheetInvalid, class_sheets_save, sheet_save
from tenants.models import School
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHYSICS = ["tx1", "tx2"]
CHEMISTRY = ["tx3"]
BIOLOGY = ["tx4", "gk", "ck", "nx"]  # the coordinator: the periodic assessments and the comment


def api(w, name: str, host: str = SCHOOL_A_HOST) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def in_school_a(w) -> None:
    connection.set_tenant(School.objects.get(pk=w.school_a))


def khtn() -> Subject:
    return Subject.objects.get(level="lower_secondary", code="khoa_hoc_tu_nhien")


def parts(w) -> list[dict]:
    return [
        {"teacher": w.accounts["teacher_a"], "part": "Vật lí", "columns": PHYSICS},
        {"teacher": w.accounts["dept_a"], "part": "Hoá học", "columns": CHEMISTRY},
        {"teacher": w.accounts["homeroom_a"], "part": "Sinh học", "columns": BIOLOGY},
    ]


@pytest.fixture
def shared(w, klass):
    """KHTN of 6A1 shared by three teachers."""
    subject = khtn()
    subject_parts_save(
        access=system_access(w.school_a), school_class=klass.school_class, subject=subject, parts=parts(w)
    )
    return subject


def _stored(klass, subject) -> list[tuple[int, str, list[str]]]:
    return sorted(
        TeachingAssignment.objects.filter(school_class=klass.school_class, subject=subject).values_list(
            "teacher_id", "part", "columns"
        )
    )


# --- setting a subject's parts ---------------------------------------------------------------------------------------


def test_parts_are_saved_and_listed_coordinator_first(w, klass, shared):
    assert _stored(klass, shared) == sorted(
        [
            (w.accounts["teacher_a"], "Vật lí", PHYSICS),
            (w.accounts["dept_a"], "Hoá học", CHEMISTRY),
            (w.accounts["homeroom_a"], "Sinh học", BIOLOGY),
        ]
    )
    listed = subject_teachers(klass.school_class, [shared.pk])[shared.pk]
    assert [(p.part, p.coordinator, p.column_labels) for p in listed] == [
        ("Sinh học", True, ("ĐĐGtx 4", "ĐĐGgk", "ĐĐGck", "Nhận xét")),
        ("Hoá học", False, ("ĐĐGtx 3",)),
        ("Vật lí", False, ("ĐĐGtx 1", "ĐĐGtx 2")),
    ]
    # The whole subject's teacher is one line, with no part.
    math = subject_teachers(klass.school_class, [klass.math.pk])[klass.math.pk]
    assert [(p.teacher_id, p.whole, p.coordinator) for p in math] == [(w.accounts["teacher_a"], True, True)]


@pytest.mark.parametrize(
    "change,code",
    [
        (lambda p: p[1].update(columns=["tx2"]), "assignments.column_twice"),
        (lambda p: p[1].update(columns=["tx3", "tx9"]), "assignments.unknown_column"),
        (lambda p: p[2].update(columns=["tx4", "gk", "ck"]), "assignments.column_unassigned"),
        (lambda p: p[0].update(part=""), "assignments.part_missing"),
        (lambda p: p[1].update(columns=[]), "assignments.columns_missing"),
        (lambda p: p[1].update(teacher=p[0]["teacher"]), "assignments.teacher_twice"),
        (lambda p: p[1].update(teacher=987654), "assignments.not_a_teacher"),
        (lambda p: p[0].update(part="x" * 61), "assignments.part_too_long"),
    ],
)
def test_bad_parts_are_refused_whole(w, klass, change, code):
    rows = parts(w)
    change(rows)
    with pytest.raises(AssignmentsInvalid) as info:
        subject_parts_save(
            access=system_access(w.school_a), school_class=klass.school_class, subject=khtn(), parts=rows
        )
    assert info.value.errors[0]["code"] == code and info.value.errors[0]["detail_en"]
    assert not TeachingAssignment.objects.filter(subject=khtn()).exists()


def test_a_teacher_of_another_school_is_refused(w, klass):
    rows = parts(w)
    rows[0]["teacher"] = w.accounts["teacher_b"]
    with pytest.raises(AssignmentsInvalid) as info:
        subject_parts_save(
            access=system_access(w.school_a), school_class=klass.school_class, subject=khtn(), parts=rows
        )
    assert info.value.errors[0]["code"] == "assignments.not_a_teacher"


def test_one_teacher_of_every_column_is_the_whole_subject_and_the_one_teacher_form_keeps_shared_subjects(
    w, klass, shared
):
    system = system_access(w.school_a)
    every = ["tx1", "tx2", "tx3", "tx4", "gk", "ck", "nx"]
    subject_parts_save(
        access=system,
        school_class=klass.school_class,
        subject=shared,
        parts=[{"teacher": w.accounts["dept_a"], "part": "", "columns": every}],
    )
    assert _stored(klass, shared) == [(w.accounts["dept_a"], "", [])]
    subject_parts_save(access=system, school_class=klass.school_class, subject=shared, parts=parts(w))
    # The one-teacher save: null leaves a shared subject as it is; a teacher makes it whole again.
    assignments_save(access=system, school_class=klass.school_class, rows=[{"subject": shared.pk, "teacher": None}])
    assert len(_stored(klass, shared)) == 3
    assignments_save(
        access=system, school_class=klass.school_class, rows=[{"subject": shared.pk, "teacher": w.accounts["dept_a"]}]
    )
    assert _stored(klass, shared) == [(w.accounts["dept_a"], "", [])]
    subject_parts_save(access=system, school_class=klass.school_class, subject=shared, parts=parts(w))
    assignment_set(access=system, school_class=klass.school_class, subject=shared, teacher_id=w.accounts["teacher_a"])
    assert _stored(klass, shared) == [(w.accounts["teacher_a"], "", [])]
    subject_parts_save(access=system, school_class=klass.school_class, subject=shared, parts=[])
    assert _stored(klass, shared) == []


# --- entering a shared subject's sheet ----------------------------------------------------------------------------


def _cells(students, columns, value="8"):
    return [{"student": s, "column": c, "value": value} for s in students for c in columns]


def test_each_teacher_enters_their_columns_and_the_average_is_one(w, klass, shared):
    c, s = klass.school_class, klass.students
    sheet_save(
        access=klass.access(w, "teacher_a"), school_class=c, subject=shared, term=1, cells=_cells(s, PHYSICS, "6")
    )
    sheet_save(
        access=klass.access(w, "dept_a"), school_class=c, subject=shared, term=1, cells=_cells(s, CHEMISTRY, "7")
    )
    result = sheet_save(
        access=klass.access(w, "homeroom_a"),
        school_class=c,
        subject=shared,
        term=1,
        cells=_cells(s, ["tx4", "gk", "ck"], "9") + [{"student": s[0], "column": "nx", "value": "Tiến bộ"}],
    )
    # ĐTBmhk = (6 + 6 + 7 + 9 + 2·9 + 3·9) / (4 + 5) = 73 / 9 = 8.1: the same rule as any subject (TT22).
    assert result.sheet.computed[s[0]]["term1"] == "8,1"
    assert Assessment.objects.filter(subject=shared, term=1).count() == 6 * 6 + 1  # six columns each, one comment


def test_a_column_of_another_part_is_refused_and_nothing_is_written(w, klass, shared):
    cells = _cells(klass.students[:2], ["tx1"]) + [{"student": klass.students[1], "column": "gk", "value": "7"}]
    with pytest.raises(SheetInvalid) as info:
        sheet_save(
            access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=shared, term=1, cells=cells
        )
    (error,) = info.value.errors
    assert error["code"] == "sheet.column_not_assigned" and error["column"] == "gk"
    assert "Trần Thị Bình — ĐĐGgk" in error["detail"] and "ĐĐGtx 1, ĐĐGtx 2" in error["detail"]
    assert "ĐĐGtx 1, ĐĐGtx 2" in error["detail_en"] and "another teacher" in error["detail_en"]
    assert not Assessment.objects.exists()
    # The whole-class save refuses it the same way.
    with pytest.raises(SheetInvalid):
        class_sheets_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            term=1,
            sheets=[{"subject": shared.pk, "cells": cells}],
        )
    assert not Assessment.objects.exists()


def test_the_leadership_enters_every_column_in_the_same_statements(w, klass, shared):
    cells = _cells(klass.students, ["tx1", "tx2"])
    with CaptureQueriesContext(connection) as part:
        sheet_save(
            access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=shared, term=1, cells=cells
        )
    with CaptureQueriesContext(connection) as whole:
        sheet_save(
            access=klass.access(w, "principal_a"),
            school_class=klass.school_class,
            subject=shared,
            term=2,
            cells=_cells(klass.students, ["tx1", "tx3", "gk"]),
        )
    assert len(part.captured_queries) == len(whole.captured_queries)
    assert Assessment.objects.filter(subject=shared, term=2).count() == 18


def test_api_refuses_a_column_of_another_part(w, klass, shared):
    url = f"/api/v1/classes/{klass.school_class.pk}/sheets/{shared.pk}/1/"
    response = api(w, "dept_a").put(url, {"cells": _cells(klass.students, ["tx3", "tx4"])}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "sheet.invalid" and {e["column"] for e in body["errors"]} == {"tx4"}
    assert {e["code"] for e in body["errors"]} == {"sheet.column_not_assigned"}
    in_school_a(w)
    assert not Assessment.objects.exists()
    response = api(w, "dept_a").put(url, {"cells": _cells(klass.students, ["tx3"])}, format="json")
    assert response.status_code == 200 and response.json()["written"] == 6


def test_sheet_page_shows_who_enters_which_columns_and_locks_the_others(w, klass, shared):
    html = page_text(
        client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(f"/classes/{klass.school_class.pk}/sheets/{shared.pk}/1/")
    )
    assert 'id="sheet-parts"' in html and "Vật lí" in html and "Sinh học" in html and "(điều phối)" in html
    s = klass.students[0]
    assert f'data-student="{s}" data-column="tx1"' in html
    tx1 = html.split(f'data-student="{s}" data-column="tx1"', 1)[1].split(">", 1)[0]
    gk = html.split(f'data-student="{s}" data-column="gk"', 1)[1].split(">", 1)[0]
    assert "readonly" not in tx1 and "readonly" in gk and "giáo viên khác" in gk
    # The whole subject's sheet has no parts box and no locked column.
    math = page_text(
        client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(
            f"/classes/{klass.school_class.pk}/sheets/{klass.math.pk}/1/"
        )
    )
    assert (
        'id="sheet-parts"' not in math and "readonly" not in math.split(f'data-student="{s}" data-column="gk"')[1][:300]
    )


def test_excel_import_refuses_a_column_of_another_part(w, klass, shared):
    base = f"/excel/classes/{klass.school_class.pk}/sheets/{shared.pk}/1"
    c = client_for(w.account("teacher_a"), SCHOOL_A_HOST)
    template = c.get(f"{base}.xlsx")
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    ws = wb.active
    header = {cell.value: cell.column for cell in ws[3] if cell.value}
    ws.cell(row=4, column=header["ĐĐGtx 1"]).value = 8
    ws.cell(row=4, column=header["ĐĐGck"]).value = 9

    def send():
        out = io.BytesIO()
        wb.save(out)
        upload = SimpleUploadedFile("khtn.xlsx", out.getvalue(), content_type=XLSX)
        return c.post(f"{base}/import/", {"file": upload}, HTTP_ACCEPT="application/json")

    refused = send()
    assert refused.status_code == 400, refused.content
    errors = refused.json()["errors"]
    assert [e["code"] for e in errors] == ["sheet.column_not_assigned"] and "ĐĐGck" in errors[0]["detail"]
    in_school_a(w)
    assert not Assessment.objects.exists()
    ws.cell(row=4, column=header["ĐĐGck"]).value = None
    accepted = send()
    assert accepted.status_code == 200, accepted.content
    in_school_a(w)
    assert list(Assessment.objects.values_list("kind", "seq", "score")) == [("tx", 1, Decimal("8.0"))]


# --- the setup page and API ---------------------------------------------------------------------------------------


def test_setup_api_reads_and_shares_a_subject(w, klass):
    subject = khtn()
    url = f"/api/v1/classes/{klass.school_class.pk}/assignments/{subject.pk}/parts/"
    client = api(w, "principal_a")
    empty = client.get(url).json()
    assert empty["parts"] == [] and [c["key"] for c in empty["columns"]] == [
        "tx1",
        "tx2",
        "tx3",
        "tx4",
        "gk",
        "ck",
        "nx",
    ]
    response = client.put(url, {"parts": parts(w)}, format="json")
    assert response.status_code == 200, response.content
    assert [(p["part"], p["coordinator"]) for p in response.json()["parts"]] == [
        ("Sinh học", True),
        ("Hoá học", False),
        ("Vật lí", False),
    ]
    listing = client.get(f"/api/v1/classes/{klass.school_class.pk}/assignments/").json()
    line = next(a for a in listing if a["subject"] == subject.pk)
    assert line["teacher"] is None and len(line["parts"]) == 3
    bad = parts(w)
    bad[0]["columns"] = ["tx1", "tx3"]
    refused = client.put(url, {"parts": bad}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "assignments.column_twice"
    in_school_a(w)
    assert len(_stored(klass, subject)) == 3 and (w.accounts["teacher_a"], "Vật lí", PHYSICS) in _stored(klass, subject)
    assert client.put(url, {"parts": "Vật lí"}, format="json").status_code == 400


@pytest.mark.parametrize("name", ["teacher_a", "homeroom_a", "clerk_a", "parent_a"])
def test_setup_parts_need_school_setup(w, klass, name):
    subject = khtn()
    pk = klass.school_class.pk
    assert (
        api(w, name)
        .put(f"/api/v1/classes/{pk}/assignments/{subject.pk}/parts/", {"parts": parts(w)}, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(w.account(name), SCHOOL_A_HOST)
        .get(f"/setup/classes/{pk}/assignments/{subject.pk}/parts/")
        .status_code
        == 403
    )
    in_school_a(w)
    assert not TeachingAssignment.objects.filter(subject=subject).exists()


def test_another_school_never_reaches_the_parts(w, klass, shared):
    pk = klass.school_class.pk
    url = f"/api/v1/classes/{pk}/assignments/{shared.pk}/parts/"
    assert api(w, "principal_b", SCHOOL_A_HOST).get(url).status_code == 403
    assert (
        client_for(w.account("principal_b"), SCHOOL_A_HOST)
        .get(f"/setup/classes/{pk}/assignments/{shared.pk}/parts/")
        .status_code
        == 403
    )
    # On school B's own address, school A's ids do not exist; nothing of school A's parts shows.
    response = api(w, "principal_b", SCHOOL_B_HOST).get(url)
    assert response.status_code == 404 and "Vật lí" not in response.content.decode()
    put = api(w, "principal_b", SCHOOL_B_HOST).put(url, {"parts": []}, format="json")
    assert put.status_code == 404
    in_school_a(w)
    assert len(_stored(klass, shared)) == 3


def _page_post(w, lines: dict[int, tuple[str, str]], owners: dict[str, int]) -> dict[str, str]:
    data = {}
    for n in (1, 2, 3, 4):
        name, part = lines.get(n, ("", ""))
        data[f"parts-teacher_{n}"] = str(w.accounts[name]) if name else ""
        data[f"parts-part_{n}"] = part
    for key, n in owners.items():
        data[f"parts-column_{key}"] = str(n)
    return data


def test_setup_page_shares_a_subject_with_one_choice_per_column(w, klass):
    subject = khtn()
    pk = klass.school_class.pk
    c = client_for(w.account("vice_a"), SCHOOL_A_HOST)
    url = f"/setup/classes/{pk}/assignments/{subject.pk}/parts/"
    html = page_text(c.get(url))
    assert 'name="parts-column_tx1"' in html and 'name="parts-teacher_3"' in html and "table-scroll" in html
    owners = {"tx1": 1, "tx2": 1, "tx3": 2, "tx4": 3, "gk": 3, "ck": 3, "nx": 3}
    lines = {1: ("teacher_a", "Vật lí"), 2: ("dept_a", "Hoá học"), 3: ("homeroom_a", "Sinh học")}
    # A column given to a line without a teacher: refused, nothing saved.
    missing = page_text(c.post(url, _page_post(w, {1: lines[1], 2: lines[2]}, owners)))
    assert "hãy chọn giáo viên" in missing
    in_school_a(w)
    assert not TeachingAssignment.objects.filter(subject=subject).exists()
    # A column nobody enters: the service's message.
    unowned = page_text(c.post(url, _page_post(w, lines, {k: n for k, n in owners.items() if k != "nx"})))
    assert "Cột Nhận xét chưa có giáo viên nhập" in unowned
    in_school_a(w)
    assert not TeachingAssignment.objects.filter(subject=subject).exists()
    response = c.post(url, _page_post(w, lines, owners))
    assert response.status_code == 302 and response["Location"] == f"/setup/classes/{pk}/#phan-cong"
    in_school_a(w)
    assert len(_stored(klass, subject)) == 3
    # The class page lists the shared subject apart from the one-teacher form, and the form leaves it alone.
    class_page = page_text(c.get(f"/setup/classes/{pk}/"))
    assert 'id="shared-subjects"' in class_page and f'name="assign-teacher_{subject.pk}"' not in class_page
    # The page shows the saved parts again.
    again = page_text(c.get(url))
    assert 'value="Hoá học"' in again and 'name="parts-column_tx3" value="2" checked' in again


# --- the record book and compliance ----------------------------------------------------------------------------------


def test_record_book_names_the_teachers_of_each_part(w, klass, shared):
    html = page_text(client_for(w.account("principal_a"), SCHOOL_A_HOST).get(f"/students/{klass.students[0]}/record/"))
    row = html.split(f'data-subject="{shared.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "(Vật lí)" in row and "(Hoá học)" in row and "(Sinh học)" in row
    math_row = html.split(f'data-subject="{klass.math.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'data-teacher="{w.accounts["teacher_a"]}"' in math_row and "(" not in math_row.split("teachers", 1)[1]


def test_a_shared_subject_is_one_unfinished_sheet_naming_the_teachers_behind(w, klass, shared):
    c, s = klass.school_class, klass.students
    sheet_save(access=klass.access(w, "teacher_a"), school_class=c, subject=shared, term=1, cells=_cells(s, PHYSICS))
    found = [x for x in unfinished_sheets(year_start=2025, category="scores_1") if x["subject_id"] == shared.pk]
    assert len(found) == 1
    assert found[0]["class_id"] == c.pk and found[0]["term"] == 1
    assert sorted(found[0]["teacher_ids"]) == sorted([w.accounts["dept_a"], w.accounts["homeroom_a"]])
    assert found[0]["filled"] == 12 and found[0]["required"] == 36


def test_a_curriculum_change_that_moves_a_shared_subjects_columns_is_refused(w, klass, shared):
    data = {
        "name": shared.name,
        "periods_per_year": 70,  # 3 regular assessments instead of 4: tx4 would vanish under Sinh học's teacher
        "grading": shared.grading,
        "grades": list(shared.grades),
        "department": shared.department_id,
        "has_periodic_test": False,
    }
    with pytest.raises(DomainError) as info:
        subject_update(access=system_access(w.school_a), subject=shared, data=data)
    assert info.value.code == "subjects.shared_columns" and "6A1" in str(info.value.as_dict()["detail"])
    assert Subject.objects.get(pk=shared.pk).periods_per_year == 140
    # A change that keeps the columns (the name, 100 periods: still four ĐĐGtx) is accepted.
    subject_update(
        access=system_access(w.school_a),
        subject=shared,
        data={**data, "name": "Khoa học tự nhiên (KHTN)", "periods_per_year": 100},
    )
    assert Subject.objects.get(pk=shared.pk).name == "Khoa học tự nhiên (KHTN)"
