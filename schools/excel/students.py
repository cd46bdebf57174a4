"""The student list of a class: a template to fill in, and its import.

Every row is validated first (``students.clean_profile``, the columns' lengths, duplicates inside the
file, ids already in the school, students already in the class); only if every row is valid are all the
students enrolled, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.spreadsheets import (
    TEXT,
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
    style_header,
    too_many_rows,
    write_meta,
    xlsx_bytes,
)
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from ..access import SchoolAccess
from ..models import Enrolment, SchoolClass, Student
from ..rules.identity import moet_code_normal
from ..services import students as student_services
from ..services.common import require
from .common import data_row_count, data_sheets, write_guide

KIND = "students"
SHEET = "Danh sách học sinh"
FIRST_DATA_ROW = 2
TEMPLATE_ROWS = 100  # rows prepared with validation lists


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    header_en: str
    required: bool = False
    width: float = 16
    max_length: int | None = None
    aliases: tuple[str, ...] = ()


FIELDS = (
    Field("full_name", "Họ và tên", "Full name", True, 28, 120),
    Field("date_of_birth", "Ngày sinh (dd/mm/yyyy)", "Date of birth", True, 14),
    Field("gender", "Giới tính (Nam/Nữ)", "Gender", True, 11),
    Field("ethnicity", "Dân tộc", "Ethnicity", False, 12, 40),
    Field("nationality", "Quốc tịch", "Nationality", False, 12, 40),
    Field("place_of_birth", "Nơi sinh", "Place of birth", False, 24, 200),
    Field("address", "Nơi ở", "Address", False, 30, 300, ("Nơi ở hiện nay", "Địa chỉ")),
    Field("personal_id", "Số định danh cá nhân", "Personal identification number", False, 16),
    Field("moet_code", "Mã học sinh", "MoET student code", False, 14, 20),
    Field("guardian_name", "Họ tên cha/mẹ/người giám hộ", "Parent or guardian", False, 26, 120),
    Field("guardian_relation", "Quan hệ", "Relation", False, 12, 40),
    Field("guardian_phone", "Số điện thoại", "Phone", False, 14),
)
BY_KEY = {f.key: f for f in FIELDS}
IGNORED_HEADERS = {"stt", "tt", "số tt"}
RELATIONS = ("Cha", "Mẹ", "Ông", "Bà", "Anh", "Chị", "Người giám hộ")
PHONE = re.compile(r"\+?[0-9][0-9 .\-]{7,18}")
DATE_TEXT = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")

PROFILE_FIELD_COLUMN = {"guardians": "guardian_name"}


# --------------------------------------------------------------------------------------- template


def students_template(*, access: SchoolAccess, school_class: SchoolClass) -> bytes:
    require(access.may_edit_profiles(school_class.pk))
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([f.header for f in FIELDS])
    style_header(ws, 1, 1, len(FIELDS))
    ws.row_dimensions[1].height = 32
    set_widths(ws, [f.width for f in FIELDS])
    ws.freeze_panes = "B2"
    last = FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    col = {f.key: get_column_letter(i) for i, f in enumerate(FIELDS, start=1)}
    for key in ("date_of_birth", "personal_id", "moet_code", "guardian_phone"):
        # Text: "05/03/2014" stays day/month whatever the computer's locale, ids keep their leading zeros.
        ws.column_dimensions[col[key]].number_format = TEXT
    gender = DataValidation(
        type="list",
        formula1='"Nam,Nữ"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Giới tính",
        error="Chọn Nam hoặc Nữ.",
    )
    relation = DataValidation(
        type="list",
        formula1=f'"{",".join(RELATIONS)}"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Quan hệ",
        error="Nên chọn trong danh sách (Cha, Mẹ, Ông, Bà, Anh, Chị, Người giám hộ).",
    )
    pid = DataValidation(
        type="textLength",
        operator="equal",
        formula1="12",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Số định danh cá nhân",
        error="Số định danh cá nhân gồm đúng 12 chữ số.",
    )
    for dv, key in ((gender, "gender"), (relation, "guardian_relation"), (pid, "personal_id")):
        ws.add_data_validation(dv)
        dv.add(f"{col[key]}{FIRST_DATA_ROW}:{col[key]}{last}")
    write_guide(
        wb,
        title=f"Nhập danh sách học sinh lớp {school_class.name}, năm học {school_class.year.label}",
        title_en="Importing the student list of a class",
        lines=_guide_lines(),
    )
    write_meta(
        wb,
        {
            "kind": KIND,
            "version": 1,
            "school": access.school_id,
            "class": school_class.pk,
            "class_name": school_class.name,
            "year": school_class.year.label,
            "sheet": SHEET,
        },
    )
    wb.active = 0
    return xlsx_bytes(wb)


# A fictional pupil, shown on the guide only: a row on the list itself would be imported.
EXAMPLE = (
    "Trần Minh Khôi",
    "05/03/2014",
    "Nam",
    "Kinh",
    "Việt Nam",
    "Hà Nội",
    "Số 1 Tràng Tiền, Hoàn Kiếm",
    "001214000123",
    "",
    "Trần Văn Phúc",
    "Cha",
    "0912345678",
)


def _guide_lines() -> list[tuple[str, str, str]]:
    example = " | ".join(f"{f.header}: {v}" for f, v in zip(FIELDS, EXAMPLE, strict=True) if v)
    return [
        (
            "Cách nhập",
            "Mỗi học sinh một hàng trên trang “Danh sách học sinh”, bắt đầu từ hàng 2. Không đổi tên "
            "hoặc xoá các cột tiêu đề; có thể để trống các cột không bắt buộc.",
            "One student per row on the “Danh sách học sinh” sheet, from row 2. Do not rename or delete the headers; "
            "optional columns may stay empty.",
        ),
        ("Họ và tên (bắt buộc)", "Đầy đủ họ, tên đệm và tên, ví dụ: Nguyễn Văn An.", "Full name, family name first."),
        (
            "Ngày sinh (bắt buộc)",
            "Dạng dd/mm/yyyy, ví dụ 05/03/2014. Ô kiểu ngày của Excel cũng được nhận.",
            "dd/mm/yyyy, e.g. 05/03/2014; an Excel date cell is accepted too.",
        ),
        ("Giới tính (bắt buộc)", "Nam hoặc Nữ.", "Nam (male) or Nữ (female)."),
        ("Dân tộc, Quốc tịch", "Để trống: Kinh, Việt Nam.", "Empty means Kinh, Việt Nam."),
        ("Nơi sinh, Nơi ở", "Văn bản, tối đa 200 và 300 ký tự.", "Text, at most 200 and 300 characters."),
        (
            "Số định danh cá nhân",
            "12 chữ số, giữ nguyên số 0 ở đầu (cột đã để dạng văn bản): 3 số mã tỉnh nơi đăng ký khai sinh, 1 số "
            "thế kỷ và giới tính (sinh 2000–2099: 2 là nam, 3 là nữ), 2 số cuối năm sinh, 6 số ngẫu nhiên. Phải khớp "
            "ngày sinh và giới tính. Không trùng với học sinh khác của trường.",
            "12 digits, leading zeros kept (the column is text): the 3-digit code of the province of birth, 1 digit "
            "for century and sex (born 2000–2099: 2 male, 3 female), the last 2 digits of the year of birth, 6 more. "
            "Must match the date of birth and sex. Unique in the school.",
        ),
        (
            "Mã học sinh",
            "Mã học sinh của Bộ GD&ĐT (CSDL ngành), nếu có: chữ cái không dấu, chữ số, dấu gạch ngang; 3–20 ký tự.",
            "The MoET student code, if known: Latin letters, digits, hyphens; 3–20 characters.",
        ),
        (
            "Cha/mẹ/người giám hộ",
            f"Một người mỗi hàng: họ tên, quan hệ ({', '.join(RELATIONS)}) và số điện thoại. Có quan hệ "
            "hoặc số điện thoại thì phải có họ tên.",
            "One person per row: name, relation and phone. A relation or phone needs a name.",
        ),
        ("Ví dụ một hàng", example, "An example row (a fictional pupil: do not copy it to the list)."),
    ]


# --------------------------------------------------------------------------------------- import


@dataclass
class Row:
    number: int
    cells: dict[str, Any] = field(default_factory=dict)  # field key → raw value
    columns: dict[str, int] = field(default_factory=dict)
    profile: dict[str, Any] | None = None


@dataclass(frozen=True)
class ImportResult:
    students: list[Student]
    rows: list[int] = field(default_factory=list)  # the file's row of each student, in order


def students_rows(*, access: SchoolAccess, school_class: SchoolClass, content: bytes) -> int:
    """The file's data rows, once its shape is checked (what it was made for, its headers, the limits)."""
    require(access.may_edit_profiles(school_class.pk))
    wb = open_workbook(content).values
    meta = read_meta(wb)
    _check_meta(meta, access, school_class)
    ws, header_row, _columns = _locate(wb, meta)
    return data_row_count(ws, header_row)


