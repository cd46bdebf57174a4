"""HTML → PDF with WeasyPrint, the way the record books need it: one font configuration and one compiled style sheet
per process, the garbage collector paused during a render, the signature boxes read back from the layout.

A signature box is an element of the template with ``data-sign="<step>"``; its rectangle is taken from the laid-out
page (WeasyPrint's boxes, CSS pixels) and given in PDF points with the origin at the bottom-left corner of the page,
the coordinates a PDF signature field's widget uses (pyHanko's ``SigFieldSpec(box=(x1, y1, x2, y2))``).
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .fonts import font_faces_css, serif_files

CSS_FILE = Path(__file__).resolve().parent.parent / "templates" / "reporting" / "pdf" / "book.css"
PX_TO_PT = 0.75  # WeasyPrint lays out in CSS pixels (96 per inch); PDF points are 72 per inch
SIGN_ATTRIBUTE = "data-sign"

_lock = threading.Lock()


@dataclass(frozen=True)
class Box:
    """Where a signature's visible box is: the page (0 for the first) and the rectangle in PDF points, origin at the
    page's bottom-left corner."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class Rendered:
    """A rendered document: the PDF, the template (and its version) it was drawn from, its number of pages and the
    boxes of its signatures by step (``subject-<code>``, ``homeroom``, ``principal``, ``seal``; in a book of several
    years each name starts with the year: ``2025-principal``)."""

    pdf: bytes
    template: str
    pages: int
    boxes: dict[str, Box] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@functools.cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet() -> CSS:
    """The book's style sheet with its @font-face rules, compiled once per process."""
    return CSS(string=font_faces_css() + "\n" + CSS_FILE.read_text(encoding="utf-8"), font_config=_font_config())


WARM_UP_HTML = (
    '<p>Học bạ <strong>Trường</strong> <em>Nhận xét</em> <span class="page-word">Trang</span>'
    "<span style=\"font-family: 'HocBa Sans'; font-weight: 600\">Giáp lai</span></p>"
)


def prepare_fonts() -> None:
    """Cut the serif faces into this machine's font cache if they are not there yet (≈ 5 CPU-s the first time, then
    nothing): files only, safe before a worker forks its processes."""
    serif_files()


def warm_up() -> None:
    """Compile the style sheet and lay out one line in every face the books use, so that the fonts are loaded in
    this process now (a worker process at start) and not during its first record."""
    stylesheet = _stylesheet()
    with _lock:
        HTML(string=WARM_UP_HTML, base_url=str(CSS_FILE.parent)).render(
            stylesheets=[stylesheet], font_config=_font_config()
        )


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` (error correction M) as a 1-bit PNG data URI, 6 pixels a module (≈ 300 dpi at 16 mm):
    one image the PDF embeds once and draws on every page (an SVG would be drawn again as paths on each page)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, box_size=6)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().get_image().convert("1").save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _signature_boxes(document) -> dict[str, Box]:
    boxes: dict[str, Box] = {}
    for index, page in enumerate(document.pages):
        page_box = page._page_box
        page_height = page_box.margin_height()
        for box in page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or getattr(box, "element_tag", None) is None:
                continue
            step = element.get(SIGN_ATTRIBUTE)
            if not step or step in boxes or not hasattr(box, "border_box_x"):
                continue
            x, y = box.border_box_x(), box.border_box_y()
            width, height = box.border_width(), box.border_height()
            boxes[step] = Box(
                page=index,
                x1=round(x * PX_TO_PT, 2),
                y1=round((page_height - y - height) * PX_TO_PT, 2),
                x2=round((x + width) * PX_TO_PT, 2),
                y2=round((page_height - y) * PX_TO_PT, 2),
            )
    return boxes


def html_to_pdf(html: str, *, template: str, identifier: str) -> Rendered:
    """Lay out and write ``html`` (A4, the book's style sheet). ``identifier`` names the document in the PDF's
    trailer (``/ID``), so the same document renders to the same bytes."""
    stylesheet = _stylesheet()
    with _lock:  # one font configuration per process: renders in threads take turns
        collect = gc.isenabled()
        gc.disable()
        try:
            document = HTML(string=html, base_url=str(CSS_FILE.parent)).render(
                stylesheets=[stylesheet], font_config=_font_config()
            )
            boxes = _signature_boxes(document)
            pdf = document.write_pdf(pdf_identifier=hashlib.sha256(identifier.encode()).hexdigest()[:32].encode())
        finally:
            if collect:
                gc.enable()
    return Rendered(pdf=pdf, template=template, pages=len(document.pages), boxes=boxes)
