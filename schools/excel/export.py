"""A class's workbook: one sheet per subject the person may read (terms I and II with their averages or
results, the year's), and a summary of the year (learning, conduct, title, promotion) for those who may
read every subject of the class. Headers in Vietnamese, frozen; fixed widths; scores with one decimal."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import NotAllowed
from hocba.kernel.levels import PRIMARY
from hocba.kernel.spreadsheets import (
    BORDER,
    MUTED_FONT,
    ONE_DECIMAL,
    TITLE_FONT,
    set_widths,
    sheet_title,
    style_header,
    xlsx_bytes,
)
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from ..access import SchoolAccess
from ..models import Assessment, Enrolment, Grading, SchoolClass, Student, Subject
from ..models.students import Gender
from ..rules.common import PassFail
from ..rules.tt22 import GRADINGS as TT22_GRADINGS
from ..services.results import YearResults, class_results, class_subjects, fmt_level, subject_term_results
from ..services.sheets import Column, sheet_columns
from .common import TERM_LABEL, score_value

SUMMARY = "Tổng hợp"
VERDICT_SHORT = {"D": "Đ", "CD": "CĐ"}
EXEMPT = "Miễn học"  # a result the student is exempted from (the workbook is written in Vietnamese)
EXIT_NOTE = {"transfer_out": "Đã chuyển đi", "dropped": "Thôi học", "class_move": "Đã chuyển lớp"}


def class_export(*, access: SchoolAccess, school_class: SchoolClass) -> bytes:
    subjects = class_subjects(school_class)
    all_ids = frozenset(s.pk for s in subjects)
    readable = access.readable_subject_ids(school_class.pk, all_ids)
    if not readable:
        raise NotAllowed(
            "excel.nothing_to_export",
            _("Bạn không được xem môn học nào của lớp %(class)s."),
            params={"class": school_class.name},
        )
    students = _students(school_class)
    ids = [s.pk for s in students]
    rows = Assessment.objects.filter(year_id=school_class.year_id, student_id__in=ids, subject_id__in=readable).values(
        "student_id", "subject_id", "term", "kind", "seq", "score", "verdict", "text"
    )
    by_subject: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_subject[r["subject_id"]][r["student_id"]].append(r)
    with translation.override("vi"):  # the record book's language, whatever the page's
        results = class_results(school_class, ids)
        wb = Workbook()
        used = {SUMMARY.casefold()}
        if readable == all_ids:
            _summary(wb.active, school_class, subjects, students, results)
        else:
            wb.remove(wb.active)
        for subject in subjects:
            if subject.pk in readable:
                ws = wb.create_sheet(sheet_title(subject.name, used))
                _subject_sheet(ws, school_class, subject, students, by_subject[subject.pk], results)
    return xlsx_bytes(wb)


def _students(school_class: SchoolClass) -> list[Student]:
    """Everyone who was in the class this year, in Vietnamese order; ``note`` says who has left."""
    enrolments = (
        Enrolment.objects.filter(school_class=school_class)
        .select_related("student")
        .order_by("student__sort_key", "student_id", "-starts_on")
    )
    out: dict[int, Student] = {}
    for e in enrolments:
        if e.student_id not in out:
            e.student.note = EXIT_NOTE.get(e.exit, "") if e.ends_on else ""
            out[e.student_id] = e.student
    return list(out.values())


def _title(ws: Worksheet, text: str, school_class: SchoolClass) -> None:
    ws.cell(row=1, column=1, value=text).font = TITLE_FONT
    ws.cell(
        row=2,
        column=1,
        value=f"Lớp {school_class.name} — Năm học {school_class.year.label} — "
        f"Xuất ngày {timezone.localdate():%d/%m/%Y}",
    ).font = MUTED_FONT
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = "1:4"


def _identity(student: Student, index: int) -> list[Any]:
    return [index, student.full_name, student.date_of_birth.strftime("%d/%m/%Y")]


def _put(ws: Worksheet, row: int, values: list[Any], number_columns: set[int]) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=value)
        cell.border = BORDER
        if col in number_columns and isinstance(value, float):
            cell.number_format = ONE_DECIMAL
            cell.alignment = Alignment(horizontal="right")
        elif col > 3 and not (isinstance(value, str) and len(value) > 20):
            cell.alignment = Alignment(horizontal="center")
        else:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _year_value(line, grading: str) -> Any:
    if not line or not line.year:
        return ""
    return score_value(line.year) if grading == Grading.SCORE else line.year


# --------------------------------------------------------------------------------------- summary


def _summary(
    ws: Worksheet,
    school_class: SchoolClass,
    subjects: list[Subject],
    students: list[Student],
    results: dict[int, YearResults],
) -> None:
    ws.title = SUMMARY
    primary = school_class.level == PRIMARY
    _title(ws, f"Tổng hợp kết quả cả năm — Lớp {school_class.name}", school_class)
    head = ["STT", "Họ và tên", "Ngày sinh", "Giới tính"] + [s.name for s in subjects]
    if primary:
        tail = ["Đánh giá cuối năm", "Khen thưởng", "Số buổi nghỉ", "Ghi chú"]
    else:
        tail = [
            "KQ học tập HK I",
            "KQ học tập HK II",
            "KQ học tập cả năm",
            "Rèn luyện HK I",
            "Rèn luyện HK II",
            "Rèn luyện cả năm",
            "Nghỉ có phép",
            "Nghỉ không phép",
            "Danh hiệu",
            "Lên lớp",
            "Môn kiểm tra lại",
            "Ghi chú",
        ]
    header_row = 4
    for col, text in enumerate(head + tail, start=1):
        ws.cell(row=header_row, column=col, value=text)
    style_header(ws, header_row, 1, len(head) + len(tail))
    ws.row_dimensions[header_row].height = 48
    widths = [5, 26, 11, 8] + [8] * len(subjects)
    widths += [16, 18, 10, 16] if primary else [10, 10, 10, 10, 10, 10, 8, 8, 14, 14, 18, 16]
    set_widths(ws, widths)
    numbers = {5 + i for i, s in enumerate(subjects) if s.grading == Grading.SCORE}
    genders = dict(Gender.choices)
    for i, student in enumerate(students, start=1):
        res = results.get(student.pk)
        lines = {line.subject_id: line for line in res.subjects} if res else {}
        values = _identity(student, i) + [str(genders.get(student.gender, student.gender))]
        values += [_year_value(lines.get(s.pk), s.grading) for s in subjects]
        if primary:
            values += [
                res.evaluation if res else "",
                "; ".join(res.commendations) if res else "",
                res.absences.get("total", 0) if res else 0,
                student.note,
            ]
        else:
            learning, conduct = (res.learning, res.conduct) if res else ({}, {})
            values += [
                learning.get("term1", ""),
                learning.get("term2", ""),
                learning.get("year", ""),
                conduct.get("term1", ""),
                conduct.get("term2", ""),
                conduct.get("year", ""),
                res.absences.get("excused", 0) if res else 0,
                res.absences.get("unexcused", 0) if res else 0,
                res.title if res else "",
                res.promotion if res else "",
                ", ".join(res.retest_subjects) if res else "",
                student.note,
            ]
        _put(ws, header_row + i, values, numbers)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)


# --------------------------------------------------------------------------------------- one subject


def _subject_sheet(
    ws: Worksheet,
    school_class: SchoolClass,
    subject: Subject,
    students: list[Student],
    rows: dict[int, list[dict]],
    results: dict[int, YearResults],
) -> None:
    tt22 = subject.grading in TT22_GRADINGS
    _title(ws, f"Môn {subject.name} — Lớp {school_class.name}", school_class)
    group_row, header_row = 3, 4
    layout: list[tuple[str, Any]] = []  # (kind of value, detail) per column after the identity
    heads: list[str] = []
    groups: list[tuple[str, int, int]] = []
    for term in (1, 2):
        start = 4 + len(layout)
        columns = [c for c in sheet_columns(subject, school_class, term) if c.kind != "nx"]
        for c in columns:
            layout.append(("cell", (term, c)))
            heads.append(c.label)
        if tt22:
            layout.append(("term_result", term))
            heads.append(
                f"ĐTBmhk {TERM_LABEL[term]}" if subject.grading == Grading.SCORE else f"KQ HK {TERM_LABEL[term]}"
            )
        layout.append(("comment", term))
        heads.append("Nhận xét")
        groups.append((f"Học kì {TERM_LABEL[term]}", start, 3 + len(layout)))
    layout.append(("year", None))
    heads.append("ĐTBmcn" if subject.grading == Grading.SCORE else "Cả năm")
    groups.append(("Cả năm", 3 + len(layout), 3 + len(layout)))
    all_heads = ["STT", "Họ và tên", "Ngày sinh"] + heads
    for col, text in enumerate(all_heads, start=1):
        ws.cell(row=header_row, column=col, value=text)
    for text, first, last in groups:
        ws.cell(row=group_row, column=first, value=text)
        if last > first:
            ws.merge_cells(start_row=group_row, start_column=first, end_row=group_row, end_column=last)
    for col in (1, 2, 3):
        ws.cell(row=group_row, column=col, value=all_heads[col - 1])
        ws.merge_cells(start_row=group_row, start_column=col, end_row=header_row, end_column=col)
    style_header(ws, group_row, 1, len(all_heads))
    style_header(ws, header_row, 1, len(all_heads))
    ws.row_dimensions[header_row].height = 30
    widths = [5, 26, 11] + [28 if kind == "comment" else 9 for kind, _d in layout]
    set_widths(ws, widths)
    numbers = {
        4 + i
        for i, (kind, detail) in enumerate(layout)
        if (kind == "cell" and detail[1].value_type == "score")
        or (kind in ("term_result", "year") and subject.grading == Grading.SCORE)
    }
    for i, student in enumerate(students, start=1):
        own = rows.get(student.pk, [])
        cells = {(r["term"], r["kind"], r["seq"]): r for r in own}
        line = (
            next((ln for ln in results[student.pk].subjects if ln.subject_id == subject.pk), None)
            if student.pk in results
            else None
        )
        exempt = frozenset(line.exempt) if line else frozenset()  # terms (and 0, the year) exempted: "Miễn học"
        computed = subject_term_results(subject, own, exempt - {0}) if tt22 else {}
        values = _identity(student, i)
        for kind, detail in layout:
            if kind == "cell":
                term, column = detail
                values.append(_cell_value(cells.get((term, column.kind, column.seq)), column))
            elif kind == "term_result":
                values.append(EXEMPT if detail in exempt else _result_value(computed.get(detail), subject.grading))
            elif kind == "comment":
                note = cells.get((detail, "nx", 0))
                values.append(note["text"] if note else "")
            elif 0 in exempt:
                values.append(EXEMPT)
            else:
                values.append(_result_value(computed.get(0), subject.grading) if tt22 else (line.year if line else ""))
        _put(ws, header_row + i, values, numbers)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)


def _cell_value(row: dict | None, column: Column) -> Any:
    if row is None:
        return ""
    if column.value_type == "score":
        return float(row["score"]) if row["score"] is not None else ""
    if column.value_type == "test":
        return int(row["score"]) if row["score"] is not None else ""
    return VERDICT_SHORT.get(row["verdict"], row["verdict"])


def _result_value(value: Any, grading: str) -> Any:
    if value is None:
        return ""
    if grading == Grading.SCORE:
        return float(value) if isinstance(value, Decimal) else value
    if isinstance(value, PassFail):
        return fmt_level(value)
    return str(value)
