"""TT27 qualities and competencies of a primary class as workbooks: the template of one checkpoint (term ×
mid/end) with the class's pupils and the levels already entered, its import, and the class's export.

The template lists the pupils in Vietnamese order with a hidden column of their ids and one column per quality
or competency (TT27 art. 7: five qualities, three general and seven specific competencies), each a level
Tốt / Đạt / Cần cố gắng written T / Đ / C. The import checks the file's shape and every row (id known in the
class, name matching the id, no duplicates) and every cell — a level as teachers type it: “T”, “Đ”, “D”, “Tốt”,
“Đạt”, “Cần cố gắng”, “C”, any case, with or without accents (``yearend.quality_level``) — then calls
``yearend.qualities_save`` once: all cells or none. Only the cells that differ from what is stored are sent,
so an untouched row of an approved record does not block the rest of the class; comments are not in the file
and stay as they are. The open/lock windows are the database's to enforce (a locked term is a 423).

The export: one sheet per checkpoint with the levels and the comments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed, TextPair
from hocba.kernel.spreadsheets import (
    BORDER,
    LOCKED_FILL,
    MUTED_FONT,
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
from openpyxl.worksheet.worksheet import Worksheet

from ..access import SchoolAccess
from ..models import QualityAssessment, SchoolClass
from ..selectors import class_members, class_students
from ..services import yearend
from ..services.classwork import ClassInputInvalid
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
    write_guide,
)

KIND = "qualities"
FIXED = (("id", ID_HEADER, 9), ("stt", "STT", 5), ("name", NAME_HEADER, 28), ("dob", "Ngày sinh", 12))
TITLE_ROW, INFO_ROW, GROUP_ROW, HEADER_ROW = 1, 2, 3, 4
FIRST_VALUE_COLUMN = len(FIXED) + 1
ID_KEYS = header_keys(ID_HEADER) | {"mã học sinh (không sửa)", "id"}
NAME_KEYS = header_keys(NAME_HEADER)
SHORT = {"T": "T", "D": "Đ", "C": "C"}
WORDS = {"T": "Tốt", "D": "Đạt", "C": "Cần cố gắng"}
CHECKPOINT_NAMES = {
    (1, "mid"): "giữa học kì I",
    (1, "end"): "cuối học kì I",
    (2, "mid"): "giữa học kì II",
    (2, "end"): "cuối năm học",
}
GROUPS = (
    ("Phẩm chất", "qualities"),
    ("Năng lực chung", "general_competencies"),
    ("Năng lực đặc thù", "specific_competencies"),
)


@dataclass(frozen=True)
class Trait:
    code: str
    label: str  # Vietnamese: the files' headers are fixed Vietnamese strings, read back by the import
    group: str


def traits_of(school_class: SchoolClass) -> list[Trait]:
    rules = yearend.primary_rules(school_class)
    return [Trait(q.code, q.label_vi, group) for group, attr in GROUPS for q in getattr(rules, attr)]


def checkpoint_label(school_class: SchoolClass, term: int, checkpoint: str) -> str:
    return f"lớp {school_class.name}, {CHECKPOINT_NAMES[(term, checkpoint)]} ({school_class.year.label})"


def check_target(term: int, checkpoint: str) -> None:
    """Only the four TT27 checkpoints have an address (another one is not found)."""
    if (term, checkpoint) not in CHECKPOINT_NAMES:
        raise DomainError(
            "yearend.bad_checkpoint", _("Thời điểm đánh giá phải là giữa kì hoặc cuối kì."), http_status=404
        )


def managed_class(access: SchoolAccess, school_class: SchoolClass) -> None:
    """Who enters the class's qualities (the qualities page's rule): its homeroom teacher, or BGH."""
    if not access.may_manage_class(school_class.pk):
        raise NotAllowed("school.not_allowed", _("Chỉ giáo viên chủ nhiệm của lớp mới đánh giá phẩm chất, năng lực."))


def _group_headers(ws: Worksheet, traits: list[Trait], first_column: int) -> None:
    """The merged group row above the traits: Phẩm chất | Năng lực chung | Năng lực đặc thù."""
    col = first_column
    for group, _attr in GROUPS:
        n = sum(1 for t in traits if t.group == group)
        if not n:
            continue
        ws.cell(row=GROUP_ROW, column=col, value=group)
        if n > 1:
            ws.merge_cells(start_row=GROUP_ROW, start_column=col, end_row=GROUP_ROW, end_column=col + n - 1)
        col += n


# --------------------------------------------------------------------------------------- template


def _guide_lines(title: str, traits: list[Trait]) -> list[tuple[str, str, str]]:
    levels_vi = "Mức T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng); gõ “Tốt”, “Đạt”, “Cần cố gắng” cũng được."
    levels_en = "Level T (good), Đ (satisfactory) or C (needs effort); the words in full are accepted too."
    lines = class_rows_guide(
        title,
        what="các cột phẩm chất, năng lực (nhận xét không có trong tệp và giữ nguyên)",
        what_en="the qualities and competencies (comments are not in the file and stay as they are)",
    )
    for group, _attr in GROUPS:
        names = ", ".join(t.label for t in traits if t.group == group)
        if names:
            lines.append((group, f"{names}. {levels_vi} Ô để trống là xoá mức đã nhập.", levels_en))
    return lines


def qualities_template(*, access: SchoolAccess, school_class: SchoolClass, term: int, checkpoint: str) -> bytes:
    """The checkpoint's levels as they stand, to fill in and upload again."""
    managed_class(access, school_class)
    check_target(term, checkpoint)
    traits = traits_of(school_class)
    members = class_members(school_class, class_students(school_class))
    stored = yearend.qualities_of(school_class, [m.student.pk for m in members], term, checkpoint)
    label = checkpoint_label(school_class, term, checkpoint)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(f"PCNL {CHECKPOINT_NAMES[(term, checkpoint)]}", set())
    last_col = len(FIXED) + len(traits)
    ws.cell(row=TITLE_ROW, column=2, value=f"Phẩm chất, năng lực {label}").font = TITLE_FONT
    ws.cell(
        row=INFO_ROW,
        column=2,
        value="Mức: T (Tốt), Đ (Đạt), C (Cần cố gắng); gõ “Tốt”, “Đạt”, “Cần cố gắng” cũng được. Ô để trống là "
        "xoá mức đã nhập. Nhận xét giữ nguyên (nhập trên trang Phẩm chất, năng lực). Không sửa cột Họ và tên; "
        "không thêm hoặc xoá hàng học sinh.",
    ).font = MUTED_FONT
    for col, (_key, text, _w) in enumerate(FIXED, start=1):
        ws.cell(row=HEADER_ROW, column=col, value=text)
    _group_headers(ws, traits, FIRST_VALUE_COLUMN)
    for j, trait in enumerate(traits):
        ws.cell(row=HEADER_ROW, column=FIRST_VALUE_COLUMN + j, value=trait.label)
    style_header(ws, GROUP_ROW, 1, last_col)
    style_header(ws, HEADER_ROW, 1, last_col)
    ws.row_dimensions[HEADER_ROW].height = 45
    set_widths(ws, [w for _k, _h, w in FIXED] + [11] * len(traits))
    ws.column_dimensions["A"].hidden = True
    first_row = HEADER_ROW + 1
    for i, member in enumerate(members):
        r = first_row + i
        student = member.student
        fixed = [student.pk, i + 1, student.full_name, student.date_of_birth.strftime("%d/%m/%Y")]
        for col, value in enumerate(fixed, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.fill, cell.border = LOCKED_FILL, BORDER
            if member.left:
                cell.font = MUTED_FONT
        for j, trait in enumerate(traits):
            level = stored.get((student.pk, trait.code), ("", ""))[0]
            cell = ws.cell(row=r, column=FIRST_VALUE_COLUMN + j, value=SHORT.get(level) or None)
            cell.border, cell.number_format = BORDER, TEXT
            cell.alignment = Alignment(horizontal="center")
    last_row = first_row + max(len(members), 1) - 1
    dv = DataValidation(
        type="list",
        formula1='"T,Đ,C"',
        allow_blank=True,
        showErrorMessage=False,  # “Tốt”, “Đạt”… typed in full are accepted too: the list only suggests
        promptTitle="Mức",
        prompt="T (Tốt), Đ (Đạt), C (Cần cố gắng)",
        showInputMessage=True,
    )
    ws.add_data_validation(dv)
    dv.add(f"{get_column_letter(FIRST_VALUE_COLUMN)}{first_row}:{get_column_letter(last_col)}{last_row}")
    ws.freeze_panes = ws.cell(row=first_row, column=FIRST_VALUE_COLUMN)
    write_guide(
        wb,
        title=f"Nhập phẩm chất, năng lực {label}",
        title_en="Importing the qualities and competencies of a primary class (TT27)",
        lines=_guide_lines(ws.title, traits),
    )
    write_meta(
        wb,
        {
            "kind": KIND,
            "version": 1,
            "school": access.school_id,
            "class": school_class.pk,
            "term": term,
            "checkpoint": checkpoint,
            "label": label,
            "columns": ",".join(t.code for t in traits),
            "sheet": ws.title,
        },
    )
    return xlsx_bytes(wb)


# --------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class QualitiesImportResult:
    rows: int  # pupil rows read from the file
    changed: int  # cells whose level differed from what was stored
    written: int  # levels written
    cleared: int  # levels cleared
    rows_read: tuple[RowRead, ...] = ()  # each pupil row, in the file's order


@dataclass(frozen=True)
class _Ref:
    row: int
    column: int
    header: str
    student: int


def qualities_rows(
    *, access: SchoolAccess, school_class: SchoolClass, term: int, checkpoint: str, content: bytes
) -> int:
    """The file's data rows, once its shape is checked (what it was made for, its headers, the limits)."""
    managed_class(access, school_class)
    wb = open_workbook(content).values
    meta = read_meta(wb)
    _check_meta(meta, access, school_class, term, checkpoint)
    ws, header_row, _fixed, _values = _locate(wb, meta, traits_of(school_class))
    return data_row_count(ws, header_row)


def qualities_import(
    *, access: SchoolAccess, school_class: SchoolClass, term: int, checkpoint: str, content: bytes
) -> QualitiesImportResult:
    managed_class(access, school_class)
    check_target(term, checkpoint)
    traits = traits_of(school_class)
    members = class_members(school_class, class_students(school_class))
    students = {m.student.pk: m.student for m in members}
    stored = yearend.qualities_of(school_class, list(students), term, checkpoint)
    upload = open_workbook(content)
    meta = read_meta(upload.values)
    _check_meta(meta, access, school_class, term, checkpoint)
    ws, header_row, fixed, value_columns = _locate(upload.values, meta, traits)
    if ws.max_row - header_row > limits().rows:
        raise too_many_rows()
    entries: list[dict[str, Any]] = []
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
            "thiếu mã học sinh. Bảng phẩm chất, năng lực không thêm học sinh mới (hãy nhập qua danh sách "
            "học sinh); nếu lỡ xoá, hãy tải lại mẫu."
        ),
    )
    for line in found:
        r, student, student_id, problem = line.row, line.student, line.student_id, line.problem
        for code, (col, trait) in value_columns.items():
            value = line.values[code]
            if line.uncomputed_formula(col, value, trait.label):
                continue
            if isinstance(value, dt.date | dt.time) or (value is not None and not isinstance(value, str)):
                problem(
                    "yearend.bad_quality_cell",
                    _("%(name)s: mức “%(value)s” không hợp lệ; ghi T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng)."),
                    {"name": student.full_name, "value": cell_text(value)},
                    column=col,
                    header=trait.label,
                    student=student_id,
                )
                continue
            text = cell_text(value)
            old = stored.get((student_id, code), ("", ""))[0]
            if (yearend.quality_level(text) or text) == old:
                continue  # unchanged (an empty cell where nothing is stored included)
            entries.append({"student": student_id, "code": code, "level": text})
            refs.append(_Ref(r, col, trait.label, student_id))
    problems, rows = found.problems, found.count
    if not rows:
        raise fail("sheet.empty_file", _("Tệp không có hàng học sinh nào dưới hàng tiêu đề."))
    if problems:
        # Report the values' problems with the rows' ones: check the other cells without keeping anything.
        raise ImportFailed(problems + _dry_run(access, school_class, term, checkpoint, entries, refs, students))
    try:
        if entries:
            yearend.qualities_save(
                access=access, school_class=school_class, term=term, checkpoint=checkpoint, entries=entries
            )
    except ClassInputInvalid as exc:
        raise ImportFailed(_cell_problems(exc, refs, students)) from None
    cleared = sum(1 for e in entries if not e["level"])
    return QualitiesImportResult(
        rows=rows,
        changed=len(entries),
        written=len(entries) - cleared,
        cleared=cleared,
        rows_read=rows_read(found.read, (ref.row for ref in refs)),
    )


