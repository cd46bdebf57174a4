"""What the school's workbooks add to the shared spreadsheet helpers (``hocba.kernel.spreadsheets``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from hocba.kernel.spreadsheets import (
    MUTED_FONT,
    TITLE_FONT,
    XLSX_CONTENT_TYPE,
    Problem,
    as_int,
    cell_text,
    is_blank,
    limits,
    normalize,
    too_many_rows,
)
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

TERM_LABEL = {1: "I", 2: "II"}
GUIDE = "Hướng dẫn"

# The lines every template's guide ends with: (what, in Vietnamese, in English).
ALL_OR_NOTHING = (
    "Tất cả hoặc không",
    "HọcBạ kiểm tra mọi hàng trước. Nếu có một ô sai thì không lưu gì; trang kết quả chỉ rõ hàng, ô và lỗi để "
    "sửa rồi tải lên lại.",
    "Every row is checked first. If one cell is wrong nothing is saved; the report names the row, the cell and the "
    "problem so that you can fix it and upload again.",
)
LARGE_FILES = (
    "Tệp lớn",
    "Tệp nhiều hàng được xử lý nền: trang tiến độ hiện kết quả từng hàng khi xong. Vẫn là tất cả hoặc không.",
    "A file with many rows is processed in the background: a progress page shows each row's outcome when done. "
    "Still all or nothing.",
)


@dataclass(frozen=True)
class RowRead:
    """A student row of a class workbook that was read: its row in the file, whose it is, how many cells changed."""

    row: int
    name: str
    changed: int


def rows_read(students: list[tuple[int, str]], changed_rows: Iterable[int]) -> tuple[RowRead, ...]:
    """(row, name) of every student row read, with the rows of the changed cells: what each row brought."""
    counts = Counter(changed_rows)
    return tuple(RowRead(row, name, counts[row]) for row, name in students)


def data_sheets(wb: Any, meta: Mapping[str, str] | None) -> list[Any]:
    """The sheets an import looks for its header in: the one the template named first, then every other visible
    sheet but the guide (whose lines name the columns too)."""
    first = [wb[meta["sheet"]]] if meta and meta.get("sheet") in wb.sheetnames else []
    return first + [ws for ws in wb.worksheets if ws.sheet_state == "visible" and ws not in first and ws.title != GUIDE]


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    """A workbook to download (pages and API alike); never cached: it holds students' personal data."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def data_row_count(ws: Any, header_row: int) -> int:
    """The rows under the header holding a value, within the kernel's row limit."""
    if ws.max_row - header_row > limits().rows:
        raise too_many_rows()
    return sum(1 for values in ws.iter_rows(min_row=header_row + 1, values_only=True) if not all(map(is_blank, values)))


def class_rows_guide(title: str, *, what: str, what_en: str) -> list[tuple[str, str, str]]:
    """The first lines of a class workbook's guide (a grade sheet, the qualities): the rows are the class's students,
    found by the hidden id; only ``what`` (Vietnamese) / ``what_en`` is to be filled in."""
    return [
        (
            "Cách nhập",
            f"Trang “{title}” đã có mọi học sinh của lớp, mỗi em một hàng, và những gì đã nhập. Chỉ sửa hoặc điền "
            f"{what}; không thêm, xoá hay sắp xếp lại hàng.",
            f"The “{title}” sheet lists every student of the class, one per row, with what is entered. Change or fill "
            f"only {what_en}; do not add, delete or sort rows.",
        ),
        (
            ID_HEADER,
            "Cột A (ẩn): mã của học sinh trong HọcBạ, để biết mỗi hàng là ai. Không sửa, không xoá.",
            "Column A (hidden): the student's id in HọcBạ. Do not change or delete it.",
        ),
        (
            f"STT, {NAME_HEADER}, Ngày sinh",
            "Để đối chiếu; Họ và tên phải khớp với mã học sinh (hàng bị sắp xếp lại sẽ bị từ chối).",
            "For reference; the name must match the id (rows sorted by hand are refused).",
        ),
    ]