def students_import(*, access: SchoolAccess, school_class: SchoolClass, content: bytes, today: dt.date) -> ImportResult:
    """Validate every row of the uploaded list, then enrol them all in one transaction, or none."""
    require(access.may_edit_profiles(school_class.pk))
    upload = open_workbook(content)
    wb = upload.values
    meta = read_meta(wb)
    _check_meta(meta, access, school_class)
    ws, header_row, columns = _locate(wb, meta)
    problems: list[Problem] = []
    rows = _rows(upload, ws, header_row, columns, problems)
    if not rows and not problems:
        raise fail("students.empty_file", _("Tệp không có học sinh nào (mọi hàng dưới tiêu đề đều trống)."))
    for row in rows:
        _validate_row(row, today, problems)
    _check_duplicates(rows, school_class, problems)
    if problems:
        raise ImportFailed(problems)
    return ImportResult(_enrol_all(access, school_class, rows, today), [row.number for row in rows])


def _check_meta(meta: dict[str, str] | None, access: SchoolAccess, school_class: SchoolClass) -> None:
    if meta is None:
        return
    if meta.get("kind") != KIND:
        raise fail(
            "excel.wrong_kind",
            _("Tệp này là bảng điểm, không phải danh sách học sinh. Hãy tải mẫu danh sách học sinh của lớp."),
        )
    if meta.get("school") != str(access.school_id) or meta.get("class") != str(school_class.pk):
        raise fail(
            "excel.wrong_class",
            _("Tệp là mẫu danh sách của lớp %(file_class)s (%(file_year)s), không phải lớp %(class)s (%(year)s)."),
            {
                "file_class": meta.get("class_name") or "?",
                "file_year": meta.get("year") or "?",
                "class": school_class.name,
                "year": school_class.year.label,
            },
        )