def _check_meta(meta, access: SchoolAccess, school_class: SchoolClass, term: int, checkpoint: str) -> None:
    if meta is None:
        return
    if meta.get("kind") != KIND:
        raise fail(
            "excel.wrong_kind",
            _(
                "Tệp này không phải bảng phẩm chất, năng lực. Hãy tải mẫu phẩm chất, năng lực của lớp và thời "
                "điểm cần nhập."
            ),
        )
    expected = (str(access.school_id), str(school_class.pk), str(term), checkpoint)
    if (meta.get("school"), meta.get("class"), meta.get("term"), meta.get("checkpoint")) != expected:
        raise fail(
            "excel.wrong_sheet",
            _("Tệp là bảng phẩm chất, năng lực %(file)s; trang này nhận bảng %(page)s."),
            {"file": meta.get("label") or "?", "page": checkpoint_label(school_class, term, checkpoint)},
        )


def _locate(wb, meta, traits: list[Trait]):
    """The worksheet, its header row, the fixed columns and {trait code: (column number, Trait)}."""
    for ws in data_sheets(wb, meta):
        header_row = find_header_row(ws, ID_KEYS | NAME_KEYS)
        if header_row is not None:
            break
    else:
        raise fail(
            "excel.no_header",
            _(
                "Không tìm thấy hàng tiêu đề (Mã HS, Họ và tên, các phẩm chất và năng lực). Hãy dùng mẫu phẩm "
                "chất, năng lực tải về từ HọcBạ."
            ),
        )
    by_label: dict[str, Trait] = {}
    for trait in traits:
        for key in header_keys(trait.label) | {trait.code}:
            by_label.setdefault(key, trait)
    fixed: dict[str, int] = {}
    found: dict[str, tuple[int, Trait]] = {}
    problems = []
    for cell in ws[header_row]:
        if is_blank(cell.value):
            continue
        text = cell_text(cell.value)
        keys = header_keys(text)
        target = "id" if keys & ID_KEYS else "name" if keys & NAME_KEYS else None
        trait = next((by_label[k] for k in keys if k in by_label), None) if target is None else None
        if target is None and trait is None:
            continue  # a column of the person's own (notes…): not read
        if (target and target in fixed) or (trait and trait.code in found):
            problems.append(
                Problem("sheet.duplicate_column", _("cột bị lặp lại."), row=header_row, column=cell.column, header=text)
            )
        elif target:
            fixed[target] = cell.column
        else:
            found[trait.code] = (cell.column, trait)
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
    for trait in traits:
        if trait.code not in found:
            problems.append(Problem("sheet.missing_column", missing, {"row": header_row}, header=trait.label))
    if problems:
        raise ImportFailed(problems)
    return ws, header_row, fixed, {t.code: found[t.code] for t in traits}


