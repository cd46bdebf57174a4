"""Reads of the public index of signed documents (``tenants.VerificationIndex``) for the public verification page
(``reporting.verify``): plain frozen values with only what that page may show — the school's name, the school year,
the kind and version of the document, the signers' initials and times, the SHA-256 of the sealed (then archived)
copy and whether the document still stands. No other personal data is in the index, and nothing here reads a
school's schema (DESIGN §3). One query per call (two when a superseded document's successor is looked up)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from ..models import VerificationIndex

MAX_DIGESTS = 64  # a lookup by digest takes at most this many candidates (the revisions of one upload)


@dataclass(frozen=True)
class IndexSigner:
    step: str
    initials: str
    at: dt.datetime | None


@dataclass(frozen=True)
class IndexedDocument:
    """One row of the index as the public page shows it."""

    uid: uuid.UUID
    school_name: str
    year_start: int
    kind: str
    version: int
    sha256: str
    signers: tuple[IndexSigner, ...]
    sealed_at: dt.datetime
    archived_at: dt.datetime | None
    superseded_at: dt.datetime | None
    superseded_by: uuid.UUID | None
    successor_sealed_at: dt.datetime | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def superseded(self) -> bool:
        return self.superseded_at is not None or self.superseded_by is not None


def _when(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _signers(raw) -> tuple[IndexSigner, ...]:
    out = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict):
            out.append(
                IndexSigner(str(entry.get("step", "")), str(entry.get("initials", ""))[:20], _when(entry.get("at")))
            )
    return tuple(out)


def _row(row: VerificationIndex, successor_sealed_at: dt.datetime | None = None) -> IndexedDocument:
    return IndexedDocument(
        uid=row.uid,
        school_name=row.school.name,
        year_start=row.year_start,
        kind=row.kind,
        version=row.version,
        sha256=row.sha256,
        signers=_signers(row.signers),
        sealed_at=row.sealed_at,
        archived_at=row.archived_at,
        superseded_at=row.superseded_at,
        superseded_by=row.superseded_by,
        successor_sealed_at=successor_sealed_at,
    )


def _with_successor(row: VerificationIndex | None) -> IndexedDocument | None:
    if row is None:
        return None
    successor = None
    if row.superseded_by is not None:
        successor = VerificationIndex.objects.filter(uid=row.superseded_by).values_list("sealed_at", flat=True).first()
    return _row(row, successor)


def indexed_by_token(*, token: str) -> IndexedDocument | None:
    """The document whose QR link carries ``token``, or None."""
    return _with_successor(VerificationIndex.objects.select_related("school").filter(token=token).first())


def indexed_by_digest(*, digests: Iterable[str]) -> tuple[IndexedDocument | None, str]:
    """The document whose sealed (or archived) copy has one of ``digests`` (SHA-256 hex, the longest prefix of an
    upload first), and the digest that matched; (None, "") when none does. An upload that is the archived copy
    matches its own digest; one with revisions appended after the seal matches the digest of the prefix it grew
    from."""
    ordered = list(dict.fromkeys(d for d in digests if d))[:MAX_DIGESTS]
    if not ordered:
        return None, ""
    rows = {r.sha256: r for r in VerificationIndex.objects.select_related("school").filter(sha256__in=ordered)}
    for digest in ordered:
        if digest in rows:
            return _with_successor(rows[digest]), digest
    return None, ""
