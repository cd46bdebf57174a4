"""The archive of signed record books (issue 10, Build 4 and 8; DESIGN §8; 004 art. 12): after the seal, the sealed
PDF and the record's data as signed go to the versioned, compliance-locked bucket (``hocba.kernel.archive``), once.

* ``archive_document(access=…, document=…)``: one sealed document → two objects in its class's folder
  (``reporting.archivekeys``: province / unit / school / year / class), the PDF and its JSON data, each written in
  COMPLIANCE mode for ``record_retention_days()``; then ``signing.document_archived`` (the document's key and
  version, ``records_archived`` + 1, the public index row). Called by the signing jobs right after the seal and by
  the archive jobs below.
* ``manifests.manifest_write(access=…, school_class=…)``: the class's manifest — the SHA-256 and object version of
  every file of the class's folder — signed by the school seal's key (a detached CMS beside it,
  ``manifest-rN.json.p7s``), stored with Object Lock, an ``ArchiveManifest`` row. A new revision only when the files
  changed.

**Where.** A class's folder is fixed by its first archived document: the tiers the school sat under on that day
(``tenants.selectors.archive_path``: the effective-dated tree), written in every manifest of the folder and never
changed afterwards, whatever moves or merges follow (conflict 8). A later record of the same class (a revised record
after a revocation) joins the same folder, so one manifest covers the class's year.

**Exactly once.** A document archived in the database is never written again. A document the database still calls
sealed may already be in the store (a worker killed between the write and the commit): every version already at its
key is looked at, and one whose SHA-256 (the object's metadata) is the document's is taken instead of writing a
second version. The JSON data is built only from what the seal froze, so a rerun produces the same bytes. The store
unreachable: ``ArchiveUnavailable`` (the jobs wait and retry; nothing is marked archived). A bucket without Object
Lock: ``ArchiveRefused`` (a ``DomainError``: the job fails with that message, nothing is written).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, EndpointConnectionError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel import archive as store
from hocba.kernel.errors import DomainError, NotAllowed

from schools.access import SchoolAccess
from schools.models import SchoolClass
from tenants.selectors.archive_path import archive_tiers

from .. import archivekeys
from ..models import DocumentContent, DocumentState, RecordDocument
from . import signing

log = logging.getLogger(__name__)

# Short timeouts and no botocore retries of its own: the jobs decide when to try again (Celery retry, backoff).
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
ARCHIVED_STATES = frozenset({DocumentState.ARCHIVED})
DATA_FORMAT = "hocba.record-data/1"


class ArchiveUnavailable(RuntimeError):
    """The archive store did not answer (connection refused, timeout, 5xx): try again later; nothing was marked."""


class ArchiveRefused(DomainError):
    """The bucket has no Object Lock (or no versioning), or does not exist where it may not be created."""

    def __init__(self, detail: str = ""):
        super().__init__(
            "archive.not_locked",
            _(
                "Kho lưu trữ không bật khóa đối tượng (Object Lock) nên không lưu học bạ vào đó được; chưa có học bạ "
                "nào được đánh dấu đã lưu trữ. Hãy báo quản trị hệ thống cấu hình kho lưu trữ."
            ),
            http_status=503,
        )
        self.detail = detail


@dataclass(frozen=True)
class Archived:
    """Where a document is in the archive: its PDF (key, object version, SHA-256) and its JSON data; ``written``:
    whether this call wrote them (False: already archived, or found in the store after an interrupted run)."""

    document_id: int
    key: str
    version_id: str
    sha256: str
    data_key: str
    data_version_id: str
    data_sha256: str
    written: bool


def client():
    """The archive store's client, with short timeouts (``hocba.kernel.archive.archive_client``)."""
    return store.archive_client(CLIENT_CONFIG)


