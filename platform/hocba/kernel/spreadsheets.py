"""What every workbook shares, on either side: reading an upload safely, cell values, styles, problems."""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .errors import DomainError, both_languages

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a class's sheet is a few kilobytes
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # refuse zip bombs before openpyxl parses anything
MAX_ZIP_ENTRIES = 2000
MAX_ROWS = 3000
META_SHEET = "_hocba"  # a very hidden sheet: what the file was made for (kind, school, class, subject, term)
HEADER_SCAN_ROWS = 15


# --------------------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """One thing wrong in an uploaded file: where Excel shows it, and why.

    Like a :class:`DomainError`, the why is a catalogue message (``gettext_lazy``) and its parameters; it is
    rendered in Vietnamese and English when the report is read (``message``/``message_en``, and ``detail``/
    ``detail_en`` prefixed with where the problem is).
    """

    code: str
    text: Any  # a lazy message, or anything that renders in the active language (Message, TextPair)
    params: dict[str, Any] = field(default_factory=dict)
    row: int | None = None
    column: int | None = None  # 1-based, as openpyxl counts
    header: str = ""
    student: int | None = None

    @property
    def column_letter(self) -> str:
        return get_column_letter(self.column) if self.column else ""

    @property
    def cell(self) -> str:
        return f"{self.column_letter}{self.row}" if self.column and self.row else ""

    def where(self) -> tuple[Any, dict[str, Any]] | None:
        """The message naming where the problem is, and its parameters; None for the whole file."""
        if self.cell:
            if self.header:
                return _("Ô %(cell)s (%(header)s)"), {"cell": self.cell, "header": self.header}
            return _("Ô %(cell)s"), {"cell": self.cell}
        if self.row:
            return _("Hàng %(row)s"), {"row": self.row}
        if self.header:
            return _("Cột “%(header)s”"), {"header": self.header}
        return None

    @cached_property
    def texts(self) -> dict[str, str]:
        """``message``, ``message_en``, ``detail`` and ``detail_en``, rendered once."""
        message = both_languages(self.text, self.params)
        where = self.where()
        place = both_languages(*where) if where else {"vi": "", "en": ""}
        return {
            "message": message["vi"],
            "message_en": message["en"],
            "detail": f"{place['vi']}: {message['vi']}" if where else message["vi"],
            "detail_en": f"{place['en']}: {message['en']}" if where else message["en"],
        }

    @property
    def message(self) -> str:
        return self.texts["message"]

    @property
    def message_en(self) -> str:
        return self.texts["message_en"]

    @property
    def detail(self) -> str:
        return self.texts["detail"]

    @property
    def detail_en(self) -> str:
        return self.texts["detail_en"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "row": self.row,
            "cell": self.cell or None,
            "column": self.column_letter or None,
            "header": self.header,
            "student": self.student,
            **self.texts,
        }


class ImportFailed(DomainError):
    """The file has problems; nothing of it was saved."""

    def __init__(self, problems: list[Problem]):
        problems = sorted(problems, key=lambda p: (p.row or 0, p.column or 0))
        super().__init__("excel.invalid", _("Tệp có %(n)s lỗi; chưa lưu gì."), params={"n": len(problems)})
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["errors"] = [p.as_dict() for p in self.problems]
        return data


def fail(code: str, message: Any, params: dict[str, Any] | None = None, **where: Any) -> ImportFailed:
    """A refusal of the file for one problem: a catalogue message, its parameters and where it is."""
    return ImportFailed([Problem(code, message, params or {}, **where)])


def too_large() -> ImportFailed:
    return fail("excel.too_large", _("Tệp lớn quá %(mb)s MB."), {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})


def too_many_rows() -> ImportFailed:
    return fail("excel.too_many_rows", _("Tệp có quá %(n)s hàng."), {"n": MAX_ROWS})


# --------------------------------------------------------------------------------------- reading


@dataclass
class Upload:
    """An uploaded workbook read twice: the values (cached results of formulas) and the formulas."""

    values: Workbook
    formulas: Workbook

    def is_uncomputed_formula(self, sheet: str, row: int, column: int, value: Any) -> bool:
        if value is not None:
            return False
        cell = self.formulas[sheet].cell(row=row, column=column)
        return cell.data_type == "f"


def open_workbook(content: bytes) -> Upload:
    """The workbook in ``content``, or :class:`ImportFailed` saying in plain words why it cannot be read."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise too_large()
    not_a_workbook = fail(
        "excel.not_a_workbook",
        _(
            "Tệp không phải là bảng tính Excel (.xlsx). Hãy dùng mẫu tải về từ HọcBạ, hoặc trong Excel chọn "
            "Lưu thành → Sổ làm việc Excel (*.xlsx)."
        ),
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
                raise fail("excel.too_large", _("Tệp quá lớn khi giải nén; không đọc được."))
            if "[Content_Types].xml" not in archive.namelist():
                raise not_a_workbook
    except zipfile.BadZipFile:
        raise not_a_workbook from None
    try:
        values = load_workbook(io.BytesIO(content), data_only=True)
        formulas = load_workbook(io.BytesIO(content), data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken or foreign file  # noqa: BLE001
        raise not_a_workbook from None
    return Upload(values, formulas)


def read_meta(wb: Workbook) -> dict[str, str] | None:
    if META_SHEET not in wb.sheetnames:
        return None
    ws = wb[META_SHEET]
    return {str(k): "" if v is None else str(v) for k, v in ws.iter_rows(min_col=1, max_col=2, values_only=True) if k}


def write_meta(wb: Workbook, meta: dict[str, Any]) -> None:
    ws = wb.create_sheet(META_SHEET)
    for key, value in meta.items():
        ws.append([key, value])
    ws.sheet_state = "veryHidden"


def normalize(text: Any) -> str:
    """For comparing names and headers: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", str(text or "")).casefold().split())


def header_keys(text: str) -> set[str]:
    """A header matches by its full text or by the part before a parenthesis: “Ngày sinh (dd/mm/yyyy)”."""
    full = normalize(text)
    return {full, full.split("(", 1)[0].strip()} - {""}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def cell_text(value: Any) -> str:
    """A cell's value as the text a person meant: ``7.5`` → ``"7.5"``, ``8.0`` → ``"8"``, a date → dd/mm/yyyy.

    Excel stores numbers as binary floats; Python's ``repr`` is the shortest text that reads back as the
    same float, and a value within 1e-9 of one decimal (a formula's ``7.499999999``) is taken as that decimal.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        if value.is_integer():
            return str(int(value))
        rounded = round(value, 1)
        return repr(rounded if abs(value - rounded) < 1e-9 else value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return unicodedata.normalize("NFC", str(value)).strip()


def as_int(value: Any) -> int | None:
    """A whole number written as a number or as digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def find_header_row(ws: Worksheet, wanted: set[str]) -> int | None:
    """The first of the top rows holding a header among ``wanted`` (normalized texts)."""
    for row in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
        for cell in row:
            if isinstance(cell.value, str) and header_keys(cell.value) & wanted:
                return cell.row
    return None


# --------------------------------------------------------------------------------------- writing

THIN = Side(style="thin", color="A6B3C1")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TITLE_FONT = Font(bold=True, size=13)
MUTED_FONT = Font(italic=True, color="5B6B7C")
LOCKED_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
ONE_DECIMAL = "0.0"
TEXT = "@"


def style_header(ws: Worksheet, row: int, first: int, last: int) -> None:
    for col in range(first, last + 1):
        cell = ws.cell(row=row, column=col)
        cell.font, cell.fill, cell.alignment, cell.border = HEADER_FONT, HEADER_FILL, WRAP, BORDER


def set_widths(ws: Worksheet, widths: list[float], first: int = 1) -> None:
    for i, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(first + i)].width = width


_BAD_TITLE_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of []:*?/\\)."""
    base = " ".join(name.translate(_BAD_TITLE_CHARS).split())[:31] or "Sheet"
    title, n = base, 2
    while title.casefold() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title.casefold())
    return title


def xlsx_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