def _cell_problems(exc: ClassInputInvalid, refs: list[_Ref], students: dict) -> list[Problem]:
    """The service's row errors as the file's problems: the pupil's name, then the service's own message."""
    out = []
    for error in exc.errors:
        index = error.get("index", -1)
        ref = refs[index] if 0 <= index < len(refs) else None
        student = students.get(error.get("student"))
        who = student.full_name if student else str(error.get("student"))
        out.append(
            Problem(
                error["code"],
                _("%(student)s: %(problem)s"),
                {"student": who, "problem": TextPair(error["detail"], error["detail_en"])},
                row=ref.row if ref else None,
                column=ref.column if ref else None,
                header=ref.header if ref else "",
                student=error.get("student"),
            )
        )
    return out


class _DryRun(Exception):
    pass


def _dry_run(access, school_class, term, checkpoint, entries, refs, students) -> list[Problem]:
    """The cells' problems, found by the service itself inside a transaction that is always rolled back."""
    if not entries:
        return []
    try:
        with transaction.atomic():
            yearend.qualities_save(
                access=access, school_class=school_class, term=term, checkpoint=checkpoint, entries=entries
            )
            raise _DryRun
    except ClassInputInvalid as exc:
        return _cell_problems(exc, refs, students)
    except (_DryRun, DomainError):
        return []


