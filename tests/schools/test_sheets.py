"""Grade sheets: whole-sheet save, all or nothing, constant queries, every path audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hocba.kernel.errors import DomainError

from schools.models import Assessment, AuditEntry
from schools.services.sheets import SheetInvalid, sheet_read, sheet_save


def _full(k, student_ids, value="7,5"):
    return [{"student": s, "column": c, "value": value} for s in student_ids for c in ("tx1", "tx2", "tx3", "tx4", "gk", "ck")]


def test_teacher_saves_a_sheet_and_sees_averages(w, klass):
    access = klass.access(w, "teacher_a")
    cells = _full(klass, klass.students[:1], "8") + [{"student": klass.students[1], "column": "tx1", "value": "6,5"}]
    result = sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=cells)
    assert result.written == 7
    assert result.sheet.computed[klass.students[0]]["term1"] == "8,0"
    assert result.sheet.values[(klass.students[1], "tx1")] == "6,5"
    assert Assessment.objects.get(student_id=klass.students[1], kind="tx", seq=1).score == Decimal("6.5")


@pytest.mark.parametrize("value,code", [("11", "sheet.score_out_of_range"), ("-1", "sheet.score_out_of_range"),
                                        ("abc", "sheet.not_a_number"), ("7,125", "sheet.score_too_many_decimals")])
def test_bad_values_name_the_cell_and_save_nothing(w, klass, value, code):
    access = klass.access(w, "teacher_a")
    cells = [{"student": klass.students[0], "column": "tx1", "value": "8"},
             {"student": klass.students[1], "column": "gk", "value": value}]
    with pytest.raises(SheetInvalid) as info:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=cells)
    error = info.value.errors[0]
    assert error["code"] == code and error["column"] == "gk" and "Trần Thị Bình" in error["detail"]
    assert not Assessment.objects.exists()


def test_score_in_a_comment_graded_subject_is_refused(w, klass):
    with pytest.raises(SheetInvalid) as info:
        sheet_save(access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=klass.pe, term=1,
                   cells=[{"student": klass.students[0], "column": "tx1", "value": "8"}])
    assert info.value.errors[0]["code"] == "sheet.comment_only"


def test_student_of_another_class_is_refused(w, klass):
    with pytest.raises(SheetInvalid) as info:
        sheet_save(access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=klass.math, term=1,
                   cells=[{"student": klass.other_students[0], "column": "tx1", "value": "8"}])
    assert info.value.errors[0]["code"] == "sheet.student_not_in_class"


def test_unassigned_subject_is_refused(w, klass):
    from schools.models import Subject

    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    with pytest.raises(DomainError) as info:
        sheet_save(access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=literature, term=1,
                   cells=[{"student": klass.students[0], "column": "tx1", "value": "8"}])
    assert info.value.code == "sheet.not_assigned" and info.value.http_status == 403


def test_queries_do_not_grow_with_students(w, klass, queries):
    access = klass.access(w, "teacher_a")
    with queries() as one:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_full(klass, klass.students[:1]))
    with queries() as six:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=2, cells=_full(klass, klass.students))
    assert len(one) == len(six) <= 10


def test_unchanged_cells_are_not_rewritten_and_every_statement_is_audited(w, klass):
    access = klass.access(w, "teacher_a")
    before = AuditEntry.objects.count()
    sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_full(klass, klass.students))
    again = sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_full(klass, klass.students))
    assert again.written == 0
    entries = list(AuditEntry.objects.filter(table_name="schools_assessment").order_by("id"))[-1:]
    assert AuditEntry.objects.count() == before + 1
    assert entries[0].operation == "INSERT" and entries[0].rows == 36 and entries[0].source


def test_clearing_a_cell_deletes_it(w, klass):
    access = klass.access(w, "teacher_a")
    sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1,
               cells=[{"student": klass.students[0], "column": "tx1", "value": "9"}])
    result = sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1,
                        cells=[{"student": klass.students[0], "column": "tx1", "value": ""}])
    assert result.cleared == 1 and not Assessment.objects.exists()


def test_students_in_vietnamese_order(w, klass):
    sheet = sheet_read(access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=klass.math, term=1)
    # By given name: An, Bình, Cường, Dung, Đức, Hà
    assert [s.full_name.split()[-1] for s in sheet.students] == ["An", "Bình", "Cường", "Dung", "Đức", "Hà"]
