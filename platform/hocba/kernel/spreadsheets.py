"""What every workbook shares, on either side: reading an upload safely, cell values, styles, problems."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any
from xml.etree.ElementTree import ParseError, XMLPullParser, fromstring

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, SHARED_STRINGS

from hocba.env import runtime

from .errors import DomainError, Message, both_languages
from .text import nfc

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the default of ``limits().upload_bytes``: a class's sheet is a few kilobytes
MAX_ROWS = 3000  # the default of ``limits().rows``
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
    return fail("excel.too_large", _("Tệp lớn quá %(mb)s MB."), {"mb": limits().upload_bytes // MB})


def too_many_rows() -> ImportFailed:
    return fail("excel.too_many_rows", _("Tệp có quá %(n)s hàng."), {"n": limits().rows})


def check_upload_size(size: int) -> None:
    """Refuse an upload over the size limit before reading it."""
    if size > limits().upload_bytes:
        raise too_large()


# --------------------------------------------------------------------------------------- reading: limits

MB = 1024 * 1024
RATIO_FLOOR = 256 * 1024  # a part smaller than this may compress as well as it likes


@dataclass(frozen=True)
class Limits:
    """What an upload may be, read when used (``HOCBA_SHEET_*`` in the environment, else the defaults)."""

    upload_bytes: int  # the file as uploaded
    unzipped_bytes: int  # every part of the zip, uncompressed, together
    part_bytes: int  # one part, uncompressed
    ratio: int  # uncompressed ÷ compressed, for a part over RATIO_FLOOR
    parts: int  # members of the zip
    rows: int  # rows of data under the header
    columns: int  # the last column holding a value
    cells: int  # cells (and rows) parsed on one sheet, empty ones included; also the declared area's bound
    strings: int  # shared strings


def _runtime_int(name: str, default: int) -> int:
    try:
        value = int(runtime(name, str(default)))
    except ValueError:
        return default
    return value if value > 0 else default


def limits() -> Limits:
    return Limits(
        upload_bytes=_runtime_int("HOCBA_SHEET_MAX_UPLOAD_MB", 5) * MB,
        unzipped_bytes=_runtime_int("HOCBA_SHEET_MAX_UNZIPPED_MB", 24) * MB,
        part_bytes=_runtime_int("HOCBA_SHEET_MAX_PART_MB", 12) * MB,
        ratio=_runtime_int("HOCBA_SHEET_MAX_RATIO", 100),
        parts=_runtime_int("HOCBA_SHEET_MAX_PARTS", 500),
        rows=_runtime_int("HOCBA_SHEET_MAX_ROWS", MAX_ROWS),
        columns=_runtime_int("HOCBA_SHEET_MAX_COLUMNS", 200),
        cells=_runtime_int("HOCBA_SHEET_MAX_CELLS", 300_000),
        strings=_runtime_int("HOCBA_SHEET_MAX_STRINGS", 100_000),
    )


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def not_a_workbook() -> ImportFailed:
    return fail(
        "excel.not_a_workbook",
        _(
            "Tệp không phải là bảng tính Excel (.xlsx). Hãy dùng mẫu tải về từ HọcBạ, hoặc trong Excel chọn "
            "Lưu thành → Sổ làm việc Excel (*.xlsx)."
        ),
    )


def _part_too_large(part: str, size: int, lim: Limits) -> ImportFailed:
    return fail(
        "excel.part_too_large",
        _("Phần “%(part)s” của tệp giải nén ra %(size)s MB, quá giới hạn %(limit)s MB mỗi phần."),
        {"part": part, "size": _mb(size), "limit": _mb(lim.part_bytes)},
    )


def _check_archive(archive: zipfile.ZipFile, lim: Limits) -> None:
    """The zip's central directory, before anything is decompressed: parts, sizes and compression ratios."""
    entries = archive.infolist()
    if len(entries) > lim.parts:
        raise fail(
            "excel.too_many_parts",
            _("Tệp có %(n)s phần nén, quá giới hạn %(limit)s phần."),
            {"n": len(entries), "limit": lim.parts},
        )
    total = 0
    for entry in entries:
        if entry.file_size > lim.part_bytes:
            raise _part_too_large(entry.filename, entry.file_size, lim)
        if entry.file_size > RATIO_FLOOR and entry.file_size > lim.ratio * max(entry.compress_size, 1):
            raise fail(
                "excel.compression_ratio",
                _("Phần “%(part)s” của tệp nén %(ratio)s lần, quá giới hạn %(limit)s lần; tệp bị nghi là bom nén."),
                {"part": entry.filename, "ratio": entry.file_size // max(entry.compress_size, 1), "limit": lim.ratio},
            )
        total += entry.file_size
    if total > lim.unzipped_bytes:
        raise fail(
            "excel.unzipped_too_large",
            _("Tệp giải nén ra %(size)s MB, quá giới hạn %(limit)s MB."),
            {"size": _mb(total), "limit": _mb(lim.unzipped_bytes)},
        )


def _count(archive: zipfile.ZipFile, part: str, lim: Limits, tokens: tuple[bytes, ...]) -> int:
    """How many times ``tokens`` occur in a part, counted on the raw bytes as they are decompressed, before any
    XML parsing: a part holding more elements than a limit is refused at the speed of decompression.

    The count errs on the high side (``<c`` also counts ``<col``): a count is only compared with a limit."""
    found, tail, read = 0, b"", 0
    keep = max(len(t) for t in tokens) - 1
    try:
        with archive.open(part) as source:
            while chunk := source.read(256 * 1024):
                read += len(chunk)
                if read > lim.part_bytes:
                    raise _part_too_large(part, read, lim)
                window = tail + chunk
                found += sum(window.count(t) for t in tokens)
                tail = window[-keep:]
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, RuntimeError, NotImplementedError):
        raise not_a_workbook() from None
    return found