# --------------------------------------------------------------------------------------- export


def qualities_export(*, access: SchoolAccess, school_class: SchoolClass) -> bytes:
    """The class's qualities and competencies at the four checkpoints, one sheet each: levels and comments."""
    if not yearend.may_view_yearend(access, school_class):
        raise NotAllowed(
            "school.not_allowed",
            _("Chỉ Ban giám hiệu và giáo viên chủ nhiệm của lớp mới xem được phẩm chất, năng lực của lớp."),
        )
    traits = traits_of(school_class)
    members = class_members(school_class, class_students(school_class))
    ids = [m.student.pk for m in members]
    by_checkpoint: dict[tuple[int, str], dict[tuple[int, str], tuple[str, str]]] = {}
    for q in QualityAssessment.objects.filter(year_id=school_class.year_id, student_id__in=ids):
        by_checkpoint.setdefault((q.term, q.checkpoint), {})[(q.student_id, q.code)] = (q.level, q.text)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for (term, checkpoint), name in CHECKPOINT_NAMES.items():
        ws = wb.create_sheet(sheet_title(name[:1].upper() + name[1:], used))
        _export_sheet(ws, school_class, traits, members, by_checkpoint.get((term, checkpoint), {}), term, checkpoint)
    return xlsx_bytes(wb)


