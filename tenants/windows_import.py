"""A school year's calendar of open/lock windows from an XLSX file, and the small pieces the window
pages and API share (local date-times, refusals written in both languages).

The import validates every row by calling the service itself (``window_create``) inside one
transaction, each row in its own savepoint: a refused row is reported and the next rows are still
checked; if any row failed, everything is rolled back. Nothing is ever half imported. A row that repeats
an earlier row of the file, or a window the scope already has (not cancelled), is refused with its line:
two windows are the same when their scope, data category, school year, grades (after a level such as
"THCS" is expanded) and opening and locking moments are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from hocba.kernel import levels as school_levels
from hocba.kernel.errors import DomainError, RowProblem
from hocba.kernel.forms import (
    DATE_ONLY_FORMATS,
    DATETIME_INPUT_FORMATS,
    local_text,
)
from hocba.kernel.spreadsheets import (
    MB,
    MUTED_FONT,
    TITLE_FONT,
    cell_text,
    fail,
    header_keys,
    is_blank,
    limits,
    normalize,
    open_workbook,
    set_widths,
    style_header,
    xlsx_bytes,
)
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from .models import AdministrativeUnit, DataCategory, School, SchoolLevel, Window
from .services import windows as svc


def check_upload_size(size: int) -> None:
    """A calendar file is small: refuse one over the upload limit before reading it."""
    if size > limits().upload_bytes:
        raise DomainError(
            "windows.import_too_large", _("Tệp lớn quá %(mb)s MB."), params={"mb": limits().upload_bytes // MB}
        )


def parse_local(value: Any, *, end_of_day: bool = False) -> dt.datetime | None:
    """A local (Asia/Ho_Chi_Minh) moment from a cell or a text: ``dd/mm/yyyy HH:MM`` (or a date alone,
    which means 00:00 — or 23:59 when ``end_of_day``). ``None`` when it cannot be read."""
    tz = timezone.get_default_timezone()
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return value
        if end_of_day and value.time() == dt.time(0, 0):
            value = value.replace(hour=23, minute=59)
        return timezone.make_aware(value, tz)
    if isinstance(value, dt.date):
        return timezone.make_aware(dt.datetime.combine(value, dt.time(23, 59) if end_of_day else dt.time(0, 0)), tz)
    text = " ".join(str(value or "").split())
    if not text:
        return None
    for fmt in DATETIME_INPUT_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(text, fmt), tz)
        except ValueError:
            continue
    for fmt in DATE_ONLY_FORMATS:
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59) if end_of_day else dt.time(0, 0)), tz)
    return None


# --------------------------------------------------------------------------------------- reading cells

COLUMNS = [
    ("category", "Loại dữ liệu", "Data category"),
    ("grades", "Khối", "Grades"),
    ("opens_at", "Mở lúc", "Opens at"),
    ("locks_at", "Khóa lúc", "Locks at"),
    ("reason", "Lý do", "Reason"),
]
REQUIRED = {"category", "opens_at", "locks_at"}


def category_names() -> dict[str, str]:
    """Every way a person may write a category (code, Vietnamese label, English label) → its code."""
    names: dict[str, str] = {}
    for code, label in DataCategory.choices:
        names[normalize(code)] = code
        for lang in ("vi", "en"):
            with translation.override(lang):
                names[normalize(str(label))] = code
    return names


def level_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, label in SchoolLevel.choices:
        names[normalize(code)] = code
        for lang in ("vi", "en"):
            with translation.override(lang):
                names[normalize(str(label))] = code
    names.update(school_levels.LEVEL_NAMES)
    return names


def parse_grades(value: Any) -> tuple[list[int], list[str]] | None:
    """``"6, 7"``, ``"6-9"``, ``7``, ``"THCS"`` → (grades, levels); blank → every grade; ``None`` if unreadable."""
    if is_blank(value):
        return [], []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return ([value], []) if value in school_levels.GRADES else None
    grades: set[int] = set()
    levels: list[str] = []
    known_levels = level_names()
    for token in re.split(r"[,;]", str(value)):
        token = token.strip()
        if not token:
            continue
        span = re.fullmatch(r"(\d{1,2})\s*[-–—]\s*(\d{1,2})", token)
        if span:
            low, high = int(span.group(1)), int(span.group(2))
            if not (low in school_levels.GRADES and high in school_levels.GRADES and low <= high):
                return None
            grades |= set(range(low, high + 1))
        elif token.isdigit() and int(token) in school_levels.GRADES:
            grades.add(int(token))
        elif normalize(token) in known_levels:
            levels.append(known_levels[normalize(token)])
        else:
            return None
    return sorted(grades), levels


# --------------------------------------------------------------------------------------- the report


@dataclass
class RowReport(RowProblem):
    line: int
    category: str = ""
    grades: list[int] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    opens_at: dt.datetime | None = None
    locks_at: dt.datetime | None = None
    reason: str = ""
    code: str = ""
    text: Any = ""  # the row's problem: a catalogue message, with its parameters
    params: dict[str, Any] = field(default_factory=dict)
    window_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.code

    def refuse(self, code: str, message: Any, params: dict[str, Any] | None = None) -> None:
        """The row's first problem: a catalogue message and its parameters."""
        if not self.code:
            self.code, self.text, self.params = code, message, params or {}

    @property
    def category_label(self) -> str:
        return str(DataCategory(self.category).label) if self.category in DataCategory.values else ""

    @property
    def level_labels(self) -> list[str]:
        return [str(school_levels.LEVEL_LABELS.get(level, level)) for level in self.levels]

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "ok": self.ok,
            "category": self.category,
            "grades": self.grades,
            "levels": self.levels,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "locks_at": self.locks_at.isoformat() if self.locks_at else None,
            "reason": self.reason,
            "code": self.code or None,
            "detail": self.message or None,
            "detail_en": self.message_en or None,
            "window_id": self.window_id,
        }


