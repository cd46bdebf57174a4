"""Grade sheets: whole-sheet save, all or nothing, constant queries, every path audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hocba.kernel.errors import DomainError

from schools.models import Assessment, AuditEntry
from schools.services.sheets import SheetInvalid, sheet_read, sheet_save


def _full(k, student_ids, value="7,5"):
    return [
        {"student": s, "column": c, "value": value}
        for s in student_ids
        for c in ("tx1", "tx2", "tx3", "tx4", "gk", "ck")
    ]


def test_teacher_saves_a_sheet_and_sees_averages(w, klass):
    access = klass.access(w, "teacher_a")
    cells = _full(klass, klass.students[:1], "8") + [{"student": klass.students[1], "column": "tx1", "value": "6,5"}]
    result = sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=cells)
    assert result.written == 7
    assert result.sheet.computed[klass.students[0]]["term1"] == "8,0"
    assert result.sheet.values[(klass.students[1], "tx1")] == "6,5"
    assert Assessment.objects.get(student_id=klass.students[1], kind="tx", seq=1).score == Decimal("6.5")


@pytest.mark.parametrize(
    "value,code",
    [
        ("11", "sheet.score_out_of_range"),
        ("-1", "sheet.score_out_of_range"),
        ("abc", "sheet.not_a_number"),
        ("7,125", "sheet.score_too_many_decimals"),
    ],
)
def test_bad_values_name_the_cell_and_save_nothing(w, klass, value, code):
    access = klass.access(w, "teacher_a")
    cells = [
        {"student": klass.students[0], "column": "tx1", "value": "8"},
        {"student": klass.students[1], "column": "gk", "value": value},
    ]
    with pytest.raises(SheetInvalid) as info:
        sheet_save(access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=cells)
    error = info.value.errors[0]
    assert error["code"] == code and error["column"] == "gk" and "Trần Thị Bình" in error["detail"]
    assert not Assessment.objects.exists()


def test_score_in_a_comment_graded_subject_is_refused(w, klass):
    with pytest.raises(SheetInvalid) as info:
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.pe,
            term=1,
            cells=[{"student": klass.students[0], "column": "tx1", "value": "8"}],
        )
    assert info.value.errors[0]["code"] == "sheet.comment_only"


def test_student_of_another_class_is_refused(w, klass):
    with pytest.raises(SheetInvalid) as info:
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=[{"student": klass.other_students[0], "column": "tx1", "value": "8"}],
        )
    assert info.value.errors[0]["code"] == "sheet.student_not_in_class"


def test_unassigned_subject_is_refused(w, klass):
    from schools.models import Subject

    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    with pytest.raises(DomainError) as info:
        sheet_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            subject=literature,
            term=1,
            cells=[{"student": klass.students[0], "column": "tx1", "value": "8"}],
        )
    assert info.value.code == "sheet.not_assigned" and info.value.http_status == 403


def test_queries_do_not_grow_with_students(w, klass, queries):
    access = klass.access(w, "teacher_a")
    with queries() as one:
        sheet_save(
            access=access,
            school_class=klass.school_class,
            subject=klass.math,
            term=1,
            cells=_full(klass, klass.students[:1]),
        )
    with queries() as six:
        sheet_save(
            access=access,
            school_class=klass.school_class,
            subject=klass.math,
            term=2,
            cells=_full(klass, klass.students),
        )
    assert len(one) == len(six) <= 10


def test_unchanged_cells_are_not_rewritten_and_every_statement_is_audited(w, klass):
    access = klass.access(w, "teacher_a")
    before = AuditEntry.objects.count()
    sheet_save(
        access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_full(klass, klass.students)
    )
    again = sheet_save(
        access=access, school_class=klass.school_class, subject=klass.math, term=1, cells=_full(klass, klass.students)
    )
    assert again.written == 0
    entries = list(AuditEntry.objects.filter(table_name="schools_assessment").order_by("id"))[-1:]
    assert AuditEntry.objects.count() == before + 1
    assert entries[0].operation == "INSERT" and entries[0].rows == 36 and entries[0].source


def test_clearing_a_cell_deletes_it(w, klass):
    access = klass.access(w, "teacher_a")
    sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "tx1", "value": "9"}],
    )
    result = sheet_save(
        access=access,
        school_class=klass.school_class,
        subject=klass.math,
        term=1,
        cells=[{"student": klass.students[0], "column": "tx1", "value": ""}],
    )
    assert result.cleared == 1 and not Assessment.objects.exists()


def test_students_in_vietnamese_order(w, klass):
    sheet = sheet_read(access=klass.access(w, "teacher_a"), school_class=klass.school_class, subject=klass.math, term=1)
    # By given name: An, Bình, Cường, Dung, Đức, Hà
    assert [s.full_name.split()[-1] for s in sheet.students] == ["An", "Bình", "Cường", "Dung", "Đức", "Hà"]


# --- several subjects of a class in one save -------------------------------------------------------------------


def _pe(k, student_ids, value="Đ"):
    from schools.services.sheets import sheet_columns

    keys = [c.key for c in sheet_columns(k.pe, k.school_class, 1) if c.value_type == "passfail"]
    return [{"student": s, "column": c, "value": value} for s in student_ids for c in keys]


def test_class_save_writes_every_subject_in_one_transaction(w, klass, queries):
    from schools.services.sheets import class_sheets_save

    access = klass.access(w, "teacher_a")
    with queries() as few:
        class_sheets_save(
            access=access,
            school_class=klass.school_class,
            term=1,
            sheets=[{"subject": klass.math.pk, "cells": _full(klass, klass.students[:1], "6")}],
        )
    with queries() as many:
        result = class_sheets_save(
            access=access,
            school_class=klass.school_class,
            term=2,
            sheets=[
                {"subject": klass.math.pk, "cells": _full(klass, klass.students, "8")},
                {"subject": klass.pe.pk, "cells": _pe(klass, klass.students)},
            ],
        )
    assert len(few) == len(many)  # neither students nor subjects add queries
    assert result.written == (6 + len(_pe(klass, klass.students[:1]))) * len(klass.students)
    math, pe = result.sheets
    assert (math.subject, pe.subject) == (klass.math, klass.pe)
    assert math.computed[klass.students[0]] == {"term1": "6,0", "term2": "8,0", "year": "7,3"}
    assert pe.values[(klass.students[0], "ck")] == "Đ" and pe.computed[klass.students[0]]["term2"] == "Đ"
    assert Assessment.objects.filter(term=2).count() == result.written


def test_class_save_with_one_bad_cell_saves_no_subject(w, klass):
    from schools.services.sheets import class_sheets_save

    with pytest.raises(SheetInvalid) as info:
        class_sheets_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            term=1,
            sheets=[
                {"subject": klass.math.pk, "cells": _full(klass, klass.students)},
                {
                    "subject": klass.pe.pk,
                    "cells": _pe(klass, klass.students[:2])
                    + [{"student": klass.students[2], "column": "gk", "value": "9"}],
                },
            ],
        )
    error = info.value.errors[0]
    assert (error["subject"], error["column"], error["code"]) == (klass.pe.pk, "gk", "sheet.comment_only")
    assert error["subject_name"] == klass.pe.name and len(info.value.errors) == 1
    assert not Assessment.objects.exists()


def test_class_save_refuses_a_subject_not_assigned_and_saves_nothing(w, klass):
    from schools.models import Subject
    from schools.services.sheets import class_sheets_save

    literature = Subject.objects.get(level="lower_secondary", code="ngu_van")
    with pytest.raises(DomainError) as info:
        class_sheets_save(
            access=klass.access(w, "teacher_a"),
            school_class=klass.school_class,
            term=1,
            sheets=[
                {"subject": klass.math.pk, "cells": _full(klass, klass.students)},
                {"subject": literature.pk, "cells": [{"student": klass.students[0], "column": "tx1", "value": "8"}]},
            ],
        )
    assert info.value.code == "sheet.not_assigned" and info.value.http_status == 403
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    "sheets,code",
    [
        ([], "sheet.malformed"),
        ([{"cells": []}], "sheet.malformed"),
        ("twice", "sheet.duplicate_subject"),
        ([{"subject": 10**9, "cells": []}], "school.not_found"),
    ],
)
def test_class_save_refuses_malformed_requests(w, klass, sheets, code):
    from schools.services.sheets import class_sheets_save

    if sheets == "twice":
        sheets = [{"subject": klass.math.pk, "cells": []}, {"subject": klass.math.pk, "cells": []}]
    with pytest.raises(DomainError) as info:
        class_sheets_save(access=klass.access(w, "teacher_a"), school_class=klass.school_class, term=1, sheets=sheets)
    assert info.value.code == code


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"cells": "x"},
        {"cells": [{"student": "a", "column": "tx1", "value": "8"}]},
        {"cells": [{"student": 1, "column": 3, "value": "8"}]},
        {"cells": [{"student": True, "column": "tx1", "value": "8"}]},
        {"cells": [{"student": 1, "column": "tx1", "value": ["8"]}]},
        {"cells": ["8"]},
    ],
)
def test_malformed_cells_are_refused_whole(payload):
    from schools.services.sheets import cells_from_payload

    with pytest.raises(DomainError) as info:
        cells_from_payload(payload)
    assert info.value.code == "sheet.malformed" and info.value.as_dict()["detail_en"]


def test_cells_accept_numbers_and_numeric_ids():
    from schools.services.sheets import cells_from_payload

    assert cells_from_payload(
        {"cells": [{"student": "7", "column": "tx1", "value": 8.5}, {"student": 8, "column": "gk", "value": None}]}
    ) == [{"student": 7, "column": "tx1", "value": "8.5"}, {"student": 8, "column": "gk", "value": None}]