def _locate(wb, meta):
    """The worksheet, its header row and {field key: column}; every required header must be there."""
    wanted = header_keys(BY_KEY["full_name"].header)
    for ws in data_sheets(wb, meta):
        header_row = find_header_row(ws, wanted)
        if header_row is not None:
            break
    else:
        raise fail(
            "excel.no_header",
            _("Không tìm thấy hàng tiêu đề có cột “Họ và tên”. Hãy dùng mẫu danh sách học sinh tải về từ HọcBạ."),
        )
    lookup: dict[str, Field] = {}
    for f in FIELDS:
        for text in (f.header, *f.aliases):
            for key in header_keys(text):
                lookup.setdefault(key, f)
    columns: dict[str, int] = {}
    problems = []
    for cell in ws[header_row]:
        if is_blank(cell.value):
            continue
        text = cell_text(cell.value)
        keys = header_keys(text)
        match = next((lookup[k] for k in keys if k in lookup), None)
        if match is None:
            if keys & IGNORED_HEADERS:
                continue
            problems.append(
                Problem(
                    "students.unknown_column",
                    _("tiêu đề không thuộc mẫu danh sách học sinh; hãy sửa lại đúng tiêu đề của mẫu hoặc xoá cột."),
                    row=header_row,
                    column=cell.column,
                    header=text,
                )
            )
        elif match.key in columns:
            problems.append(
                Problem(
                    "students.duplicate_column", _("cột bị lặp lại."), row=header_row, column=cell.column, header=text
                )
            )
        else:
            columns[match.key] = cell.column
    for f in FIELDS:
        if f.required and f.key not in columns:
            problems.append(
                Problem(
                    "students.missing_column",
                    _("thiếu cột bắt buộc ở hàng tiêu đề (hàng %(row)s)."),
                    {"row": header_row},
                    header=f.header,
                )
            )
    if problems:
        raise ImportFailed(problems)
    return ws, header_row, columns


def _rows(upload, ws, header_row: int, columns: dict[str, int], problems: list[Problem]) -> list[Row]:
    if ws.max_row - header_row > limits().rows:
        raise too_many_rows()
    rows = []
    for cells in ws.iter_rows(min_row=header_row + 1, max_row=ws.max_row):
        by_column = {c.column: c for c in cells}
        row = Row(cells[0].row if cells else 0)
        for key, column in columns.items():
            cell = by_column.get(column)
            value = cell.value if cell is not None else None
            if upload.is_uncomputed_formula(ws.title, row.number, column, value):
                problems.append(
                    Problem(
                        "excel.uncomputed_formula",
                        _(
                            "ô có công thức chưa được tính; hãy mở tệp bằng "
                            "Excel, lưu lại, hoặc dán giá trị thay cho công thức."
                        ),
                        row=row.number,
                        column=column,
                        header=BY_KEY[key].header,
                    )
                )
            row.cells[key] = value
            row.columns[key] = column
        if all(is_blank(v) for v in row.cells.values()):
            continue
        rows.append(row)
    return rows


