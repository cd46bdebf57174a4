"""What the school's workbooks add to the shared spreadsheet helpers (``hocba.kernel.spreadsheets``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.spreadsheets import as_int, cell_text, is_blank, normalize

TERM_LABEL = {1: "I", 2: "II"}


def score_value(display: str) -> float | str:
    """A stored score shown as "7,5" → the number 7.5 for a cell (Excel formats it with one decimal)."""
    try:
        return float(Decimal(display.replace(",", ".")))
    except ArithmeticError:
        return display


ID_HEADER = "Mã HS (không sửa)"
NAME_HEADER = "Họ và tên"


def row_student(
    raw_id: Any,
    raw_name: Any,
    *,
    students: Mapping[int, Any],
    seen: dict[int, int],
    row: int,
    class_name: str,
    columns: Mapping[str, int],
    missing_id: str,
    problem: Callable[..., None],
) -> Any | None:
    """The class's student a row of a class workbook stands for, or None after reporting why not through
    ``problem``: no id (``missing_id`` says what to do), an id not in the class, the student already on an earlier
    row, or a name that does not match the id (rows sorted or edited by hand). ``seen`` maps the students found so
    far to their rows; ``columns`` gives the "id" and "name" columns."""
    student_id = as_int(raw_id)
    student = students.get(student_id) if student_id is not None else None
    if is_blank(raw_id):
        problem("sheet.missing_student_id", missing_id, column=columns["id"], header=ID_HEADER)
        return None
    if student is None:
        if student_id is not None:
            message = _("mã học sinh %(id)s không thuộc lớp %(class)s.")
            params = {"id": student_id, "class": class_name}
        else:
            message, params = _("mã học sinh “%(value)s” không hợp lệ."), {"value": cell_text(raw_id)}
        problem("sheet.student_not_in_class", message, params, column=columns["id"], header=ID_HEADER)
        return None
    if student_id in seen:
        problem(
            "sheet.duplicate_student",
            _("học sinh %(name)s đã có ở hàng %(row)s."),
            {"name": student.full_name, "row": seen[student_id]},
            column=columns["id"],
            header=ID_HEADER,
            student=student_id,
        )
        return None
    seen[student_id] = row
    if normalize(raw_name) != normalize(student.full_name):
        problem(
            "sheet.name_mismatch",
            _(
                "họ tên “%(name)s” không khớp với mã học sinh %(id)s (%(student)s); có thể các hàng đã bị sắp "
                "xếp lại hoặc sửa nhầm. Không sửa cột Họ và tên."
            ),
            {"name": cell_text(raw_name), "id": student_id, "student": student.full_name},
            column=columns["name"],
            header=NAME_HEADER,
            student=student_id,
        )
        return None
    return student