def _refuse_dtds(archive: zipfile.ZipFile, lim: Limits) -> None:
    """No part of a workbook declares a DTD; one that does may expand entities (“billion laughs”): refused on the
    raw bytes, before any XML parser sees them."""
    for entry in archive.infolist():
        if entry.is_dir():
            continue
        if _count(archive, entry.filename, lim, (b"<!DOCTYPE", b"<!ENTITY")):
            raise fail(
                "excel.doctype",
                _("Phần “%(part)s” của tệp có khai báo DOCTYPE, điều bảng tính Excel không có; tệp bị từ chối."),
                {"part": entry.filename},
            )


def _events(archive: zipfile.ZipFile, part: str, lim: Limits, starts=frozenset(), ends=frozenset()):
    """``(event, element, parent)`` for the ``starts`` and ``ends`` tags of one XML part, streamed.

    The part is decompressed in chunks and counted (the directory's sizes may lie). Once an element of ``ends``
    has been handed out, its parent lets go of every child built so far (the events still hold the ones not yet
    handed out): memory stays that of one chunk of the file, whatever its shape.
    """
    parser = XMLPullParser(events=("start", "end"))
    stack: list[Any] = []
    read = 0
    try:
        with archive.open(part) as source:
            while True:
                chunk = source.read(64 * 1024)
                if chunk:
                    read += len(chunk)
                    if read > lim.part_bytes:
                        raise _part_too_large(part, read, lim)
                    parser.feed(chunk)
                else:
                    parser.close()
                for event, element in parser.read_events():
                    if event == "start":
                        if element.tag in starts:
                            yield event, element, stack[-1] if stack else None
                        stack.append(element)
                        continue
                    stack.pop()
                    if element.tag in ends:
                        parent = stack[-1] if stack else None
                        yield event, element, parent
                        if parent is not None:
                            del parent[:]
                if not chunk:
                    return
    except (ParseError, zipfile.BadZipFile, EOFError, KeyError, ValueError, RuntimeError, NotImplementedError):
        raise not_a_workbook() from None


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _FORMULA, _DIMENSION = f"{_NS}row", f"{_NS}c", f"{_NS}f", f"{_NS}dimension"
_SI, _NUMFMT, _XF, _CELL_XFS = f"{_NS}si", f"{_NS}numFmt", f"{_NS}xf", f"{_NS}cellXfs"
_T, _RUN = f"{_NS}t", f"{_NS}r"
_WORKSHEET_REL = "/worksheet"


class ReadCell:
    """A cell as read: its place and the value a person sees (a formula's cached result)."""

    __slots__ = ("column", "row", "value")

    def __init__(self, row: int, column: int, value: Any):
        self.row, self.column, self.value = row, column, value

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"