def _unavailable(exc: Exception) -> bool:
    if isinstance(exc, EndpointConnectionError | ConnectionError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500
    return isinstance(exc, BotoCoreError)


def store_call(fn, *args, **kwargs):
    """Call the store; an unreachable one becomes ``ArchiveUnavailable``, a bucket without lock ``ArchiveRefused``."""
    try:
        return fn(*args, **kwargs)
    except store.ArchiveNotLocked as exc:
        raise ArchiveRefused(str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        if _unavailable(exc):
            raise ArchiveUnavailable(str(exc)) from exc
        raise


def locked_bucket(s3) -> str:
    """The bucket, checked for Object Lock (created only where the settings allow it)."""
    bucket = store.archive_bucket()
    store_call(store.ensure_locked_bucket, s3, bucket)
    return bucket


# --- where ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    """A class's folder in the store and the tiers it was keyed by."""

    prefix: str
    province_code: str
    unit_code: str


def _folder_of_key(key: str) -> Folder:
    prefix = key.rsplit("/", 1)[0]
    province, unit = prefix.split("/")[:2]
    return Folder(prefix, province, "" if unit == archivekeys.DIRECT else unit)


def class_folder(*, school_id: int, school_class: SchoolClass, day: dt.date | None = None) -> Folder:
    """The class's folder: the one its first archived document was put in, else the school's tiers on ``day``
    (today) — never re-keyed after a move (conflict 8)."""
    first = (
        RecordDocument.objects.filter(school_class=school_class)
        .exclude(archive_key="")
        .order_by("archived_at", "pk")
        .values_list("archive_key", flat=True)
        .first()
    )
    if first:
        return _folder_of_key(first)
    day = day or timezone.localdate()
    try:
        tiers = archive_tiers(school_id=school_id, day=day)
    except ValueError as exc:
        raise DomainError(
            "archive.no_placement",
            _("Trường chưa thuộc đơn vị quản lý nào vào ngày %(d)s nên chưa xác định được nơi lưu trữ."),
            params={"d": f"{day:%d/%m/%Y}"},
            http_status=409,
        ) from exc
    prefix = archivekeys.class_prefix(
        province_code=tiers.province_code,
        unit_code=tiers.unit_code,
        school_code=tiers.school_code,
        year_start=school_class.year.start_year,
        class_name=school_class.name,
    )
    return Folder(prefix, tiers.province_code, tiers.unit_code)


# --- the record's data -------------------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def record_data(document: RecordDocument) -> bytes:
    """The record's data as the sealed book shows it, as canonical JSON (sorted keys: the same bytes on a rerun):
    the student's identity as the book's identity page names it, the class and year, the results the approval froze,
    the chain of signatures. Nothing that changes after the seal."""
    record = document.record
    student = record.student if record is not None else None
    school_class = document.school_class
    body: dict[str, Any] = {
        "format": DATA_FORMAT,
        "document": {
            "uid": str(document.uid),
            "kind": document.kind,
            "version": document.version,
            "template_version": document.template_version,
            "pages": document.pages,
            "sha256": document.sha256,
            "sealed_at": _iso(document.sealed_at),
        },
        "school_year": f"{school_class.year.start_year}-{school_class.year.start_year + 1}",
        "class": {"name": school_class.name, "grade": school_class.grade},
        "signatures": [
            {
                "seq": seq,
                "step": step,
                "subject": subject_code,
                "initials": initials,
                "certificate_subject": certificate_subject,
                "certificate_serial": serial,
                "signed_at": _iso(at),
            }
            for seq, step, subject_code, initials, certificate_subject, serial, at in document.signatures.order_by(
                "seq"
            ).values_list(
                "seq",
                "step",
                "subject_code",
                "signer_initials",
                "certificate_subject",
                "certificate_serial",
                "signed_at",
            )
        ],
    }
    if student is not None:
        body["student"] = {
            "full_name": student.full_name,
            "gender": student.gender,
            "date_of_birth": _iso(student.date_of_birth),
            "place_of_birth": student.place_of_birth,
            "ethnicity": student.ethnicity,
            "nationality": student.nationality,
            "address": student.address,
            "personal_id": student.personal_id or "",
            "moet_code": student.moet_code or "",
            "guardians": [
                {"name": str(g.get("name") or ""), "relation": str(g.get("relation") or "")}
                for g in (student.guardians or [])
                if isinstance(g, dict)
            ],
        }
        body["record"] = {
            "approved_at": _iso(record.approved_at),
            "results": record.results or {},
            "approved_view": record.approved_view or {},
        }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- one document ------------------------------------------------------------------------------------------------


def _existing_version(s3, bucket: str, key: str, sha256: str) -> str | None:
    """The id of a version already at ``key`` holding these bytes (their SHA-256 in its metadata), else None."""
    listed = store_call(s3.list_object_versions, Bucket=bucket, Prefix=key)
    for version in listed.get("Versions", []):
        if version["Key"] != key:
            continue
        head = store_call(s3.head_object, Bucket=bucket, Key=key, VersionId=version["VersionId"])
        if head.get("Metadata", {}).get("sha256") == sha256:
            return version["VersionId"]
    return None


def put_once(s3, bucket: str, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> tuple[str, bool]:
    digest = hashlib.sha256(data).hexdigest()
    found = _existing_version(s3, bucket, key, digest)
    if found:
        return found, False
    version = store_call(
        store.put_locked_bytes,
        s3,
        bucket,
        key,
        data,
        retention_days=store.record_retention_days(),
        content_type=content_type,
        metadata=metadata,
    )
    return version, True


def _refuse_foreign(access: SchoolAccess, document: RecordDocument) -> None:
    if not (access.can("records.seal") or access.can("records.lock") or access.can("records.sign")):
        raise NotAllowed("archive.not_allowed", _("Bạn không có quyền lưu trữ học bạ đã ký."))


def archive_document(
    *, access: SchoolAccess, document: RecordDocument, s3=None, day: dt.date | None = None
) -> Archived:
    """Store a sealed document's PDF and its JSON data in the archive (Object Lock, COMPLIANCE, the record retention)
    in its class's folder, and mark it archived (``signing.document_archived``: key, object version, the public
    index, ``records_archived`` + 1). Run after the seal, in the school's schema, outside any transaction (the store
    is written before the database commits what it wrote).

    Exactly once: a document already archived returns where it is, writing nothing; a sealed one whose bytes are in
    the store already (an interrupted run) takes that version. Refusals: not sealed (409), the bucket without Object
    Lock (``ArchiveRefused``); the store unreachable raises ``ArchiveUnavailable`` (retry later; nothing marked)."""
    _refuse_foreign(access, document)
    document = RecordDocument.objects.select_related("record__student", "school_class__year").get(pk=document.pk)
    if document.state in ARCHIVED_STATES:
        return _where(document)
    if document.state != DocumentState.SEALED:
        raise DomainError(
            "archive.not_sealed", _("Chỉ lưu trữ được bản học bạ đã đủ chữ ký và đóng dấu."), http_status=409
        )
    content = DocumentContent.objects.filter(document=document).values_list("pdf", flat=True).first()
    pdf = bytes(content) if content is not None else b""
    if hashlib.sha256(pdf).hexdigest() != document.sha256:
        raise DomainError(
            "archive.digest_mismatch", _("Bản lưu trữ không trùng với bản đã ký (mã SHA-256 khác)."), http_status=409
        )
    data = record_data(document)
    folder = class_folder(school_id=access.school_id, school_class=document.school_class, day=day)
    s3 = s3 or client()
    bucket = locked_bucket(s3)
    meta = {"document": str(document.uid), "version": str(document.version)}
    pdf_key = archivekeys.document_key(folder.prefix, document.uid, document.version, "pdf")
    data_key = archivekeys.document_key(folder.prefix, document.uid, document.version, "json")
    data_version, data_written = put_once(s3, bucket, data_key, data, "application/json", meta)
    pdf_version, pdf_written = put_once(s3, bucket, pdf_key, pdf, "application/pdf", meta)
    signing.document_archived(
        access=access, document=document, key=pdf_key, version_id=pdf_version, sha256=document.sha256
    )
    return Archived(
        document.pk,
        pdf_key,
        pdf_version,
        document.sha256,
        data_key,
        data_version,
        hashlib.sha256(data).hexdigest(),
        pdf_written or data_written,
    )


def _where(document: RecordDocument) -> Archived:
    data_key = document.archive_key[: -len(".pdf")] + ".json"
    return Archived(
        document.pk, document.archive_key, document.archive_version_id, document.sha256, data_key, "", "", False
    )