def _problem(row: Row, key: str, code: str, message: Any, params: dict[str, Any] | None = None) -> Problem:
    return Problem(code, message, params or {}, row=row.number, column=row.columns.get(key), header=BY_KEY[key].header)


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 3000 < value < 80000:
        return from_excel(value).date()  # a date cell whose format was lost: Excel's serial day number
    text = cell_text(value)
    match = DATE_TEXT.fullmatch(text)
    if match:
        return f"{int(match[1]):02d}/{int(match[2]):02d}/{match[3]}"
    return text


def _digits(value: Any, pad_to: int | None = None) -> str:
    """Ids and phone numbers that Excel turned into numbers lose their leading zeros: put them back."""
    text = cell_text(value)
    if pad_to and isinstance(value, int | float) and not isinstance(value, bool) and text.isdigit():
        if pad_to == 12 and 10 <= len(text) < 12:  # 12-digit ids start with the province code 001–096
            return text.zfill(12)
        if pad_to == 10 and len(text) == 9:  # Vietnamese mobile numbers: 0 + 9 digits
            return "0" + text
    return text


def _validate_row(row: Row, today: dt.date, problems: list[Problem]) -> None:
    raw = row.cells
    text = {k: cell_text(v) for k, v in raw.items()}
    profile: dict[str, Any] = {
        "full_name": text.get("full_name", ""),
        "date_of_birth": _date(raw.get("date_of_birth")),
        "gender": text.get("gender", ""),
        "personal_id": _digits(raw.get("personal_id"), 12),
        "moet_code": text.get("moet_code", ""),
    }
    for key in ("ethnicity", "nationality", "place_of_birth", "address"):
        if text.get(key):
            profile[key] = text[key]
    before = len(problems)
    for f in FIELDS:
        value = " ".join(text.get(f.key, "").split())
        if f.max_length and len(value) > f.max_length:
            problems.append(_problem(row, f.key, "students.too_long", _("dài quá %(n)s ký tự."), {"n": f.max_length}))
    guardian = {
        "name": text.get("guardian_name", ""),
        "relation": text.get("guardian_relation", ""),
        "phone": _digits(raw.get("guardian_phone"), 10),
    }
    if guardian["phone"] and not PHONE.fullmatch(guardian["phone"]):
        problems.append(
            _problem(
                row,
                "guardian_phone",
                "students.bad_phone",
                _("số điện thoại “%(phone)s” không hợp lệ."),
                {"phone": guardian["phone"]},
            )
        )
    if not guardian["name"] and (guardian["relation"] or guardian["phone"]):
        problems.append(
            _problem(
                row,
                "guardian_name",
                "students.guardian_without_name",
                _("có quan hệ hoặc số điện thoại thì cần họ tên người giám hộ."),
            )
        )
    profile["guardians"] = [{k: v for k, v in guardian.items() if v}] if guardian["name"] else []
    # clean_profile stops at its first problem: replace each faulty value by a valid one and ask again, so
    # that every wrong cell of the row is reported at once.
    stand_in = {
        "full_name": "Nguyễn An",
        "date_of_birth": dt.date(today.year - 10, 1, 1),
        "gender": "M",
        "personal_id": "",
        "moet_code": "",
        "guardians": [],
    }
    attempt = dict(profile)
    for _round in range(len(stand_in) + 1):
        try:
            cleaned = student_services.clean_profile(attempt, today=today)
        except DomainError as exc:
            key = PROFILE_FIELD_COLUMN.get(exc.field or "", exc.field or "full_name")
            stood_in = any(attempt.get(f) != profile.get(f) for f in ("date_of_birth", "gender"))
            if not (stood_in and exc.code in student_services.PERSONAL_ID_MISMATCHES):
                # (a number checked against a stand-in date of birth or sex proves nothing)
                problems.append(_problem(row, key if key in BY_KEY else "full_name", exc.code, exc.message, exc.params))
            if exc.field not in stand_in or attempt.get(exc.field) == stand_in[exc.field]:
                return
            attempt[exc.field] = stand_in[exc.field]
            continue
        if attempt == profile and len(problems) == before:
            row.profile = cleaned
        return