class ReadSheet:
    """One worksheet, read once and only as far as the limits allow; the parts of openpyxl's API the imports use.

    Only cells holding a value are kept; rows are never padded beyond the last column that holds one.
    """

    def __init__(self, book: Book, title: str, state: str, part: str):
        self.title, self.sheet_state = title, state or "visible"
        self._book, self._part = book, part
        self._rows: dict[int, dict[int, Any]] | None = None
        self.uncomputed: set[tuple[int, int]] = set()

    @property
    def rows_read(self) -> dict[int, dict[int, Any]]:
        if self._rows is None:
            self._rows = self._book.parse(self)
        return self._rows

    @property
    def max_row(self) -> int:
        """The last row holding a value (or a formula without one); never the sheet's own declaration."""
        return max([*self.rows_read, *(r for r, _c in self.uncomputed)], default=0)

    @property
    def max_column(self) -> int:
        cols = [c for row in self.rows_read.values() for c in row] + [c for _r, c in self.uncomputed]
        return max(cols, default=0)

    def cell(self, row: int, column: int) -> ReadCell:
        return ReadCell(row, column, self.rows_read.get(row, {}).get(column))

    def iter_rows(self, min_row=None, max_row=None, min_col=None, max_col=None, values_only=False):
        rows = self.rows_read
        first, last = min_row or 1, max_row if max_row is not None else self.max_row
        left, right = min_col or 1, max_col if max_col is not None else self.max_column
        right = min(right, self._book.limits.columns)
        for r in range(first, min(last, self.max_row) + 1):
            row = rows.get(r, {})
            if values_only:
                yield tuple(row.get(c) for c in range(left, right + 1))
            else:
                yield tuple(ReadCell(r, c, row.get(c)) for c in range(left, right + 1))
        for _r in range(max(first, self.max_row + 1), last + 1):  # rows asked beyond the data are empty
            yield ()

    def __getitem__(self, row: int) -> tuple[ReadCell, ...]:
        return next(self.iter_rows(min_row=row, max_row=row, max_col=max(self.max_column, 1)))


class Book:
    """A workbook read safely: the sheets' names and states at once, each sheet's cells when first asked for."""

    def __init__(self, archive: zipfile.ZipFile, lim: Limits):
        self.limits, self._archive = lim, archive
        try:
            package = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
            workbook_part = _find_workbook_part(package).PartName[1:]
            parser = WorkbookParser(archive, workbook_part, keep_links=False)
            parser.parse()
            sheets = [(s, rel) for s, rel in parser.find_sheets() if rel.Type.endswith(_WORKSHEET_REL)]
            strings = package.find(SHARED_STRINGS)
        except Exception:  # openpyxl raises many kinds for a broken or foreign file  # noqa: BLE001
            raise not_a_workbook() from None
        self.epoch = parser.wb.epoch
        self.strings = self._read_strings(strings.PartName[1:]) if strings is not None else []
        self.date_formats, self.timedelta_formats = self._read_styles()
        names = set(archive.namelist())
        self.worksheets = [ReadSheet(self, s.name, s.state, rel.target) for s, rel in sheets if rel.target in names]
        if not self.worksheets:
            raise not_a_workbook()
        self._by_name = {ws.title: ws for ws in self.worksheets}

    @property
    def sheetnames(self) -> list[str]:
        return [ws.title for ws in self.worksheets]

    def __getitem__(self, name: str) -> ReadSheet:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def _read_strings(self, part: str) -> list[str]:
        if _count(self._archive, part, self.limits, (b"<si", b":si")) > self.limits.strings:
            raise _too_many_strings(self.limits)
        strings: list[str] = []
        for _event, element, _parent in _events(self._archive, part, self.limits, ends={_SI}):
            if len(strings) >= self.limits.strings:
                raise _too_many_strings(self.limits)
            plain = element.findtext(_T) or ""  # the text, or its rich-text runs (phonetic runs left out)
            runs = "".join(run.findtext(_T) or "" for run in element.iterfind(_RUN))
            strings.append((plain + runs).replace("x005F_", ""))
        return strings

    def _read_styles(self) -> tuple[set[int], set[int]]:
        """The style ids whose number format is a date (or a duration): their numbers are read as dates."""
        if ARC_STYLE not in self._archive.namelist():
            return set(), set()
        custom: dict[int, str] = {}
        formats: list[int] = []
        for _event, element, parent in _events(self._archive, ARC_STYLE, self.limits, ends={_NUMFMT, _XF}):
            try:
                if element.tag == _NUMFMT:
                    custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
                elif parent is not None and parent.tag == _CELL_XFS:
                    formats.append(int(element.get("numFmtId", "0")))
            except ValueError:
                raise not_a_workbook() from None
            if len(formats) + len(custom) > self.limits.cells:
                raise not_a_workbook()
        dates, durations = set(), set()
        for style_id, fmt_id in enumerate(formats):
            code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id)
            if code and is_date_format(code):
                dates.add(style_id)
            if code and is_timedelta_format(code):
                durations.add(style_id)
        return dates, durations

    def parse(self, sheet: ReadSheet) -> dict[int, dict[int, Any]]:
        """The sheet's values, stopping at the first thing over a limit."""
        lim = self.limits
        cells = WorkSheetParser(
            None,
            self.strings,
            data_only=True,
            epoch=self.epoch,
            date_formats=self.date_formats,
            timedelta_formats=self.timedelta_formats,
        )
        if _count(self._archive, sheet._part, lim, (b"<c", b":c", b"<row", b":row")) > lim.cells:
            raise _too_many_cells(sheet, lim)
        last_row = lim.rows + HEADER_SCAN_ROWS
        rows: dict[int, dict[int, Any]] = {}
        seen = 0
        events = _events(self._archive, sheet._part, lim, starts={_ROW}, ends={_ROW, _CELL, _DIMENSION})
        for event, element, _parent in events:
            seen += 1
            if seen > lim.cells:
                raise _too_many_cells(sheet, lim)
            if element.tag == _ROW:
                if event == "start":  # where the row's cells without a reference are
                    number = element.get("r")
                    cells.row_counter = int(number) if number and number.isdigit() else cells.row_counter + 1
                    cells.col_counter = 0
                continue
            if element.tag == _DIMENSION:
                _check_declared(sheet, element.get("ref", ""), lim)
                continue
            if not len(element):  # no value, no formula: an empty (styled) cell, only counted
                ref = element.get("r")
                cells.col_counter = (
                    cells.col_counter + 1 if ref is None else column_index_from_string(ref.rstrip("0123456789") or "A")
                )
                continue
            try:
                cell = cells.parse_cell(element)
            except (ValueError, IndexError, TypeError, OverflowError):
                raise not_a_workbook() from None
            value, row, column = cell["value"], cell["row"], cell["column"]
            uncomputed = value is None and element.find(_FORMULA) is not None
            if value is None and not uncomputed:
                continue
            if row > last_row:
                raise too_many_rows()
            if column > lim.columns:
                raise fail(
                    "excel.too_many_columns",
                    _("Trang “%(sheet)s” có dữ liệu ở ô %(cell)s, quá giới hạn %(limit)s cột."),
                    {"sheet": sheet.title, "cell": f"{get_column_letter(column)}{row}", "limit": lim.columns},
                )
            if uncomputed:
                sheet.uncomputed.add((row, column))
            else:
                rows.setdefault(row, {})[column] = value
        return rows


