"""Signed record books (issue 10, DESIGN §8): the documents rendered from approved records, their chain of signatures,
their archive copies and the hand-over bundles. Every table here is created in every school's schema (≤ 30 tables per
schema, DESIGN §3): five, no more.

The life of a document (``RecordDocument.state``)::

    rendered ──first signature──▶ signing ──the seal──▶ sealed ──archived──▶ archived
        └──────────────┴───────────────┴──── a revocation (principal, reason) ──▶ superseded

and of its record book (``schools.RecordBook.state``, moved by ``reporting.services.signing``): approved → signed
when the school's seal closes the chain, signed → locked by the principal's khóa decision once the document is
archived (004 art. 12.1), signed/locked → draft by a revocation (the document superseded, its archived copy kept by
Object Lock). The chain's order: every subject teacher of the class (the teaching assignments at signing time, one
signature per assignment), then the homeroom teacher, the principal, and the school's organisation seal
(``SignatureStep``).

Audit: ``RecordDocument``, ``DocumentSignature``, ``ArchiveManifest`` and ``Handover`` carry the school's audit
triggers (``schools.audit.triggers``) and no window guard: signing goes on after the whole-year lock (issue 10,
conflict 1). ``DocumentContent`` — the PDF's bytes while the chain is being signed — carries none: each state of
those bytes is in the chain already as its SHA-256 (``RecordDocument.sha256``, ``DocumentSignature.sha256_after``),
and auditing the bytes would copy every intermediate PDF (hundreds of kB, once per signature) into the chain."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TOKEN_BYTES = 32  # the verification token: secrets.token_urlsafe(32), 43 characters


def new_token() -> str:
    """A random token for the QR link of the public verification page (not derived from any id)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class DocumentKind(models.TextChoices):
    RECORD_BOOK = "record_book", _("Học bạ")  # one student, one year (the multi-year book: ``years`` > 1)
    CLASS_BOOK = "class_book", _("Sổ theo dõi và đánh giá học sinh")  # one class, one term or the year
    HANDOVER = "handover", _("Hồ sơ bàn giao")  # a leaving or transferring student's bundle (004 art. 7.2, 8.1)


class DocumentState(models.TextChoices):
    RENDERED = "rendered", _("Đã tạo bản PDF")
    SIGNING = "signing", _("Đang ký số")
    SEALED = "sealed", _("Đã đóng dấu số")
    ARCHIVED = "archived", _("Đã lưu trữ")
    SUPERSEDED = "superseded", _("Đã bị thay thế")


# Forward only; a document leaves any state but archived's successors for superseded (a revocation).
DOCUMENT_MOVES: dict[str, frozenset[str]] = {
    DocumentState.RENDERED: frozenset({DocumentState.SIGNING, DocumentState.SUPERSEDED}),
    DocumentState.SIGNING: frozenset({DocumentState.SEALED, DocumentState.SUPERSEDED}),
    DocumentState.SEALED: frozenset({DocumentState.ARCHIVED, DocumentState.SUPERSEDED}),
    DocumentState.ARCHIVED: frozenset({DocumentState.SUPERSEDED}),
    DocumentState.SUPERSEDED: frozenset(),
}


class SignatureStep(models.TextChoices):
    """The chain's steps, in their order (004 art. 6.5, 7.3, 8.1; DESIGN §8)."""

    SUBJECT = "subject", _("Giáo viên bộ môn")
    HOMEROOM = "homeroom", _("Giáo viên chủ nhiệm")
    PRINCIPAL = "principal", _("Hiệu trưởng")
    SEAL = "seal", _("Dấu của nhà trường")


STEP_ORDER: tuple[str, ...] = tuple(SignatureStep.values)


class SignerBackend(models.TextChoices):
    """Where the signing key is (``reporting.signing``'s backends)."""

    PKCS12 = "pkcs12", _("Khóa lưu trên máy chủ (PKCS#12)")
    PKCS11 = "pkcs11", _("Thiết bị HSM (PKCS#11)")
    REMOTE = "remote", _("Ký số từ xa (CSC)")
    TOKEN = "token", _("USB token của người ký")


