"""The one signing interface: ``Signer.sign(pdf, field=, box=, reason=, name=, appearance=) -> pdf``.

Each call appends an incremental update holding one PAdES signature (PAdES-B-B; B-T when the backend has a timestamp
source), so the signatures already in the document stay valid. The backends (local PKCS#12, PKCS#11 token, remote
CSC service, the signer's own device) differ only in where the private-key operation happens; the PDF work is here.

Speed (DESIGN §8, ``bench/record_books_sign.py``): stock pyHanko re-parses the private key for every signature, signs
twice (a dry run to size the signature container, then the real one) and re-reads the appearance font; here the key
is parsed once per process, the container size is computed once per signer and the font is loaded once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields
from pyhanko.sign import signers as ph_signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import TextStampStyle

from .fonts import appearance_text, signature_font

DIGEST = "sha256"
# Room for what the CMS holds besides the certificates: signed attributes, the signature value (RSA 2048: 256 bytes,
# ECDSA P-256: ≤ 72), algorithm identifiers and structure. Measured ≈ 600; the rest is margin.
CMS_OVERHEAD = 1536


class SigningFailed(Exception):
    """Signing could not be done; ``message`` says why, for people (Vietnamese, translated)."""

    def __init__(self, message, *, detail: str = "") -> None:
        super().__init__(message, detail)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return str(self.message) + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class SignatureBox:
    """Where the signature shows: a page (0 = the first, -1 = the last) and a rectangle in PDF points
    (origin at the bottom left), as the renderer places the signature blocks."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def of(cls, value: SignatureBox | tuple | None) -> SignatureBox | None:
        if value is None or isinstance(value, SignatureBox):
            return value
        try:
            page, x1, y1, x2, y2 = value
            box = cls(int(page), float(x1), float(y1), float(x2), float(y2))
        except (TypeError, ValueError) as exc:
            raise SigningFailed(_("Vị trí chữ ký không hợp lệ."), detail=repr(value)) from exc
        if box.x2 <= box.x1 or box.y2 <= box.y1:
            raise SigningFailed(_("Vị trí chữ ký không hợp lệ."), detail=repr(value))
        return box

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


@dataclass(frozen=True)
class Appearance:
    """What the signature box shows: lines of text (Vietnamese, in the package font; ``{ts}`` becomes the signing
    time, dd/mm/yyyy HH:MM), or an image (PNG/JPEG bytes, e.g. the seal), or both (the text over the image)."""

    text: str = ""
    image: bytes = b""

    @classmethod
    def of(cls, value: Appearance | str | bytes | None) -> Appearance | None:
        if value is None or isinstance(value, Appearance):
            return value
        if isinstance(value, bytes):
            return cls(image=value)
        return cls(text=str(value))


@cache
def _background(image: bytes) -> PdfImage:
    with Image.open(io.BytesIO(image)) as img:
        img.load()
        return PdfImage(img.copy())


def stamp_style(appearance: Appearance | None):
    if appearance is None:
        return None
    background = None
    if appearance.image:
        try:
            background = _background(appearance.image)
        except Exception as exc:  # Pillow raises many kinds for a bad image
            raise SigningFailed(_("Ảnh con dấu không đọc được."), detail=type(exc).__name__) from exc
    return TextStampStyle(
        stamp_text=appearance_text(appearance.text).replace("%", "%%").replace("{ts}", "%(signed_at)s"),
        text_box_style=TextBoxStyle(font=signature_font(9), leading=11),
        background=background,
        background_opacity=1.0,
        border_width=0,
    )


def signature_size(cms_signer: ph_signers.Signer, timestamp_size: int = 0) -> int:
    """Bytes to reserve for the signature container: the certificates it embeds, the rest, and the timestamp."""
    registry = list(cms_signer.cert_registry)
    certs = [cms_signer.signing_cert, *registry] if cms_signer.signing_cert is not None else registry
    seen, total = set(), 0
    for cert in certs:
        der = cert.dump()
        if der not in seen:
            seen.add(der)
            total += len(der)
    return total + CMS_OVERHEAD + timestamp_size


def check_certificate_key(cert) -> None:
    """TT 15/2025/TT-BKHCN: the certificate's key is RSA ≥ 2048 bits or ECDSA ≥ 256 bits (asn1crypto certificate)."""
    key = cert.public_key
    if (key.algorithm == "rsa" and key.bit_size >= 2048) or (key.algorithm == "ec" and key.bit_size >= 256):
        return
    raise SigningFailed(
        _("Khóa ký không đạt yêu cầu (RSA từ 2048 bit hoặc ECDSA từ 256 bit)."),
        detail=f"{key.algorithm} {key.bit_size}",
    )


