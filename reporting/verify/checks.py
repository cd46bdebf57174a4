"""The public page's verdict: the validation of the file (``reporting.signing.validation``) judged together with the
public index (``tenants.selectors.verification``).

* **valid** — the signatures are intact, chain to a trusted root and nothing was changed after them, and the file is
  a registered document that still stands (by its QR link: the registered document stands);
* **altered** — the file was changed after a signature (a page appended, a grade annotated, a signed byte changed);
* **superseded** — the file is (or grew from) a registered document that the school revoked: a later version
  replaces it;
* **unknown** — no such link, no signature, a signer not certified by a trusted authority, or a validly signed file
  that HọcBạ never registered;
* **unreadable** — not a PDF, a damaged or truncated one, or one over the size limit: a message, no verdict.

A file "matches the archived copy" when its SHA-256 is the index row's (the sealed copy's, then the archived
object's). A file with revisions appended after the seal is still found: the digest of each prefix ending at an
end-of-file marker is looked up too (one query), so the page can say which document it was made from."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.selectors.verification import IndexedDocument, indexed_by_digest, indexed_by_token

from ..models import DocumentKind, SignatureStep
from ..signing.validation import Outcome, SignatureReport, SignatureState, validate
from .links import token_shaped
from .roots import trust_roots

MAX_REVISIONS = 40  # end-of-file markers looked at (a record of 15 signatures has 16 revisions)
_EOF = re.compile(rb"%%EOF(\r\n|\r|\n)?")


class Verdict(enum.StrEnum):
    VALID = "valid"
    ALTERED = "altered"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"
    UNREADABLE = "unreadable"


VERDICT_TITLES = {
    Verdict.VALID: pgettext_lazy("verify", "Hợp lệ"),
    Verdict.ALTERED: _("Đã bị sửa đổi"),
    Verdict.SUPERSEDED: _("Đã bị thay thế"),
    Verdict.UNKNOWN: pgettext_lazy("verify", "Không xác định"),
    Verdict.UNREADABLE: _("Không kiểm tra được"),
}

MESSAGES = {
    "registered": _("Tài liệu có trong sổ đăng ký của HọcBạ và đang có hiệu lực."),
    "valid_file": _(
        "Hợp lệ: các chữ ký còn nguyên vẹn, tài liệu không bị sửa sau khi ký, người ký được xác thực và tài liệu có "
        "trong sổ đăng ký của HọcBạ."
    ),
    "superseded": _(
        "Tài liệu này đã bị nhà trường thu hồi và được thay thế bằng một phiên bản mới hơn; bản này không còn giá trị."
    ),
    "unknown_token": _("Không tìm thấy tài liệu nào ứng với mã này. Hãy kiểm tra lại đường dẫn hoặc mã QR."),
    "not_registered": _(
        "Các chữ ký hợp lệ nhưng tài liệu không có trong sổ đăng ký của HọcBạ (chưa được đóng dấu của nhà trường "
        "hoặc không do HọcBạ lập)."
    ),
    "other_document": _("Tệp này không phải là tài liệu của mã QR này."),
}

SIGNATURE_STATE_LABELS = {
    SignatureState.VALID: pgettext_lazy("verify", "Hợp lệ"),
    SignatureState.BROKEN: _("Không khớp nội dung"),
    SignatureState.MODIFIED_AFTER: _("Bị sửa sau khi ký"),
    SignatureState.UNTRUSTED: _("Người ký không được xác thực"),
    SignatureState.UNREADABLE: pgettext_lazy("verify", "Không đọc được"),
}

STEP_LABELS = dict(SignatureStep.choices)
KIND_LABELS = dict(DocumentKind.choices)


@dataclass(frozen=True)
class ShownSignature:
    """One signature as the page shows it: the step (when known from the index), the initials (the school's name for
    its seal), the time, and — for an uploaded file — its state."""

    step: str
    who: str
    at: dt.datetime | None
    state: str = ""

    @property
    def step_label(self):
        return STEP_LABELS.get(self.step, "")

    @property
    def state_label(self):
        return SIGNATURE_STATE_LABELS.get(SignatureState(self.state), "") if self.state else ""


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    message: object  # a lazy translation
    status: int = 200
    document: IndexedDocument | None = None
    signatures: tuple[ShownSignature, ...] = ()
    file_checked: bool = False
    matches_archive: bool = False  # the file's SHA-256 is the index row's
    grew_from_document: bool = False  # the file is a registered document with revisions appended after its seal
    sha256: str = ""

    @property
    def title(self):
        return VERDICT_TITLES[self.verdict]

    @property
    def year_label(self) -> str:
        return f"{self.document.year_start}–{self.document.year_start + 1}" if self.document else ""

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.document.kind, "") if self.document else ""


def revision_digests(pdf: bytes) -> list[str]:
    """SHA-256 of the whole file, then of each prefix ending at an end-of-file marker (with its line end, and
    without), the longest first: the revisions an incremental update keeps intact."""
    ends: set[int] = set()
    for match in _EOF.finditer(pdf):
        ends.update((match.end(), match.start() + 5))
    kept = sorted(e for e in ends if 0 < e < len(pdf))[-2 * MAX_REVISIONS :]
    # One pass over the bytes: a running hash, copied at each end (a file full of markers costs no more).
    running, position, at_end = hashlib.sha256(), 0, {}
    for end in kept:
        running.update(pdf[position:end])
        position = end
        at_end[end] = running.copy().hexdigest()
    running.update(pdf[position:])
    digests = [running.hexdigest(), *(at_end[end] for end in reversed(kept))]
    return list(dict.fromkeys(digests))


def _from_index(document: IndexedDocument) -> tuple[ShownSignature, ...]:
    return tuple(ShownSignature(s.step, s.initials, s.at) for s in document.signers)


def _who(report: SignatureReport) -> str:
    # The seal's certificate names the school (CN = O): its name is shown; a person's only as initials.
    if report.signer and report.signer == report.organisation:
        return report.organisation
    return report.initials or "—"


def _from_file(reports: tuple[SignatureReport, ...], document: IndexedDocument | None) -> tuple[ShownSignature, ...]:
    steps = [s.step for s in document.signers] if document and len(document.signers) == len(reports) else []
    return tuple(
        ShownSignature(steps[i] if steps else "", _who(r), r.signed_at, r.state.value) for i, r in enumerate(reports)
    )


def check_token(token: str) -> Check:
    """The QR link: what the index says of the document (one or two queries; none for a malformed token)."""
    document = indexed_by_token(token=token) if token_shaped(token) else None
    if document is None:
        return Check(Verdict.UNKNOWN, MESSAGES["unknown_token"], status=404)
    if document.superseded:
        return Check(Verdict.SUPERSEDED, MESSAGES["superseded"], document=document, signatures=_from_index(document))
    return Check(Verdict.VALID, MESSAGES["registered"], document=document, signatures=_from_index(document))


def check_file(pdf: bytes, *, token: str | None = None) -> Check:
    """An uploaded file, alone (``/xac-minh/``) or against the document of a QR link (``/xac-minh/<token>/``)."""
    max_bytes = int(settings.VERIFY_MAX_UPLOAD_BYTES)
    if len(pdf) > max_bytes:
        return Check(Verdict.UNREADABLE, _("Tệp vượt quá dung lượng cho phép."), status=413, file_checked=True)
    digests = revision_digests(pdf)
    if token is not None:
        document = indexed_by_token(token=token) if token_shaped(token) else None
        if document is None:
            return Check(Verdict.UNKNOWN, MESSAGES["unknown_token"], status=404)
        matched = next((d for d in digests if d == document.sha256), "")
    else:
        document, matched = indexed_by_digest(digests=digests)
    known = document if matched else None
    at = (known.archived_at or known.sealed_at) if known else None
    verdict = validate(pdf, trust_roots(), max_bytes=max_bytes, at=at)
    common = {
        "file_checked": True,
        "sha256": digests[0],
        "document": known if known else (document if token is not None else None),
        "matches_archive": bool(known) and matched == digests[0],
        "grew_from_document": bool(known) and matched != digests[0],
    }
    if verdict.outcome in (Outcome.NOT_PDF, Outcome.DAMAGED, Outcome.TOO_LARGE):
        status = 413 if verdict.outcome is Outcome.TOO_LARGE else 400
        return Check(Verdict.UNREADABLE, verdict.message, status=status, **{**common, "document": None})
    signatures = _from_file(verdict.signatures, known)
    if verdict.outcome is Outcome.ALTERED:
        return Check(Verdict.ALTERED, verdict.message, signatures=signatures, **common)
    if verdict.outcome in (Outcome.NOT_SIGNED, Outcome.UNKNOWN_SIGNER):
        return Check(Verdict.UNKNOWN, verdict.message, signatures=signatures, **common)
    if known is None:
        message = MESSAGES["other_document"] if token is not None else MESSAGES["not_registered"]
        return Check(Verdict.UNKNOWN, message, signatures=signatures, **common)
    if known.superseded:
        return Check(Verdict.SUPERSEDED, MESSAGES["superseded"], signatures=signatures, **common)
    return Check(Verdict.VALID, MESSAGES["valid_file"], signatures=signatures, **common)
