"""A grade sheet (class × subject × term) as a workbook: the template with current values, and its import.

The template lists the class's students in Vietnamese order with a hidden column of their ids, and the
sheet's columns (``sheets.sheet_columns``) pre-filled. The import checks the file's shape and every row
(id known in the class, name matching the id, no duplicates), turns the cells into the service's
``[{"student", "column", "value"}]`` and calls ``sheets.sheet_save`` once: all cells or none.
Only the cells whose value differs from what is stored are sent, so an untouched row of an approved
record does not block the rest of the class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, Message
from hocba.kernel.spreadsheets import (
    BORDER,
    LOCKED_FILL,
    MUTED_FONT,
    ONE_DECIMAL,
    TEXT,
    TITLE_FONT,
    ImportFailed,
    Problem,
    cell_text,
    fail,
    find_header_row,
    header_keys,
    is_blank,
    limits,
    normalize,
    open_workbook,
    read_meta,
    set_widths,
    sheet_title,
    style_header,
    too_many_rows,
    write_meta,
    xlsx_bytes,
)
from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..access import SchoolAccess
from ..models import ExemptionPart, SchoolClass, Student, Subject
from ..services import sheets as sheet_services
from ..services.sheets import EXEMPT_MARK, VERDICTS_PF, Column, SaveResult, SheetInvalid
from .common import (
    ID_HEADER,
    NAME_HEADER,
    TERM_LABEL,
    RowRead,
    StudentRows,
    class_rows_guide,
    data_row_count,
    data_sheets,
    rows_read,
    score_value,
    write_guide,
)

KIND = "grade_sheet"
EXEMPT_CELL = "Miễn"  # the template is written in Vietnamese, as its headers
FIXED = (("id", ID_HEADER, 9), ("stt", "STT", 5), ("name", NAME_HEADER, 28), ("dob", "Ngày sinh", 12))
TITLE_ROW, INFO_ROW, HEADER_ROW = 1, 2, 3
FIRST_VALUE_COLUMN = len(FIXED) + 1
ID_KEYS = header_keys(ID_HEADER) | {"mã học sinh (không sửa)", "id"}
NAME_KEYS = header_keys(NAME_HEADER)
HINTS = {
    "score": ("Điểm 0–10, tối đa một chữ số thập phân (7,5 hoặc 7.5).", "Scores 0–10, one decimal at most."),
    "passfail": ("Môn đánh giá bằng nhận xét: Đ (Đạt) hoặc CĐ (Chưa đạt).", "Comment-graded: Đ or CĐ."),
    "level": ("Mức: T (Hoàn thành tốt), H (Hoàn thành), C (Chưa hoàn thành).", "Levels T, H or C."),
    "test": ("Điểm kiểm tra định kì: số nguyên 0–10.", "Periodic tests: whole numbers 0–10."),
    "text": ("Nhận xét: văn bản, tối đa 2000 ký tự.", "Comment: text, at most 2000 characters."),
}


def _sheet_label(subject: Subject, school_class: SchoolClass, term: int) -> str:
    return f"môn {subject.name} lớp {school_class.name} học kì {TERM_LABEL.get(term, term)} ({school_class.year.label})"


# --------------------------------------------------------------------------------------- template


def sheet_template(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int) -> bytes:
    """The sheet as it stands, to fill in and upload again."""
    sheet = sheet_services.sheet_read(access=access, school_class=school_class, subject=subject, term=term)
    births = dict(Student.objects.filter(pk__in=[s.id for s in sheet.students]).values_list("pk", "date_of_birth"))
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(f"{subject.name} HK {TERM_LABEL[term]}", set())
    last_col = len(FIXED) + len(sheet.columns)
    ws.cell(
        row=TITLE_ROW, column=2, value=f"Bảng điểm và nhận xét {_sheet_label(subject, school_class, term)}"
    ).font = TITLE_FONT
    hints = " ".join(dict.fromkeys(HINTS[c.value_type][0] for c in sheet.columns if c.value_type in HINTS))
    ws.cell(
        row=INFO_ROW,
        column=2,
        value=f"{hints} Ô để trống là xoá điểm đã nhập. Không sửa cột Họ và tên; không thêm hoặc xoá hàng học sinh.",
    ).font = MUTED_FONT
    headers = [h for _k, h, _w in FIXED] + [c.label for c in sheet.columns]
    for col, text in enumerate(headers, start=1):
        ws.cell(row=HEADER_ROW, column=col, value=text)
    style_header(ws, HEADER_ROW, 1, last_col)
    ws.row_dimensions[HEADER_ROW].height = 30
    widths = [w for _k, _h, w in FIXED] + [40 if c.value_type == "text" else 9 for c in sheet.columns]
    set_widths(ws, widths)
    ws.column_dimensions["A"].hidden = True
    first_row = HEADER_ROW + 1
    for i, student in enumerate(sheet.students):
        r = first_row + i
        dob = births.get(student.id)
        fixed = [student.id, i + 1, student.full_name, dob.strftime("%d/%m/%Y") if dob else ""]
        for col, value in enumerate(fixed, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.fill, cell.border = LOCKED_FILL, BORDER
            if student.left:
                cell.font = MUTED_FONT
        exempt = sheet.exempt.get(student.id) == ExemptionPart.SUBJECT
        for j, column in enumerate(sheet.columns):
            if exempt:  # the principal's decision: the cell reads "Miễn" and the import leaves it alone
                cell = ws.cell(row=r, column=FIRST_VALUE_COLUMN + j, value=EXEMPT_CELL)
                cell.fill, cell.border, cell.font = LOCKED_FILL, BORDER, MUTED_FONT
                cell.alignment = Alignment(horizontal="center")
                continue
            display = sheet.values.get((student.id, column.key), "")
            cell = ws.cell(row=r, column=FIRST_VALUE_COLUMN + j, value=_template_value(display, column))
            cell.border = BORDER
            if column.value_type == "score":
                cell.number_format = ONE_DECIMAL
            elif column.value_type == "text":
                cell.number_format = TEXT
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                cell.alignment = Alignment(horizontal="center")
    last_row = first_row + max(len(sheet.students), 1) - 1
    for j, column in enumerate(sheet.columns):
        dv = _validation(column)
        if dv is not None:
            letter = get_column_letter(FIRST_VALUE_COLUMN + j)
            ws.add_data_validation(dv)
            dv.add(f"{letter}{first_row}:{letter}{last_row}")
    ws.freeze_panes = ws.cell(row=first_row, column=FIRST_VALUE_COLUMN)
    write_guide(
        wb,
        title=f"Nhập bảng điểm {_sheet_label(subject, school_class, term)}",
        title_en="Importing a grade sheet",
        lines=_guide_lines(ws.title, sheet.columns, exempt=ExemptionPart.SUBJECT in sheet.exempt.values()),
    )
    write_meta(
        wb,
        {
            "kind": KIND,
            "version": 1,
            "school": access.school_id,
            "class": school_class.pk,
            "subject": subject.pk,
            "term": term,
            "label": _sheet_label(subject, school_class, term),
            "columns": ",".join(c.key for c in sheet.columns),
            "sheet": ws.title,
        },
    )
    return xlsx_bytes(wb)


def _guide_lines(title: str, columns: list[Column], *, exempt: bool) -> list[tuple[str, str, str]]:
    lines = class_rows_guide(title, what="các cột điểm, nhận xét", what_en="the value columns")
    for column in columns:
        vi, en = HINTS.get(column.value_type, ("", ""))
        lines.append((column.label, f"{vi} Ô để trống là xoá giá trị đã nhập.", f"{en} An empty cell clears it."))
    if exempt:
        lines.append(
            (
                EXEMPT_CELL,
                "Học sinh được miễn học môn này: các ô ghi “Miễn” được giữ nguyên, không nhập điểm.",
                "A student exempted from the subject: the “Miễn” cells stay as they are.",
            )
        )
    return lines


def _exempt_mark(text: str) -> bool:
    """The template's mark of an exempt cell, as written or as the page's language says it."""
    return normalize(text) in {normalize(EXEMPT_CELL), normalize(str(EXEMPT_MARK))}


def _template_value(display: str, column: Column) -> Any:
    if display == "":
        return None
    if column.value_type == "score":
        return score_value(display)
    if column.value_type == "test":
        return int(display) if display.isdigit() else display
    return display


def _validation(column: Column) -> DataValidation | None:
    common = {"allow_blank": True, "showErrorMessage": True, "errorTitle": column.label}
    if column.value_type == "score":
        return DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2="10",
            error="Điểm từ 0 đến 10, tối đa một chữ số thập phân.",
            **common,
        )
    if column.value_type == "test":
        return DataValidation(
            type="whole",
            operator="between",
            formula1="0",
            formula2="10",
            error="Điểm kiểm tra định kì là số nguyên từ 0 đến 10.",
            **common,
        )
    if column.value_type == "passfail":
        return DataValidation(type="list", formula1='"Đ,CĐ"', error="Chọn Đ hoặc CĐ.", **common)
    if column.value_type == "level":
        return DataValidation(type="list", formula1='"T,H,C"', error="Chọn T, H hoặc C.", **common)
    return None


# --------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class SheetImportResult:
    saved: SaveResult
    rows: int  # student rows read from the file
    changed: int  # cells whose value differed from what was stored
    rows_read: tuple[RowRead, ...] = ()  # each student row, in the file's order


@dataclass(frozen=True)
class _Ref:
    row: int
    column: int
    header: str
    student: int


def sheet_rows(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int, content: bytes) -> int:
    """The file's data rows, once its shape is checked (what it was made for, its headers, the limits)."""
    wb = open_workbook(content).values
    meta = read_meta(wb)
    _check_meta(meta, access, school_class, subject, term)
    ws, header_row, _fixed, _values = _locate(wb, meta, sheet_services.sheet_columns(subject, school_class, term))
    return data_row_count(ws, header_row)