def _check_duplicates(rows: list[Row], school_class: SchoolClass, problems: list[Problem]) -> None:
    """Inside the file (ids; name and date of birth), against the school (ids) and the class (name and birth)."""
    firsts: dict[tuple[str, str], int] = {}
    for row in rows:
        keys = []
        pid = _digits(row.cells.get("personal_id"), 12)
        code = moet_code_normal(cell_text(row.cells.get("moet_code")))
        if pid:
            keys.append(("personal_id", pid))
        if code:
            keys.append(("moet_code", code))
        if row.profile:
            keys.append(("person", f"{normalize(row.profile['full_name'])}|{row.profile['date_of_birth']:%d/%m/%Y}"))
        for kind, value in keys:
            first = firsts.setdefault((kind, value), row.number)
            if first == row.number:
                continue
            if kind == "person":
                problems.append(
                    _problem(
                        row,
                        "full_name",
                        "students.duplicate_in_file",
                        _("trùng họ tên và ngày sinh với hàng %(row)s."),
                        {"row": first},
                    )
                )
            else:
                problems.append(
                    _problem(
                        row,
                        kind,
                        f"students.duplicate_{kind}",
                        _("“%(value)s” đã có ở hàng %(row)s của tệp."),
                        {"value": value, "row": first},
                    )
                )
    pids = {v for (k, v) in firsts if k == "personal_id"}
    codes = {v for (k, v) in firsts if k == "moet_code"}
    taken_pids = (
        set(Student.objects.filter(personal_id__in=pids).values_list("personal_id", flat=True)) if pids else set()
    )
    taken_codes = (
        set(Student.objects.filter(moet_code__in=codes).values_list("moet_code", flat=True)) if codes else set()
    )
    in_class = {
        f"{normalize(name)}|{dob:%d/%m/%Y}"
        for name, dob in Enrolment.objects.filter(school_class=school_class, ends_on__isnull=True).values_list(
            "student__full_name", "student__date_of_birth"
        )
    }
    for row in rows:
        pid = _digits(row.cells.get("personal_id"), 12)
        code = moet_code_normal(cell_text(row.cells.get("moet_code")))
        if pid in taken_pids:
            problems.append(
                _problem(
                    row,
                    "personal_id",
                    "students.personal_id_taken",
                    _("số định danh %(id)s đã thuộc một học sinh khác của trường."),
                    {"id": pid},
                )
            )
        if code in taken_codes:
            problems.append(
                _problem(
                    row,
                    "moet_code",
                    "students.moet_code_taken",
                    _("mã học sinh %(code)s đã thuộc một học sinh khác của trường."),
                    {"code": code},
                )
            )
        if row.profile and f"{normalize(row.profile['full_name'])}|{row.profile['date_of_birth']:%d/%m/%Y}" in in_class:
            problems.append(
                _problem(
                    row,
                    "full_name",
                    "students.already_in_class",
                    _("học sinh %(name)s (sinh %(born)s) đã có trong lớp %(class)s."),
                    {
                        "name": row.profile["full_name"],
                        "born": f"{row.profile['date_of_birth']:%d/%m/%Y}",
                        "class": school_class.name,
                    },
                )
            )


def _enrol_all(access: SchoolAccess, school_class: SchoolClass, rows: list[Row], today: dt.date) -> list[Student]:
    """All rows in one transaction: a refusal on any row (a race on an id) leaves nothing behind."""
    created: list[Student] = []
    current: Row | None = None
    try:
        with transaction.atomic():
            for current in rows:
                created.append(
                    student_services.student_enrol(
                        access=access, school_class=school_class, profile=current.profile, today=today
                    )
                )
    except DomainError as exc:
        if exc.http_status != 400 or current is None:
            raise
        key = PROFILE_FIELD_COLUMN.get(exc.field or "", exc.field or "full_name")
        raise ImportFailed(
            [_problem(current, key if key in BY_KEY else "full_name", exc.code, exc.message, exc.params)]
        ) from None
    except IntegrityError:
        raise ImportFailed(
            [
                Problem(
                    "students.conflict",
                    _("hàng xung đột với dữ liệu vừa được lưu bởi người khác; hãy tải lên lại."),
                    row=current.number if current else None,
                )
            ]
        ) from None
    return created
