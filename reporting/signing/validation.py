"""Validation of a signed record book: ``validate(pdf, trust_roots) -> Verdict``.

For each signature: who signed (certificate subject, initials), when, whether its digest matches (integrity), whether
the document was changed after it, and whether its certificate chains to a trusted root. The bottom line judges the
whole document, not only "each signature intact": a page appended after signing leaves every signature intact but
the document altered. Never raises for bad input: a non-PDF, a truncated or damaged file, an oversized one all get a
verdict with a message for people (Vietnamese, translated).

Changes after a signature are judged with pyHanko's difference analysis; only later signatures and the form-filling
they need (the next signer's field and appearance) and signature maintenance (DSS, document timestamps) are allowed.
Anything else — a page, an annotation over a grade, a changed content stream — makes the document altered.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils.translation import gettext_lazy as _
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .base import run

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
ALLOWED_AFTER = frozenset({ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING})


class Outcome(enum.StrEnum):
    VALID = "valid"
    ALTERED = "altered"
    UNKNOWN_SIGNER = "unknown_signer"
    NOT_SIGNED = "not_signed"
    NOT_PDF = "not_pdf"
    DAMAGED = "damaged"
    TOO_LARGE = "too_large"


OUTCOME_MESSAGES = {
    Outcome.VALID: _("Hợp lệ: các chữ ký còn nguyên vẹn, tài liệu không bị sửa sau khi ký, người ký được xác thực."),
    Outcome.ALTERED: _("Tài liệu đã bị thay đổi sau khi ký."),
    Outcome.UNKNOWN_SIGNER: _("Không xác thực được người ký: chứng thư số không do tổ chức được tin cậy cấp."),
    Outcome.NOT_SIGNED: _("Tài liệu không có chữ ký số."),
    Outcome.NOT_PDF: _("Tệp không phải là PDF."),
    Outcome.DAMAGED: _("Tệp PDF bị hỏng hoặc không đầy đủ, không kiểm tra được."),
    Outcome.TOO_LARGE: _("Tệp vượt quá dung lượng cho phép."),
}


class SignatureState(enum.StrEnum):
    VALID = "valid"
    BROKEN = "broken"  # the digest or the signature value does not match: the signed bytes were changed
    MODIFIED_AFTER = "modified_after"  # intact, but the document was changed after it in a way not allowed
    UNTRUSTED = "untrusted"  # intact, but the certificate does not chain to a trusted root
    UNREADABLE = "unreadable"


SIGNATURE_MESSAGES = {
    SignatureState.VALID: _("Chữ ký hợp lệ."),
    SignatureState.BROKEN: _("Chữ ký không khớp với nội dung: phần đã ký bị sửa."),
    SignatureState.MODIFIED_AFTER: _("Tài liệu bị sửa đổi sau chữ ký này."),
    SignatureState.UNTRUSTED: _("Chứng thư số không do tổ chức được tin cậy cấp."),
    SignatureState.UNREADABLE: _("Chữ ký không đọc được."),
}


@dataclass(frozen=True)
class SignatureReport:
    field: str
    signer: str  # the certificate's common name
    initials: str
    organisation: str
    subject: str  # the whole distinguished name
    signed_at: dt.datetime | None  # the timestamp's time when there is one, else the time the signer declared
    timestamped: bool
    intact: bool  # the digest of the signed bytes matches
    valid: bool  # the signature value matches the certificate's key
    trusted: bool  # the certificate chains to one of the trust roots
    coverage: str  # entire_file | entire_revision | partial
    modification: str  # none | form_filling | lta_updates | annotations | other | unknown
    modified_after: bool
    state: SignatureState

    @property
    def message(self):
        return SIGNATURE_MESSAGES[self.state]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    signatures: tuple[SignatureReport, ...] = ()
    sha256: str = ""
    detail: str = ""  # for logs, not for people

    @property
    def message(self):
        return OUTCOME_MESSAGES[self.outcome]

    @property
    def valid(self) -> bool:
        return self.outcome is Outcome.VALID


MAX_INITIALS = 10  # "X." each: fits ``DocumentSignature.signer_initials`` (20 characters)


def initials(name: str) -> str:
    """“Ngô Thị Lan” → “N.T.L.”: the only part of a signer's name the public verification shows, in one format
    whether it comes from the account's name when signing (the public index) or from a certificate's subject (an
    uploaded file). Words not starting with a letter (a title in brackets, a number) are left out."""
    letters = [word[0].upper() for word in unicodedata.normalize("NFC", name).split() if word[:1].isalpha()]
    return "".join(f"{letter}." for letter in letters[:MAX_INITIALS])


def _roots(trust_roots: Iterable) -> list[asn1_x509.Certificate]:
    out = []
    for root in trust_roots:
        if isinstance(root, asn1_x509.Certificate):
            out.append(root)
        elif isinstance(root, x509.Certificate):
            out.append(asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER)))
        elif isinstance(root, bytes):
            der = x509.load_pem_x509_certificate(root) if root.lstrip().startswith(b"-----") else None
            out.append(asn1_x509.Certificate.load(der.public_bytes(serialization.Encoding.DER) if der else root))
        else:
            raise TypeError(f"trust root of type {type(root).__name__}")
    return out


def _name_part(cert: asn1_x509.Certificate, key: str) -> str:
    value = cert.subject.native.get(key, "")
    return value[-1] if isinstance(value, list) else str(value or "")


_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
}


async def _report(embedded, context_roots: list[asn1_x509.Certificate], at: dt.datetime | None) -> SignatureReport:
    field = str(embedded.field_name or "")
    context = ValidationContext(trust_roots=context_roots, allow_fetching=False, revocation_mode="soft-fail", moment=at)
    try:
        status = await async_validate_pdf_signature(embedded, context)
    except Exception as exc:  # noqa: BLE001 — untrusted input: any failure is a verdict, never an error page
        logger.info("signature %s unreadable: %r", field, exc)
        return SignatureReport(field, "", "", "", "", None, False, False, False, False, "partial", "unknown", True,
                               SignatureState.UNREADABLE)  # fmt: skip
    cert = status.signing_cert
    common_name = _name_part(cert, "common_name")
    level = status.modification_level
    modified_after = status.coverage != SignatureCoverageLevel.ENTIRE_FILE and (
        status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or level not in ALLOWED_AFTER
    )
    timestamp = getattr(status, "timestamp_validity", None)
    timestamped = bool(timestamp is not None and timestamp.intact and timestamp.valid)
    signed_at = timestamp.timestamp if timestamped else status.signer_reported_dt
    if not (status.intact and status.valid):
        state = SignatureState.BROKEN
    elif modified_after:
        state = SignatureState.MODIFIED_AFTER
    elif not status.trusted:
        state = SignatureState.UNTRUSTED
    else:
        state = SignatureState.VALID
    return SignatureReport(
        field=field,
        signer=common_name,
        initials=initials(common_name),
        organisation=_name_part(cert, "organization_name"),
        subject=cert.subject.human_friendly,
        signed_at=signed_at,
        timestamped=timestamped,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        coverage=_COVERAGE.get(status.coverage, "partial"),
        modification=level.name.lower() if level is not None else "unknown",
        modified_after=modified_after,
        state=state,
    )


async def async_validate(
    pdf: bytes, trust_roots: Iterable, *, max_bytes: int = DEFAULT_MAX_BYTES, at: dt.datetime | None = None
) -> Verdict:
    if not isinstance(pdf, bytes | bytearray | memoryview):
        return Verdict(Outcome.NOT_PDF, detail=f"type {type(pdf).__name__}")
    pdf = bytes(pdf)
    if len(pdf) > max_bytes:
        return Verdict(Outcome.TOO_LARGE, detail=f"{len(pdf)} bytes")
    sha256 = hashlib.sha256(pdf).hexdigest()
    if not pdf[:1024].lstrip().startswith(b"%PDF-"):
        return Verdict(Outcome.NOT_PDF, sha256=sha256)
    roots = _roots(trust_roots)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception as exc:  # noqa: BLE001 — a damaged file is a verdict, not an error
        return Verdict(Outcome.DAMAGED, sha256=sha256, detail=repr(exc))
    if not embedded:
        return Verdict(Outcome.NOT_SIGNED, sha256=sha256)
    reports = tuple([await _report(sig, roots, at) for sig in embedded])
    states = {r.state for r in reports}
    if states & {SignatureState.BROKEN, SignatureState.MODIFIED_AFTER}:
        outcome = Outcome.ALTERED
    elif SignatureState.UNREADABLE in states:
        outcome = Outcome.DAMAGED
    elif SignatureState.UNTRUSTED in states:
        outcome = Outcome.UNKNOWN_SIGNER
    else:
        outcome = Outcome.VALID
    return Verdict(outcome, reports, sha256)


def validate(
    pdf: bytes, trust_roots: Iterable, *, max_bytes: int = DEFAULT_MAX_BYTES, at: dt.datetime | None = None
) -> Verdict:
    """The verdict on ``pdf`` against ``trust_roots`` (certificates: cryptography, asn1crypto, DER or PEM bytes).

    ``at``: when the certificates must have been valid (default: now). A record checked years after signing, once
    its signers' certificates have expired, is checked at the time it was archived (the archive's own record of it).
    """
    return run(async_validate(pdf, trust_roots, max_bytes=max_bytes, at=at))