def sheet_import(
    *, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int, content: bytes
) -> SheetImportResult:
    if not access.may_enter_sheet(school_class.pk, subject.pk):
        raise DomainError(
            "sheet.not_assigned",
            _("Bạn không được phân công dạy môn %(subject)s ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            http_status=403,
        )
    current = sheet_services.sheet_read(access=access, school_class=school_class, subject=subject, term=term)
    upload = open_workbook(content)
    meta = read_meta(upload.values)
    _check_meta(meta, access, school_class, subject, term)
    ws, header_row, fixed, value_columns = _locate(upload.values, meta, current.columns)
    if ws.max_row - header_row > limits().rows:
        raise too_many_rows()
    students = {s.id: s for s in current.students}
    cells: list[dict[str, Any]] = []
    refs: list[_Ref] = []
    found = StudentRows(
        upload,
        ws,
        header_row,
        fixed,
        value_columns,
        students=students,
        class_name=school_class.name,
        missing_id=_(
            "thiếu mã học sinh. Bảng điểm không thêm học sinh mới (hãy nhập qua danh sách học sinh); nếu lỡ "
            "xoá, hãy tải lại mẫu."
        ),
    )
    for line in found:
        r, student, student_id = line.row, line.student, line.student_id
        for key, (col, column) in value_columns.items():
            value = line.values[key]
            if line.uncomputed_formula(col, value, column.label):
                continue
            if isinstance(value, dt.date | dt.time):
                line.problem(
                    "sheet.date_in_cell",
                    _("%(name)s: Excel đã đổi giá trị thành ngày tháng (%(value)s); hãy nhập lại, ví dụ 7,5."),
                    {"name": student.full_name, "value": cell_text(value)},
                    column=col,
                    header=column.label,
                    student=student_id,
                )
                continue
            text = cell_text(value)
            if _same(text, current.values.get((student_id, key), ""), column):
                continue
            if current.exempt.get(student_id) == ExemptionPart.SUBJECT and _exempt_mark(text):
                continue  # the template's "Miễn": nothing to save (any other value is refused by the save)
            cells.append({"student": student_id, "column": key, "value": text})
            refs.append(_Ref(r, col, column.label, student_id))
    problems, rows = found.problems, found.count
    if not rows:
        raise fail("sheet.empty_file", _("Tệp không có hàng học sinh nào dưới hàng tiêu đề."))
    if problems:
        # Report the values' problems with the rows' ones: check the other cells without keeping anything.
        raise ImportFailed(problems + _dry_run(access, school_class, subject, term, cells, refs))
    try:
        saved = sheet_services.sheet_save(
            access=access, school_class=school_class, subject=subject, term=term, cells=cells
        )
    except SheetInvalid as exc:
        raise ImportFailed(_cell_problems(exc, refs)) from None
    return SheetImportResult(saved, rows, len(cells), rows_read(found.read, (ref.row for ref in refs)))


def _check_meta(meta, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int) -> None:
    if meta is None:
        return
    if meta.get("kind") != KIND:
        raise fail(
            "excel.wrong_kind",
            _(
                "Tệp này là mẫu danh sách học sinh, không phải bảng điểm. Hãy tải mẫu bảng "
                "điểm của môn và học kì cần nhập."
            ),
        )
    expected = (str(access.school_id), str(school_class.pk), str(subject.pk), str(term))
    if (meta.get("school"), meta.get("class"), meta.get("subject"), meta.get("term")) != expected:
        label = meta.get("label") or "?"
        raise fail(
            "excel.wrong_sheet",
            _("Tệp là bảng điểm %(file)s; trang này nhận bảng điểm %(page)s."),
            {"file": label, "page": _sheet_label(subject, school_class, term)},
        )


def _locate(wb, meta, columns: list[Column]):
    """The worksheet, its header row, the fixed columns and {column key: (column number, Column)}."""
    for ws in data_sheets(wb, meta):
        header_row = find_header_row(ws, ID_KEYS | NAME_KEYS)
        if header_row is not None:
            break
    else:
        raise fail(
            "excel.no_header",
            _("Không tìm thấy hàng tiêu đề (Mã HS, Họ và tên, các cột điểm). Hãy dùng mẫu bảng điểm tải về từ HọcBạ."),
        )
    by_label: dict[str, Column] = {}
    for column in columns:
        for key in header_keys(column.label) | {column.key.casefold()}:
            by_label.setdefault(key, column)
    fixed: dict[str, int] = {}
    found: dict[str, tuple[int, Column]] = {}
    problems = []
    for cell in ws[header_row]:
        if is_blank(cell.value):
            continue
        text = cell_text(cell.value)
        keys = header_keys(text)
        target = "id" if keys & ID_KEYS else "name" if keys & NAME_KEYS else None
        column = next((by_label[k] for k in keys if k in by_label), None) if target is None else None
        if target is None and column is None:
            continue  # a column of the person's own (notes…): not read
        if (target and target in fixed) or (column and column.key in found):
            problems.append(
                Problem("sheet.duplicate_column", _("cột bị lặp lại."), row=header_row, column=cell.column, header=text)
            )
        elif target:
            fixed[target] = cell.column
        else:
            found[column.key] = (cell.column, column)
    if "id" not in fixed:
        problems.append(
            Problem(
                "sheet.missing_id_column",
                _(
                    "thiếu cột mã học sinh (cột ẩn A của mẫu) ở hàng tiêu đề (hàng %(row)s); không biết "
                    "mỗi hàng là học sinh nào. Hãy tải lại mẫu."
                ),
                {"row": header_row},
                header=ID_HEADER,
            )
        )
    missing = _("thiếu cột ở hàng tiêu đề (hàng %(row)s).")
    if "name" not in fixed:
        problems.append(Problem("sheet.missing_column", missing, {"row": header_row}, header=NAME_HEADER))
    for column in columns:
        if column.key not in found:
            problems.append(Problem("sheet.missing_column", missing, {"row": header_row}, header=column.label))
    if problems:
        raise ImportFailed(problems)
    return ws, header_row, fixed, {c.key: found[c.key] for c in columns}


def _same(new: str, old: str, column: Column) -> bool:
    """Is the file's value the one already stored (so that it need not be sent)?"""
    if not new or not old:
        return new == old
    if column.value_type in ("score", "test"):
        try:
            return Decimal(new.replace(",", ".")) == Decimal(old.replace(",", "."))
        except ArithmeticError:
            return False
    if column.value_type == "passfail":
        return VERDICTS_PF.get(new.upper()) == VERDICTS_PF.get(old.upper())
    if column.value_type == "level":
        return new.upper() == old.upper()
    return new == old


def _cell_problems(exc: SheetInvalid, refs: list[_Ref]) -> list[Problem]:
    """The service's cell errors as the file's problems: the student's name, then the service's own message."""
    out = []
    for error in exc.cells:
        ref = refs[error.index] if 0 <= error.index < len(refs) else None
        # A student the sheet does not know has no name: the id and the column say which cell it is.
        who = error.student_name or f"{error.student} — {error.column_label}"
        out.append(
            Problem(
                error.code,
                _("%(student)s: %(problem)s"),
                {"student": who, "problem": Message(error.message, error.params)},
                row=ref.row if ref else None,
                column=ref.column if ref else None,
                header=ref.header if ref else error.column_label,
                student=error.student,
            )
        )
    return out


class _DryRun(Exception):
    pass


def _dry_run(access, school_class, subject, term, cells, refs) -> list[Problem]:
    """The values' problems, found by the service itself inside a transaction that is always rolled back."""
    if not cells:
        return []
    try:
        with transaction.atomic():
            sheet_services.sheet_save(access=access, school_class=school_class, subject=subject, term=term, cells=cells)
            raise _DryRun
    except SheetInvalid as exc:
        return _cell_problems(exc, refs)
    except _DryRun:
        return []