def _too_many_strings(lim: Limits) -> ImportFailed:
    return fail("excel.too_many_strings", _("Tệp có quá %(limit)s chuỗi chữ khác nhau."), {"limit": lim.strings})


def _too_many_cells(sheet: ReadSheet, lim: Limits) -> ImportFailed:
    return fail(
        "excel.too_many_cells",
        _("Trang “%(sheet)s” có quá %(limit)s ô (kể cả ô trống đã định dạng)."),
        {"sheet": sheet.title, "limit": lim.cells},
    )


def _check_declared(sheet: ReadSheet, ref: str, lim: Limits) -> None:
    """The sheet's own ``<dimension ref>``: never trusted for reading, but an absurd one is refused at once."""
    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref.upper())
    except (ValueError, TypeError):
        return  # a broken declaration is ignored: the cells themselves are counted
    area = (max_col - (min_col or 1) + 1) * (max_row - (min_row or 1) + 1) if max_col and max_row else 0
    if area > lim.cells:
        raise fail(
            "excel.declared_too_large",
            _("Trang “%(sheet)s” khai báo vùng %(ref)s (%(area)s ô), quá giới hạn %(limit)s ô."),
            {"sheet": sheet.title, "ref": ref, "area": area, "limit": lim.cells},
        )


@dataclass
class Upload:
    """An uploaded workbook, read once: each cell's value (a formula's cached result), and which formulas had none."""

    values: Book

    @property
    def book(self) -> Book:
        return self.values

    def is_uncomputed_formula(self, sheet: str, row: int, column: int, value: Any) -> bool:
        return value is None and (row, column) in self.values[sheet].uncomputed


def open_workbook(content: bytes) -> Upload:
    """The workbook in ``content``, or :class:`ImportFailed` saying in plain words why it cannot be read.

    Every limit of :func:`limits` is checked before or while reading, never after: the zip's directory
    first (parts, sizes, ratios), then each part as it is decompressed and parsed.
    """
    lim = limits()
    if len(content) > lim.upload_bytes:
        raise too_large()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise not_a_workbook() from None
    _check_archive(archive, lim)
    if ARC_CONTENT_TYPES not in archive.namelist():
        raise not_a_workbook()
    _refuse_dtds(archive, lim)
    return Upload(Book(archive, lim))


# --------------------------------------------------------------------------------------- reading: tables

CSV_DELIMITERS = {",": _("dấu phẩy"), ";": _("dấu chấm phẩy"), "\t": _("dấu tab")}