@dataclass
class ImportReport:
    rows: list[RowReport]
    year_start: int

    @property
    def failed(self) -> list[RowReport]:
        return [r for r in self.rows if not r.ok]

    @property
    def created(self) -> int:
        return 0 if self.failed else len(self.rows)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "created": self.created,
            "failed": len(self.failed),
            "year_start": self.year_start,
            "rows": [r.as_dict() for r in self.rows],
        }


def _find_header(ws) -> tuple[int, dict[str, int]] | None:
    wanted = {normalize(vi): key for key, vi, en in COLUMNS} | {normalize(en): key for key, vi, en in COLUMNS}
    for row in ws.iter_rows(min_row=1, max_row=15):
        found: dict[str, int] = {}
        for cell in row:
            if isinstance(cell.value, str):
                for text in header_keys(cell.value):
                    if text in wanted and wanted[text] not in found:
                        found[wanted[text]] = cell.column
        if REQUIRED <= set(found):
            return row[0].row, found
    return None


def read_rows(content: bytes) -> list[RowReport]:
    """The rows of the calendar, each already carrying its reading problem if it has one."""
    upload = open_workbook(content)
    ws = upload.values.worksheets[0]
    header = _find_header(ws)
    if header is None:
        raise fail(
            "windows.import_header",
            _(
                "Không thấy hàng tiêu đề với các cột Loại dữ liệu, Khối, Mở lúc, Khóa "
                "lúc, Lý do. Hãy dùng mẫu tải về từ HọcBạ."
            ),
        )
    header_row, columns = header
    if ws.max_row - header_row > limits().rows:
        raise fail("windows.import_too_many", _("Tệp có hơn %(n)s dòng."), {"n": limits().rows})
    categories = category_names()
    rows: list[RowReport] = []
    for cells in ws.iter_rows(min_row=header_row + 1, values_only=False):
        values = {key: cells[col - 1].value if col - 1 < len(cells) else None for key, col in columns.items()}
        if all(is_blank(v) for v in values.values()):
            continue
        line = cells[0].row
        row = RowReport(line=line, reason=cell_text(values.get("reason")))
        category = categories.get(normalize(values.get("category")))
        if category is None:
            row.refuse(
                "windows.import_category",
                _("Loại dữ liệu “%(value)s” không có trong danh sách."),
                {"value": values.get("category") or ""},
            )
        else:
            row.category = category
        grades = parse_grades(values.get("grades"))
        if grades is None:
            row.refuse(
                "windows.import_grades",
                _("Không đọc được khối “%(value)s” (ví dụ: 6, 7 hoặc 6-9)."),
                {"value": values.get("grades")},
            )
        else:
            row.grades, row.levels = grades
        row.opens_at = parse_local(values.get("opens_at"))
        if row.opens_at is None:
            row.refuse("windows.import_opens", _("Không đọc được thời điểm mở (dd/mm/yyyy HH:MM)."))
        row.locks_at = parse_local(values.get("locks_at"), end_of_day=True)
        if row.locks_at is None:
            row.refuse("windows.import_locks", _("Không đọc được thời điểm khóa (dd/mm/yyyy HH:MM)."))
        rows.append(row)
    if not rows:
        raise fail("windows.import_empty", _("Tệp không có dòng lịch nào dưới hàng tiêu đề."))
    return rows