def _export_sheet(ws: Worksheet, school_class, traits, members, cells, term: int, checkpoint: str) -> None:
    ws.cell(
        row=TITLE_ROW,
        column=1,
        value=f"Phẩm chất, năng lực — lớp {school_class.name} — {CHECKPOINT_NAMES[(term, checkpoint)]}",
    ).font = TITLE_FONT
    ws.cell(
        row=INFO_ROW,
        column=1,
        value=f"Năm học {school_class.year.label} — Học kì {TERM_LABEL[term]} — "
        f"T: Tốt, Đ: Đạt, C: Cần cố gắng — Xuất ngày {timezone.localdate():%d/%m/%Y}",
    ).font = MUTED_FONT
    fixed = ["STT", "Họ và tên", "Ngày sinh"]
    last = len(fixed) + len(traits) + 1
    for col, text in enumerate(fixed, start=1):
        ws.cell(row=GROUP_ROW, column=col, value=text)
        ws.merge_cells(start_row=GROUP_ROW, start_column=col, end_row=HEADER_ROW, end_column=col)
    _group_headers(ws, traits, len(fixed) + 1)
    for j, trait in enumerate(traits):
        ws.cell(row=HEADER_ROW, column=len(fixed) + 1 + j, value=trait.label)
    ws.cell(row=GROUP_ROW, column=last, value="Nhận xét")
    ws.merge_cells(start_row=GROUP_ROW, start_column=last, end_row=HEADER_ROW, end_column=last)
    style_header(ws, GROUP_ROW, 1, last)
    style_header(ws, HEADER_ROW, 1, last)
    ws.row_dimensions[HEADER_ROW].height = 45
    set_widths(ws, [5, 26, 11] + [10] * len(traits) + [60])
    for i, member in enumerate(members, start=1):
        student = member.student
        r = HEADER_ROW + i
        values: list[Any] = [i, student.full_name, student.date_of_birth.strftime("%d/%m/%Y")]
        comments = []
        for trait in traits:
            level, text = cells.get((student.pk, trait.code), ("", ""))
            values.append(SHORT.get(level, ""))
            if text:
                comments.append(f"{trait.label}: {text}")
        values.append("; ".join(comments))
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.border = BORDER
            if col == last or col == 2:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            elif col > len(fixed):
                cell.alignment = Alignment(horizontal="center")
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=len(fixed) + 1)
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = f"{GROUP_ROW}:{HEADER_ROW}"