class Signer:
    """A signing backend. Subclasses provide ``_cms_signer`` (an async context giving a pyHanko signer)."""

    backend = "base"
    timestamper: TimeStamper | None = None

    def __init__(self, *, timestamper: TimeStamper | None = None) -> None:
        self.timestamper = timestamper
        self._reserved: int | None = None

    # --- for subclasses ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _cms_signer(self) -> AsyncIterator[ph_signers.Signer]:
        raise NotImplementedError
        yield  # pragma: no cover

    async def _bytes_reserved(self, cms_signer: ph_signers.Signer) -> int:
        if self._reserved is None:
            ts_size = 0
            if self.timestamper is not None:
                dummy = await self.timestamper.async_dummy_response(DIGEST)
                ts_size = len(dummy.dump()) + 512
            # pyHanko counts the placeholder in hexadecimal digits: two per byte.
            self._reserved = 2 * signature_size(cms_signer, ts_size)
        return self._reserved

    # --- the interface ----------------------------------------------------------------------------
    def sign(
        self,
        pdf: bytes,
        *,
        field: str,
        box: SignatureBox | tuple | None = None,
        reason: str = "",
        name: str = "",
        location: str = "",
        appearance: Appearance | str | bytes | None = None,
    ) -> bytes:
        """``pdf`` with one more signature in ``field``: the document's empty field of that name where the renderer
        placed one, else a new field at ``box``, else (no box) an invisible signature. A filled field is refused."""
        return run(
            self.async_sign(
                pdf, field=field, box=box, reason=reason, name=name, location=location, appearance=appearance
            )
        )

    async def async_sign(
        self,
        pdf: bytes,
        *,
        field: str,
        box: SignatureBox | tuple | None = None,
        reason: str = "",
        name: str = "",
        location: str = "",
        appearance: Appearance | str | bytes | None = None,
    ) -> bytes:
        signer_pdf = _prepare(pdf, field=field, box=box, reason=reason, name=name, location=location)
        async with self._cms_signer() as cms_signer:
            reserved = await self._bytes_reserved(cms_signer)
            pdf_signer = ph_signers.PdfSigner(
                signer_pdf.meta,
                signer=cms_signer,
                timestamper=self.timestamper,
                stamp_style=stamp_style(Appearance.of(appearance)),
                new_field_spec=signer_pdf.field_spec,
            )
            out = io.BytesIO()
            try:
                await pdf_signer.async_sign_pdf(
                    signer_pdf.writer,
                    output=out,
                    bytes_reserved=reserved,
                    appearance_text_params=_text_params(name, reason),
                )
            except SigningFailed:
                raise
            except (SigningError, PdfError, LayoutError, ValueError, KeyError) as exc:
                raise SigningFailed(_("Không ký được tài liệu."), detail=str(exc)) from exc
        return out.getvalue()


@dataclass
class PreparedPdf:
    writer: IncrementalPdfFileWriter
    meta: ph_signers.PdfSignatureMetadata
    field_spec: fields.SigFieldSpec | None


def open_pdf(pdf: bytes) -> IncrementalPdfFileWriter:
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        raise SigningFailed(_("Tệp không phải là PDF."))
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SigningFailed(_("Tệp PDF bị hỏng, không ký được."), detail=str(exc)) from exc


def _prepare(pdf: bytes, *, field: str, box, reason: str, name: str, location: str) -> PreparedPdf:
    if not field or "." in field:
        raise SigningFailed(_("Tên ô chữ ký không hợp lệ."), detail=repr(field))
    writer = open_pdf(pdf)
    sig_box = SignatureBox.of(box)
    field_spec = None
    try:
        existing = [filled for _name, filled, _ref in fields.enumerate_sig_fields(writer, with_name=field)]
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningFailed(_("Tệp PDF bị hỏng, không ký được."), detail=str(exc)) from exc
    if any(filled is not None for filled in existing):
        raise SigningFailed(_("Ô chữ ký này đã được ký."), detail=field)
    if sig_box is not None and not existing:  # a field the renderer placed keeps its place
        pages = int(writer.root["/Pages"]["/Count"])
        page = sig_box.page if sig_box.page >= 0 else pages + sig_box.page
        if not 0 <= page < pages:
            raise SigningFailed(_("Vị trí chữ ký không hợp lệ."), detail=f"page {sig_box.page} of {pages}")
        field_spec = fields.SigFieldSpec(sig_field_name=field, on_page=page, box=sig_box.rect)
    meta = ph_signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm=DIGEST,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        name=name or None,
        location=location or None,
    )
    return PreparedPdf(writer, meta, field_spec)


def _text_params(name: str, reason: str) -> dict:
    """What an appearance's text may name: the signing time in the site's time zone (dd/mm/yyyy HH:MM)."""
    now = timezone.localtime(dt.datetime.now(dt.UTC))
    return {"signed_at": now.strftime("%d/%m/%Y %H:%M"), "signer": name, "reason": reason}


def run(coro):
    """Run a coroutine from synchronous code (a worker, a view, a test), inside or outside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running loop (rare: an async caller should await async_sign): a helper thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