class RecordDocument(models.Model):
    """One PDF of the school's books: a student's record book for a year (``kind=record_book``, ``record`` set), a
    class's assessment book (``class_book``: ``school_class``, ``term`` or the year) or a hand-over bundle.

    ``version`` counts the documents of the same record (1, then 2 after a revocation…); at most one document of a
    record is not superseded. ``template_version`` names the layout the PDF was rendered with, versioned by circular
    like the rule sets (e.g. ``tt22-2021.1``; 004 art. 11.2c). ``sha256`` is the digest of the current bytes (after
    the last signature; of the archived object once archived). ``token`` is the random part of the QR link on every
    page; ``uid`` names the document across schools (the public ``tenants.VerificationIndex`` row). The archive
    fields are set once, when the sealed PDF is stored with Object Lock (key by province/unit/school/year/class as of
    the archive date, never re-keyed: conflict 8). A revocation sets ``revoked_*`` and ``superseded_at`` (state
    ``superseded``); ``superseded_by`` is the next version once it exists."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=DocumentKind.choices, default=DocumentKind.RECORD_BOOK)
    record = models.ForeignKey(
        "schools.RecordBook", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    school_class = models.ForeignKey("schools.SchoolClass", on_delete=models.PROTECT, related_name="documents")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    term = models.PositiveSmallIntegerField(null=True, blank=True, help_text="class book: 1 or 2; empty: the year")
    version = models.PositiveSmallIntegerField(default=1)
    template_version = models.CharField(max_length=40, help_text="the layout's version, by circular (004 art. 11.2c)")
    state = models.CharField(max_length=10, choices=DocumentState.choices, default=DocumentState.RENDERED)
    sha256 = models.CharField(max_length=64, help_text="hex digest of the current bytes")
    pages = models.PositiveSmallIntegerField(default=0)
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.BigIntegerField(null=True, blank=True, help_text="the account that asked for the render")
    sealed_at = models.DateTimeField(null=True, blank=True)
    archive_key = models.CharField(max_length=400, blank=True)
    archive_version_id = models.CharField(max_length=200, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "version"], name="document_version_once"),
            models.UniqueConstraint(
                fields=["record"],
                condition=~Q(state="superseded") & Q(record__isnull=False),
                name="one_current_document_per_record",
            ),
            models.CheckConstraint(
                condition=~Q(kind="record_book") | Q(record__isnull=False), name="record_book_names_its_record"
            ),
            models.CheckConstraint(
                condition=Q(state="superseded") | Q(superseded_at__isnull=True, superseded_by__isnull=True),
                name="superseded_only_when_superseded",
            ),
            models.CheckConstraint(
                condition=~Q(state="archived") | (~Q(archive_key="") & Q(archived_at__isnull=False)),
                name="archived_has_its_key",
            ),
        ]
        indexes = [models.Index(fields=["school_class", "state"], name="document_class_state")]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid} v{self.version} ({self.state})"


class DocumentContent(models.Model):
    """The PDF's bytes while its chain is signed (each signature appends an incremental revision). Removed once the
    sealed document is archived: the archive store keeps the bytes, this table only work in progress. No audit
    trigger: every state of the bytes is audited by its SHA-256 (see the module's docstring)."""

    document = models.OneToOneField(RecordDocument, on_delete=models.CASCADE, primary_key=True, related_name="content")
    pdf = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"content of {self.document_id}"


class DocumentSignature(models.Model):
    """One signature of the chain, in order (``seq`` 1, 2, …). A subject signature names its subject (and its code as
    of signing) and the teacher of the class's teaching assignment at signing time (a shared subject: one signature
    per teacher of a part). ``signer_initials`` is what the public verification shows (no other personal data);
    the certificate's subject and serial identify the key; ``sha256_after`` is the digest of the PDF this signature
    produced. The seal is applied by a person (principal or clerk), named as ``signer_id``."""

    document = models.ForeignKey(RecordDocument, on_delete=models.PROTECT, related_name="signatures")
    seq = models.PositiveSmallIntegerField()
    step = models.CharField(max_length=10, choices=SignatureStep.choices)
    subject = models.ForeignKey("schools.Subject", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    subject_code = models.CharField(max_length=40, blank=True)
    signer_id = models.BigIntegerField(help_text="the account that signed (or applied the seal)")
    signer_initials = models.CharField(max_length=20)
    certificate_subject = models.CharField(max_length=400)
    certificate_serial = models.CharField(max_length=100)
    backend = models.CharField(max_length=8, choices=SignerBackend.choices)
    signed_at = models.DateTimeField()
    sha256_after = models.CharField(max_length=64)

    class Meta:
        ordering = ["document", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["document", "seq"], name="signature_seq_once"),
            models.UniqueConstraint(
                fields=["document", "subject", "signer_id"],
                condition=Q(step="subject"),
                name="subject_signed_once_per_teacher",
            ),
            models.UniqueConstraint(
                fields=["document", "step"], condition=~Q(step="subject"), name="chain_step_signed_once"
            ),
            models.CheckConstraint(
                condition=Q(step="subject", subject__isnull=False) | (~Q(step="subject") & Q(subject__isnull=True)),
                name="subject_signature_names_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.seq} {self.step} {self.signer_initials}"


class ArchiveManifest(models.Model):
    """The signed manifest of one class's year in the archive store: the SHA-256 of every file stored for the class
    (PDFs and JSON data), itself stored with Object Lock. ``revision`` grows when a revised record is archived (the
    earlier manifests stay). ``province_code``/``unit_code`` are the tiers the school sat under on the archive date,
    which the key is built from (schools move and merge; a key is never changed afterwards: conflict 8)."""

    school_class = models.ForeignKey("schools.SchoolClass", on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey("schools.SchoolYear", on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveSmallIntegerField(default=1)
    province_code = models.CharField(max_length=40)
    unit_code = models.CharField(
        max_length=40, blank=True, help_text="empty: the school is directly under the province"
    )
    key = models.CharField(max_length=400)
    version_id = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, help_text="of the manifest object")
    files = models.PositiveIntegerField(default=0)
    signed = models.BooleanField(default=False, help_text="the manifest carries the school seal's signature")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "revision"], name="manifest_revision_once")]

    def __str__(self) -> str:
        return f"{self.key} r{self.revision}"


class Handover(models.Model):
    """A hand-over export (004 art. 6.3, 7.2, 8.1; 000 IV.3): the signed books of a leaving or transferring student,
    as one bundle recorded on the enrolment that ends; principal only, on the school's own site."""

    enrolment = models.ForeignKey("schools.Enrolment", on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(
        RecordDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="the bundle"
    )
    documents = models.JSONField(default=list, blank=True, help_text="uids of the signed books in the bundle")
    bundle_key = models.CharField(max_length=400, blank=True)
    version_id = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.BigIntegerField()

    def __str__(self) -> str:
        return f"handover {self.pk} of enrolment {self.enrolment_id}"
