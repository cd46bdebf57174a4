"""The signed manifest of a class's year in the archive (issue 10, Build 4; DESIGN §8): the SHA-256 and object version
of every file of the class's folder (the record books' PDFs and JSON data, the superseded ones included: the store
keeps them), as canonical JSON stored with Object Lock beside the files (``manifest-rN.json``), signed with the school
seal's key as a detached CMS (``manifest-rN.json.p7s``, verifiable with any CMS tool or ``manifest_verify``), and an
``ArchiveManifest`` row. A new revision only when the files changed; a rerun after an interruption takes the object
already written (``archive.put_once``)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from schools.access import SchoolAccess
from schools.models import SchoolClass
from schools.services.common import school_write

from .. import archivekeys
from ..models import ArchiveManifest, DocumentKind, DocumentState, RecordDocument
from ..signing.base import run
from ..signing.local import load_pkcs12_file
from ..signing.pki import TEST_PKI_PASSPHRASE
from .archive import class_folder, client, locked_bucket, put_once, store_call

log = logging.getLogger(__name__)
MANIFEST_FORMAT = "hocba.archive-manifest/1"


def _seal_key_file(province_code: str, school_code: str) -> tuple[Path, bytes] | None:
    """The school seal's PKCS#12 and its passphrase: ``HOCBA_SEAL_DIR`` (``HOCBA_SEAL_PASSPHRASE``), else the test
    PKI of the local and test settings (``HOCBA_TEST_PKI_DIR``), laid out ``<province>/seals/<school code>.p12``."""
    from_settings = settings.HOCBA_SEAL_DIR
    if from_settings:
        directory, passphrase = Path(from_settings), str(settings.HOCBA_SEAL_PASSPHRASE or "").encode()
    elif settings.HOCBA_TEST_PKI_DIR:
        directory, passphrase = Path(settings.HOCBA_TEST_PKI_DIR), TEST_PKI_PASSPHRASE
    else:
        return None
    path = directory / archivekeys.segment(province_code) / "seals" / f"{archivekeys.segment(school_code)}.p12"
    return (path, passphrase) if path.exists() else None


def manifest_signature(manifest: bytes, *, province_code: str, school_code: str) -> bytes | None:
    """A detached CMS signature (DER) of ``manifest`` by the school seal's key, or None when the school has no seal
    key on this server (the manifest is then stored unsigned, ``ArchiveManifest.signed`` false)."""
    found = _seal_key_file(province_code, school_code)
    if found is None:
        log.warning("no seal key for school %s: its archive manifest is stored unsigned", school_code)
        return None
    signer = load_pkcs12_file(found[0], found[1])
    signed = run(signer.async_sign_general_data(manifest, "sha256", detached=True))
    return signed.dump()


def manifest_verify(manifest: bytes, signature: bytes, *, trust_roots: list[bytes]) -> bool:
    """Whether ``signature`` is a valid detached CMS of ``manifest`` by a certificate chaining to ``trust_roots``
    (PEM or DER)."""
    roots = []
    for root in trust_roots:
        if pem.detect(root):
            _kind, _headers, root = pem.unarmor(root)
        roots.append(asn1_x509.Certificate.load(root))
    signed_data = cms.ContentInfo.load(signature)["content"]
    status = run(
        async_validate_detached_cms(
            manifest, signed_data, signer_validation_context=ValidationContext(trust_roots=roots)
        )
    )
    return bool(status.intact and status.valid and status.trusted)


def _class_files(s3, bucket: str, documents: list[RecordDocument]) -> list[dict[str, Any]]:
    files = []
    for d in documents:
        files.append(
            {
                "key": d.archive_key,
                "version_id": d.archive_version_id,
                "sha256": d.sha256,
                "document": str(d.uid),
                "version": d.version,
                "superseded": d.state == DocumentState.SUPERSEDED,
            }
        )
        data_key = d.archive_key[: -len(".pdf")] + ".json"
        listed = store_call(s3.list_object_versions, Bucket=bucket, Prefix=data_key)
        versions = [v for v in listed.get("Versions", []) if v["Key"] == data_key]
        if not versions:
            raise DomainError(
                "archive.data_missing", _("Thiếu tệp dữ liệu của một học bạ đã lưu trữ."), http_status=409
            )
        first = min(versions, key=lambda v: v["LastModified"])
        head = store_call(s3.head_object, Bucket=bucket, Key=data_key, VersionId=first["VersionId"])
        files.append(
            {
                "key": data_key,
                "version_id": first["VersionId"],
                "sha256": head.get("Metadata", {}).get("sha256", ""),
                "document": str(d.uid),
                "version": d.version,
                "superseded": d.state == DocumentState.SUPERSEDED,
            }
        )
    return sorted(files, key=lambda f: f["key"])


@dataclass(frozen=True)
class Manifest:
    row: ArchiveManifest | None
    written: bool


def manifest_write(*, access: SchoolAccess, school_class: SchoolClass, s3=None) -> Manifest:
    """The class's signed manifest for its year: every archived file of the class (the current documents and the
    superseded ones, which the store keeps), with its SHA-256 and object version. A new revision (``manifest-rN``)
    only when the files differ from the last manifest's; a rerun after an interruption takes the object already
    written. None when the class has nothing archived."""
    documents = list(
        RecordDocument.objects.filter(school_class=school_class, kind=DocumentKind.RECORD_BOOK)
        .exclude(archive_key="")
        .order_by("pk")
    )
    if not documents:
        return Manifest(None, False)
    s3 = s3 or client()
    bucket = locked_bucket(s3)
    folder = class_folder(school_id=access.school_id, school_class=school_class)
    files = _class_files(s3, bucket, documents)
    last = ArchiveManifest.objects.filter(school_class=school_class).order_by("-revision").first()
    if last is not None:
        previous = _manifest_files(s3, bucket, last)
        if previous == [(f["key"], f["sha256"]) for f in files]:
            return Manifest(last, False)
    revision = (last.revision if last else 0) + 1
    school_code = folder.prefix.split("/")[2]
    body = {
        "format": MANIFEST_FORMAT,
        "province_code": folder.province_code,
        "unit_code": folder.unit_code,
        "school_code": school_code,
        "school_year": f"{school_class.year.start_year}-{school_class.year.start_year + 1}",
        "class": school_class.name,
        "revision": revision,
        "prefix": folder.prefix,
        "files": files,
    }
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1).encode()
    key = archivekeys.manifest_key(folder.prefix, revision)
    version, written = put_once(s3, bucket, key, data, "application/json", {"revision": str(revision)})
    signature = manifest_signature(data, province_code=folder.province_code, school_code=school_code)
    if signature is not None:
        put_once(s3, bucket, key + ".p7s", signature, "application/pkcs7-signature", {"revision": str(revision)})
    row = _manifest_record(
        school_class=school_class,
        year=school_class.year,
        revision=revision,
        province_code=folder.province_code,
        unit_code=folder.unit_code,
        key=key,
        version_id=version,
        sha256=hashlib.sha256(data).hexdigest(),
        files=len(files),
        signed=signature is not None,
        created_by=access.account_id,
    )
    return Manifest(row, written)


@school_write
def _manifest_record(**fields) -> ArchiveManifest:
    return ArchiveManifest.objects.create(**fields)


def _manifest_files(s3, bucket: str, row: ArchiveManifest) -> list[tuple[str, str]]:
    body = json.loads(store_call(s3.get_object, Bucket=bucket, Key=row.key, VersionId=row.version_id)["Body"].read())
    return [(f["key"], f["sha256"]) for f in body.get("files", [])]