def write_guide(wb: Workbook, *, title: str, title_en: str, lines: Iterable[tuple[str, str, str]]) -> None:
    """The "Hướng dẫn" sheet of a template: a title in Vietnamese and in English, then one row per column or rule
    — what (bold), how in Vietnamese, how in English (muted) — ending with the rules every import shares."""
    ws = wb.create_sheet(GUIDE)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 60
    ws.append([title])
    ws["A1"].font = TITLE_FONT
    ws.append([title_en])
    ws["A2"].font = MUTED_FONT
    ws.append([])
    for line in (*lines, ALL_OR_NOTHING, LARGE_FILES):
        ws.append(list(line))
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        row[0].font = Font(bold=True)
        row[2].font = MUTED_FONT


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


@dataclass(frozen=True)
class StudentRow:
    """A row of a class workbook whose student was found: its number, the student, the value columns' raw values
    ({key: value}), and how to report a problem of one of its cells."""

    row: int
    student: Any
    student_id: int
    values: dict[str, Any]
    problem: Callable[..., None]
    is_uncomputed: Callable[[int, Any], bool]

    def uncomputed_formula(self, column: int, value: Any, header: str) -> bool:
        """True, with the problem reported, when the cell holds a formula no program has computed (its value was
        never saved): the file must be opened and saved in Excel, or the values pasted."""
        if not self.is_uncomputed(column, value):
            return False
        self.problem(
            "excel.uncomputed_formula",
            _("%(name)s: ô có công thức chưa được tính; hãy mở và lưu tệp bằng Excel, hoặc dán giá trị."),
            {"name": self.student.full_name},
            column=column,
            header=header,
            student=self.student_id,
        )
        return True


class StudentRows:
    """The student rows of a class workbook's sheet under its header, as the grade sheet and the qualities imports
    read them: blank rows skipped; a row whose student is not found (``row_student``) reported and skipped. After
    the loop, ``count`` is the rows read, ``problems`` what was reported, ``read`` the (row, name) of each student
    found."""

    def __init__(
        self,
        upload: Any,
        ws: Any,
        header_row: int,
        fixed: Mapping[str, int],
        value_columns: Mapping[str, tuple[int, Any]],
        *,
        students: Mapping[int, Any],
        class_name: str,
        missing_id: str,
    ):
        self.upload, self.ws, self.header_row, self.fixed, self.value_columns = (
            upload,
            ws,
            header_row,
            fixed,
            value_columns,
        )
        self.students, self.class_name, self.missing_id = students, class_name, missing_id
        self.problems: list[Problem] = []
        self.read: list[tuple[int, str]] = []
        self.count = 0

    def __iter__(self) -> Iterator[StudentRow]:
        seen: dict[int, int] = {}
        ws, fixed = self.ws, self.fixed
        for row_cells in ws.iter_rows(min_row=self.header_row + 1, max_row=ws.max_row):
            by_col = {c.column: c.value for c in row_cells}
            r = row_cells[0].row
            raw_id, raw_name = by_col.get(fixed["id"]), by_col.get(fixed["name"])
            raw_values = {key: by_col.get(col) for key, (col, _column) in self.value_columns.items()}
            if is_blank(raw_id) and is_blank(raw_name) and all(is_blank(v) for v in raw_values.values()):
                continue
            self.count += 1

            def problem(code, message, params=None, *, column=None, header="", student=None, r=r):
                self.problems.append(
                    Problem(code, message, params or {}, row=r, column=column, header=header, student=student)
                )

            student = row_student(
                raw_id,
                raw_name,
                students=self.students,
                seen=seen,
                row=r,
                class_name=self.class_name,
                columns=fixed,
                missing_id=self.missing_id,
                problem=problem,
            )
            if student is None:
                continue
            self.read.append((r, student.full_name))
            yield StudentRow(
                r,
                student,
                as_int(raw_id),
                raw_values,
                problem,
                lambda col, value, r=r: self.upload.is_uncomputed_formula(ws.title, r, col, value),
            )