class _RollBack(Exception):
    pass


WindowKey = tuple[int | None, int | None, str, int, tuple[int, ...], dt.datetime, dt.datetime]


def window_key(window: Window) -> WindowKey:
    """What makes two windows the same: scope, data category, school year, grades, opening and locking moments."""
    return (
        window.unit_id,
        window.school_id,
        window.category,
        window.year_start,
        tuple(sorted(window.grades)),
        window.opens_at,
        window.locks_at,
    )


def _check_not_duplicate(window: Window, line: int, existing: dict[WindowKey, Window], seen: dict[WindowKey, int]):
    """Refuse a row whose window the file already has (an earlier row) or the scope already has (not cancelled)."""
    key = window_key(window)
    if key in seen:
        raise DomainError(
            "windows.import_duplicate_row",
            _("Trùng với dòng %(line)s của tệp (cùng loại dữ liệu, khối, thời điểm mở và khóa)."),
            params={"line": seen[key]},
        )
    if key in existing:
        other = existing[key]
        raise DomainError(
            "windows.import_duplicate_existing",
            _("Trùng với lịch đã có (cùng loại dữ liệu, khối, mở %(opens)s, khóa %(locks)s)."),
            params={"opens": local_text(other.opens_at), "locks": local_text(other.locks_at)},
        )
    seen[key] = line


def calendar_import(
    *, actor, content: bytes, year_start: int, unit: AdministrativeUnit | None = None, school: School | None = None
) -> ImportReport:
    """All rows or none: each row goes through ``window_create`` in a savepoint; any refusal rolls all back."""
    rows = read_rows(content)
    existing = {
        window_key(w): w
        for w in Window.objects.filter(unit=unit, school=school, year_start=year_start, cancelled_at__isnull=True)
    }
    seen: dict[WindowKey, int] = {}
    try:
        with transaction.atomic():
            for row in rows:
                if not row.ok:
                    continue
                try:
                    with transaction.atomic():
                        window = svc.window_create(
                            actor=actor,
                            category=row.category,
                            year_start=year_start,
                            opens_at=row.opens_at,
                            locks_at=row.locks_at,
                            unit=unit,
                            school=school,
                            grades=row.grades,
                            levels=row.levels,
                            reason=row.reason,
                        )
                        _check_not_duplicate(window, row.line, existing, seen)
                    row.window_id = window.pk
                except DomainError as exc:
                    row.refuse(exc.code, exc.message, exc.params)
            if any(not r.ok for r in rows):
                raise _RollBack
    except _RollBack:
        for row in rows:
            row.window_id = None
    return ImportReport(rows, year_start)


# --------------------------------------------------------------------------------------- the template