@dataclass(frozen=True)
class Table:
    """The rows of a CSV file or of a workbook's first sheet, as texts; for a CSV, the delimiter it uses."""

    rows: list[list[str]]
    delimiter: str = ""

    @property
    def layout(self) -> Any:
        """How the file was read, for a message: “phân tách bằng dấu chấm phẩy”, or “bảng tính Excel”."""
        if self.delimiter:
            return Message(_("tệp CSV phân tách bằng %(sep)s"), {"sep": CSV_DELIMITERS[self.delimiter]})
        return _("bảng tính Excel")


def _csv_text(content: bytes) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 with its BOM (Excel's “Unicode text”)."""
    try:
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return content.decode("utf-16")
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail("csv.bad_encoding", _("Tệp CSV phải được mã hóa UTF-8.")) from None


def read_csv(content: bytes) -> Table:
    """A CSV upload, within the same limits as a workbook: its delimiter (comma, semicolon or tab) is the one its
    first line uses most; a BOM is dropped; cells are stripped; blank rows are skipped."""
    lim = limits()
    if len(content) > lim.upload_bytes:
        raise too_large()
    text = _csv_text(content)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(CSV_DELIMITERS, key=lambda d: (first.count(d), d == ","))
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            cells = [nfc(c).strip() for c in row]
            if not any(cells):
                continue
            if len(rows) > lim.rows:
                raise too_many_rows()
            if len(cells) > lim.columns:
                raise fail(
                    "excel.too_many_columns",
                    _("Dòng %(line)s của tệp CSV có %(n)s cột, quá giới hạn %(limit)s cột."),
                    {"line": len(rows) + 1, "n": len(cells), "limit": lim.columns},
                )
            rows.append(cells)
    except csv.Error:
        raise fail("csv.unreadable", _("Không đọc được tệp CSV (có ô quá dài hoặc ký tự lạ).")) from None
    return Table(rows, delimiter)


def read_table(content: bytes, *, name: str) -> Table:
    """The rows of an upload named ``name``: a CSV file, or the first sheet of an XLSX workbook, read safely."""
    if name.lower().endswith(".csv"):
        return read_csv(content)
    sheets = open_workbook(content).values.worksheets
    ws = sheets[0]
    rows = [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return Table([row for row in rows if any(row)])


def read_meta(wb: Book) -> dict[str, str] | None:
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
    return " ".join(nfc(str(text or "")).casefold().split())


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
    return nfc(str(value)).strip()


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


def find_header_row(ws: ReadSheet, wanted: set[str]) -> int | None:
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


# What Excel (or a program reading the file as CSV) would run as a formula at the start of a text: OWASP's list,
# and the fullwidth signs a Vietnamese or Japanese input method may type, which Excel also takes as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def keep_as_text(cell: Any) -> None:
    """A text cell that starts like a formula stays the same text: a string cell, quote-prefixed so that Excel keeps
    it a text when the cell is edited. openpyxl makes a formula of any ``str`` starting with "="; this undoes it."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def neutralise_formulas(wb: Workbook) -> None:
    """Every cell of ``wb`` holding a text that looks like a formula is written as that text (HọcBạ writes no
    formulas: names, addresses and comments come from people). Numbers stay numbers."""
    for ws in wb.worksheets:
        for cell in ws._cells.values():  # the cells that exist; iter_rows() would create the empty ones
            keep_as_text(cell)


def xlsx_bytes(wb: Workbook) -> bytes:
    """The workbook as a file: every export, template and report goes through here, formulas neutralised."""
    neutralise_formulas(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def listing_workbook(
    *, title: str, subtitle: str, headers: list[str], rows: list[list[Any]], widths: list[float], note: str = ""
) -> bytes:
    """One sheet: a title, a subtitle, the header row (frozen) and the rows — a list as it shows on a page (the
    history's changes, the platform log). Every value is written as text; formulas are neutralised."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(title, set())
    ws.cell(row=1, column=1, value=title).font = TITLE_FONT
    ws.cell(row=2, column=1, value=subtitle).font = MUTED_FONT
    first = 4 if not note else 5
    if note:
        ws.cell(row=3, column=1, value=note).font = MUTED_FONT
    for col, header in enumerate(headers, start=1):
        ws.cell(row=first, column=col, value=header)
    style_header(ws, first, 1, len(headers))
    top = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(rows, start=first + 1):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.alignment, cell.border = top, BORDER
    ws.freeze_panes = ws.cell(row=first + 1, column=1)
    set_widths(ws, widths)
    return xlsx_bytes(wb)
