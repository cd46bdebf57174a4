"""The public index of signed documents (``tenants.VerificationIndex``, issue 10 conflict 7), written by the schools'
signing services in their own transaction — plain values in, nothing read across schemas later: the public
verification page answers from these rows alone (valid, superseded, unknown; the school, the year, the signers'
initials and times)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ..models import VerificationIndex


@dataclass(frozen=True)
class Signer:
    """One signature as the public page shows it: the step, the signer's initials and the time."""

    step: str
    initials: str
    at: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {"step": self.step, "initials": self.initials, "at": self.at.isoformat()}


def index_register(
    *,
    uid: uuid.UUID,
    token: str,
    school_id: int,
    year_start: int,
    kind: str,
    version: int,
    sha256: str,
    signers: Sequence[Signer],
    sealed_at: dt.datetime,
) -> None:
    """A document was sealed: its row (created, or brought up to date when the seal is applied again)."""
    VerificationIndex.objects.update_or_create(
        uid=uid,
        defaults={
            "token": token,
            "school_id": school_id,
            "year_start": year_start,
            "kind": kind,
            "version": version,
            "sha256": sha256,
            "signers": [s.as_dict() for s in signers],
            "sealed_at": sealed_at,
        },
    )


def index_archived(*, uid: uuid.UUID, sha256: str, s3_key: str, s3_version_id: str, archived_at: dt.datetime) -> int:
    """The sealed document is in the archive store: where (key and object version) and the digest stored there."""
    return VerificationIndex.objects.filter(uid=uid).update(
        sha256=sha256, s3_key=s3_key, s3_version_id=s3_version_id, archived_at=archived_at
    )


def index_superseded(*, uid: uuid.UUID, at: dt.datetime) -> int:
    """The document was revoked: it no longer stands (its archived copy stays, Object Lock)."""
    return VerificationIndex.objects.filter(uid=uid, superseded_at__isnull=True).update(superseded_at=at)


def index_successor(*, uids: Sequence[uuid.UUID], successor: uuid.UUID) -> int:
    """The later version of revoked documents is sealed: their rows name it."""
    return VerificationIndex.objects.filter(uid__in=list(uids)).update(superseded_by=successor)
