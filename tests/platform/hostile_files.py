"""Hostile uploads, built in the test: zip and shape bombs, a file that is no workbook, CSV variants.

Each builder returns the bytes of a file a person (or an attacker) could upload. The sheets are written as raw
SpreadsheetML into a workbook openpyxl made, so that everything but the hostile part is ordinary.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@cache
def _parts() -> dict[str, bytes]:
    wb = Workbook()
    wb.active.title = "Trang"
    wb.active["A1"] = "x"
    out = io.BytesIO()
    wb.save(out)
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def workbook_with(parts: dict[str, Iterable[bytes]]) -> bytes:
    """An ordinary workbook whose parts named in ``parts`` are replaced by the chunks given (streamed, deflated)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _parts().items():
            if name not in parts:
                archive.writestr(name, data)
        for name, chunks in parts.items():
            with archive.open(name, "w", force_zip64=True) as target:
                for chunk in chunks:
                    target.write(chunk)
    return out.getvalue()


def sheet_xml(rows: Iterable[bytes], dimension: str = "A1") -> Iterator[bytes]:
    yield (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}">'
        f'<dimension ref="{dimension}"/><sheetData>'
    ).encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@cache
def unpacks_to_50_mb() -> bytes:
    """A sheet of one block of rows repeated until it unpacks to 50 MB (the finding: 2 MB → 48 MB)."""
    block = b"".join(
        (
            f'<row r="{i}">'
            + _inline(f"A{i}", "Nguyễn Văn An")
            + _inline(f"B{i}", "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội")
            + f'<c r="C{i}"><v>7.5</v></c></row>'
        ).encode()
        for i in range(1, 1001)
    )
    return workbook_with({SHEET: sheet_xml([block] * (50 * 1024 * 1024 // len(block) + 1), "A1:C1000")})


@cache
def declares_a1_xfd3000() -> bytes:
    """A tiny workbook whose sheet declares A1:XFD3000: a reader trusting it pads every row to 16,384 columns."""
    rows = [f'<row r="{i}">{_inline(f"A{i}", "x")}</row>'.encode() for i in range(1, 3001)]
    return workbook_with({SHEET: sheet_xml(rows, "A1:XFD3000")})


def _random_numbers(seed: int, n: int, digits: int) -> list[bytes]:
    raw = random.Random(seed).randbytes(n * digits).translate(bytes(48 + b % 10 for b in range(256)))
    return [raw[i : i + digits] for i in range(0, n * digits, digits)]


@cache
def too_many_rows() -> bytes:
    """An ordinary-looking list of 5,000 rows (five numbers each): more data rows than the limit."""
    numbers = iter(_random_numbers(1, 25_000, 6))
    rows = [
        f'<row r="{i}">'.encode()
        + b"".join(b'<c r="%s%d"><v>%s</v></c>' % (c, i, next(numbers)) for c in (b"A", b"B", b"C", b"D", b"E"))
        + b"</row>"
        for i in range(1, 5001)
    ]
    return workbook_with({SHEET: sheet_xml(rows)})


@cache
def huge_xml() -> bytes:
    """About 11 MB of sheet XML, varied enough to compress only ~10× (under the ratio limit): 60,000 rows."""
    numbers = iter(_random_numbers(2, 300_000, 7))
    rows = (
        b'<row r="%d">' % i + b"".join(b"<c><v>%s</v></c>" % next(numbers) for _c in range(5)) + b"</row>"
        for i in range(1, 60_001)
    )
    return workbook_with({SHEET: sheet_xml(rows)})


@cache
def one_giant_row() -> bytes:
    """One row of 400,000 empty styled cells (no value, no reference): a shape bomb in one row."""
    styles = _random_numbers(3, 400_000, 1)
    return workbook_with({SHEET: sheet_xml([b'<row r="1">', b"".join(b'<c s="%s"/>' % d for d in styles), b"</row>"])})


@cache
def many_strings() -> bytes:
    """Shared strings: 120,000 different texts (a sheet pointing at the first)."""
    rnd = random.Random(3)

    def strings():
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="120000" uniqueCount="120000">'.encode()
        for _block in range(120):
            yield "".join(f"<si><t>{rnd.getrandbits(40):x}</t></si>" for _ in range(1000)).encode()
        yield b"</sst>"

    content = workbook_with({SHEET: sheet_xml([b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>']), STRINGS: strings()})
    # Declare the shared strings part, as Excel does.
    return _declare_strings(content)


def _declare_strings(content: bytes) -> bytes:
    out = io.BytesIO()
    override = (
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    )
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml" and b"sharedStrings" not in data:
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            target.writestr(info.filename, data)
    return out.getvalue()


def billion_laughs() -> bytes:
    """A sheet whose DTD expands one entity to 10⁹ “lol”s (“billion laughs”)."""
    entities = b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
    head = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol0 "lol">' + entities + b"]>"
    body = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'.encode()
    return workbook_with({SHEET: [head, body, b"&lol9;</t></is></c></row></sheetData></worksheet>"]})


NOT_A_ZIP = b"%PDF-1.4\n" + bytes(range(256)) * 64

BOMBS = {
    "unpacks_to_50_mb": unpacks_to_50_mb,
    "declares_a1_xfd3000": declares_a1_xfd3000,
    "too_many_rows": too_many_rows,
    "huge_xml": huge_xml,
    "one_giant_row": one_giant_row,
    "many_strings": many_strings,
    "billion_laughs": billion_laughs,
    "not_a_zip": lambda: NOT_A_ZIP,
}
