"""The public index of signed documents (issue 10, conflict 7): what the public verification page reads.

The documents themselves live in each school's schema (``reporting.RecordDocument``) and nothing reads across
schemas at request time (DESIGN §3), so each sealed or archived document has a row here, written in the school's
own transaction through ``tenants.services.verification``. Only the minimum for an outsider: the school, the year,
the digest and where the archived copy is, the signers' initials and times — no name, no result, no class."""

from __future__ import annotations

from django.db import models


class VerificationIndex(models.Model):
    """One signed document. ``token`` is the random part of the QR link printed on its pages (the school's
    ``RecordDocument.token``); ``uid`` the document's uid. ``signers``: ``[{"step", "initials", "at"}]`` in the
    chain's order (``at`` ISO 8601). ``superseded_at`` is set by a revocation (the document no longer stands);
    ``superseded_by`` names the later version's uid once it is sealed."""

    uid = models.UUIDField(unique=True)
    token = models.CharField(max_length=64, unique=True)
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    year_start = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12)
    version = models.PositiveSmallIntegerField(default=1)
    sha256 = models.CharField(max_length=64, db_index=True)
    s3_key = models.CharField(max_length=400, blank=True)
    s3_version_id = models.CharField(max_length=200, blank=True)
    signers = models.JSONField(default=list)
    sealed_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["school", "year_start"], name="verification_school_year")]

    def __str__(self) -> str:
        return f"{self.uid} ({self.school_id}/{self.year_start})"