def template_bytes(*, scope_name: str = "", year_start: int | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Lịch năm học"
    headers = [vi for _key, vi, _en in COLUMNS]
    ws.append(headers)
    style_header(ws, 1, 1, len(headers))
    set_widths(ws, [34, 12, 20, 20, 48])
    ws.freeze_panes = "A2"
    for column in ("C", "D"):
        for row in range(2, 202):
            ws[f"{column}{row}"].number_format = "dd/mm/yyyy hh:mm"
    with translation.override("vi"):
        labels = [str(label) for _code, label in DataCategory.choices]
    # The labels hold commas, so the list lives on a hidden sheet rather than in the rule itself.
    choices = wb.create_sheet("_loai")
    for label in labels:
        choices.append([label])
    choices.sheet_state = "hidden"
    choice = DataValidation(type="list", formula1=f"'_loai'!$A$1:$A${len(labels)}", allow_blank=True)
    choice.error, choice.errorTitle = "Chọn một loại dữ liệu trong danh sách.", "Loại dữ liệu"
    ws.add_data_validation(choice)
    choice.add("A2:A201")

    guide = wb.create_sheet("Hướng dẫn")
    guide.append(["Lịch mở/khóa nhập liệu — hướng dẫn điền (Instructions)"])
    guide["A1"].font = TITLE_FONT
    if scope_name or year_start:
        year = f"{year_start}–{year_start + 1}" if year_start else ""
        guide.append([f"Phạm vi: {scope_name}", f"Năm học: {year}"])
    guide.append([])
    guide.append(["Cột", "Cách điền", "How to fill"])
    style_header(guide, guide.max_row, 1, 3)
    guide.append(
        ["Loại dữ liệu", "Một trong các loại dưới đây (tên hoặc mã).", "One of the categories below (name or code)."]
    )
    guide.append(
        ["Khối", "Để trống: mọi khối. Hoặc 6, 7 hoặc 6-9 hoặc THCS.", "Blank: every grade. Or 6, 7 or 6-9 or THCS."]
    )
    guide.append(
        [
            "Mở lúc",
            "dd/mm/yyyy HH:MM, giờ Việt Nam (ví dụ 05/09/2025 07:00).",
            "dd/mm/yyyy HH:MM, Vietnam time (e.g. 05/09/2025 07:00).",
        ]
    )
    guide.append(
        [
            "Khóa lúc",
            "dd/mm/yyyy HH:MM; chỉ ghi ngày thì khóa lúc 23:59 ngày đó.",
            "dd/mm/yyyy HH:MM; a date alone locks at 23:59 that day.",
        ]
    )
    guide.append(["Lý do", "Căn cứ (văn bản, kế hoạch năm học…).", "Grounds (circular, year plan…)."])
    guide.append([])
    guide.append(["Mã", "Loại dữ liệu", "Category"])
    style_header(guide, guide.max_row, 1, 3)
    for code, label in DataCategory.choices:
        with translation.override("vi"):
            vi = str(label)
        with translation.override("en"):
            en = str(label)
        guide.append([code, vi, en])
    guide.append([])
    guide.append(
        [
            "Cả tệp được kiểm tra trước; chỉ khi mọi dòng hợp lệ thì lịch mới được lưu (tất cả hoặc không).",
            "",
            "The whole file is checked first; the calendar is saved only if every row is valid (all or nothing).",
        ]
    )
    guide.cell(row=guide.max_row, column=1).font = MUTED_FONT
    guide.append(
        [
            "Dòng trùng với một dòng khác của tệp, hoặc với lịch đã có của phạm vi (cùng loại dữ liệu, khối, mở lúc, "
            "khóa lúc), bị từ chối.",
            "",
            "A row repeating another row of the file, or a window the scope already has (same category, grades, "
            "opening and locking times), is refused.",
        ]
    )
    guide.cell(row=guide.max_row, column=1).font = MUTED_FONT
    set_widths(guide, [18, 60, 60])
    return xlsx_bytes(wb)
