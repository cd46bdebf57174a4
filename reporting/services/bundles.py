"""Bundles of the archive (issue 10, Build 4 and 5): a class's or a year's archived files as one zip (the PDFs, their
JSON data, the signed manifests), and the hand-over of a leaving or transferring student (004 art. 6.3, 7.2, 8.1;
000 IV.3). Printing, export and hand-over exist on the school's own site only (004 art. 10.3): the pages that call
these are school pages.

A class bundle holds exactly the files its latest manifest names, read from the store by object version — the same
bytes whose SHA-256 the manifest carries — then the manifest and its detached signature. It is streamed: a zip is
written as each object arrives, never whole in memory."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel import archive as store
from hocba.kernel.errors import DomainError, NotAllowed

from schools.access import SchoolAccess
from schools.models import Enrolment, SchoolClass, SchoolYear, Student
from schools.services.common import school_write
from tenants.selectors.archive_path import archive_tiers

from .. import archivekeys
from ..models import ArchiveManifest, DocumentContent, DocumentKind, DocumentState, Handover, RecordDocument
from . import archive

CHUNK = 1 << 16


@dataclass(frozen=True)
class Entry:
    """One file of a bundle: its name in the zip and where it is in the store."""

    name: str
    key: str
    version_id: str


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken as they come (zipfile then writes data descriptors)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def stream_zip(s3, bucket: str, entries: Iterable[Entry], extra: Iterable[tuple[str, bytes]] = ()) -> Iterator[bytes]:
    """The zip of ``entries`` (read from the store by version) and ``extra`` files, chunk by chunk."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for entry in entries:
            body = s3.get_object(Bucket=bucket, Key=entry.key, VersionId=entry.version_id)["Body"]
            with bundle.open(entry.name, "w") as out:
                for chunk in iter(lambda body=body: body.read(CHUNK), b""):
                    out.write(chunk)
                    yield sink.take()
            yield sink.take()
        for name, data in extra:
            bundle.writestr(name, data)
            yield sink.take()
    yield sink.take()


def _relative(prefix: str, key: str) -> str:
    return key[len(prefix) + 1 :] if key.startswith(prefix + "/") else key.rsplit("/", 1)[-1]


def class_entries(school_class: SchoolClass, *, folder_in_zip: str = "") -> list[Entry]:
    """The files of the class's latest manifest, the manifest and its signature. Refused when nothing is archived."""
    row = ArchiveManifest.objects.filter(school_class=school_class).order_by("-revision").first()
    if row is None:
        raise DomainError(
            "archive.no_manifest",
            _("Lớp %(c)s chưa có học bạ nào được lưu trữ (chưa có bản kê) nên chưa tải được gói lưu trữ."),
            params={"c": school_class.name},
            http_status=409,
        )
    return _manifest_entries(row, folder_in_zip)


def _manifest_entries(row: ArchiveManifest, folder_in_zip: str) -> list[Entry]:
    s3 = archive.client()
    bucket = store.archive_bucket()
    prefix = row.key.rsplit("/", 1)[0]
    body = json.loads(
        archive.store_call(s3.get_object, Bucket=bucket, Key=row.key, VersionId=row.version_id)["Body"].read()
    )
    lead = f"{folder_in_zip}/" if folder_in_zip else ""
    entries = [Entry(lead + _relative(prefix, f["key"]), f["key"], f["version_id"]) for f in body["files"]]
    entries.append(Entry(lead + _relative(prefix, row.key), row.key, row.version_id))
    if row.signed:
        listed = archive.store_call(s3.list_object_versions, Bucket=bucket, Prefix=row.key + ".p7s")
        listed = listed.get("Versions", [])
        signature = [v for v in listed if v["Key"] == row.key + ".p7s"]
        if signature:
            first = min(signature, key=lambda v: v["LastModified"])
            entries.append(Entry(lead + _relative(prefix, row.key) + ".p7s", row.key + ".p7s", first["VersionId"]))
    return entries


def year_entries(year: SchoolYear) -> list[Entry]:
    """Every class's latest manifest and files, one folder per class. Refused when nothing of the year is archived."""
    latest: dict[int, ArchiveManifest] = {}
    for row in ArchiveManifest.objects.filter(year=year).select_related("school_class").order_by("revision"):
        latest[row.school_class_id] = row
    if not latest:
        raise DomainError(
            "archive.no_manifest_year",
            _("Năm học này chưa có học bạ nào được lưu trữ nên chưa tải được gói lưu trữ."),
            http_status=409,
        )
    out: list[Entry] = []
    for row in sorted(latest.values(), key=lambda r: (r.school_class.grade, r.school_class.name)):
        out += _manifest_entries(row, archivekeys.segment(row.school_class.name))
    return out


# --- the hand-over ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverBundle:
    handover: Handover
    data: bytes


def _leaving_enrolment(student: Student) -> Enrolment:
    enrolment = (
        Enrolment.objects.filter(student=student).select_related("school_class__year").order_by("-starts_on", "-pk")
    ).first()
    if enrolment is None or enrolment.ends_on is None:
        raise DomainError(
            "handover.not_leaving",
            _(
                "Học sinh này vẫn đang học tại trường. Hồ sơ bàn giao chỉ lập cho học sinh đã được ghi nhận chuyển đi "
                "hoặc thôi học (trang Chuyển đi của học sinh)."
            ),
            http_status=409,
        )
    return enrolment


def handover_documents(student: Student) -> list[RecordDocument]:
    """The student's books for the hand-over: each year's current document, signed by the chain available now (sealed
    or archived; the current year's being signed: as far as its chain goes). Unsigned renders are left out."""
    return list(
        RecordDocument.objects.filter(record__student=student, kind=DocumentKind.RECORD_BOOK)
        .exclude(state__in=(DocumentState.SUPERSEDED, DocumentState.RENDERED))
        .select_related("school_class__year")
        .order_by("year__start_year", "version")
    )


def handover_create(*, access: SchoolAccess, student: Student, s3=None) -> HandoverBundle:
    """The principal's hand-over of a leaving or transferring student: the signed books of every year here (the
    archived copies, the current year's as signed so far) and their index in one zip, stored with Object Lock and
    recorded on the enrolment that ended (``Handover``)."""
    if not access.can("records.export"):
        raise NotAllowed("handover.not_allowed", _("Chỉ Hiệu trưởng mới lập được hồ sơ bàn giao học bạ."))
    enrolment = _leaving_enrolment(student)
    documents = handover_documents(student)
    if not documents:
        raise DomainError(
            "handover.nothing_signed",
            _("Học sinh này chưa có học bạ nào đã ký số để bàn giao."),
            http_status=409,
        )
    s3 = s3 or archive.client()
    bucket = archive.locked_bucket(s3)
    working = dict(DocumentContent.objects.filter(document__in=documents).values_list("document_id", "pdf"))
    index, files = [], []
    for d in documents:
        if d.state == DocumentState.ARCHIVED:
            pdf = archive.store_call(s3.get_object, Bucket=bucket, Key=d.archive_key, VersionId=d.archive_version_id)
            pdf = pdf["Body"].read()
        else:
            pdf = bytes(working.get(d.pk) or b"")
        year = f"{d.school_class.year.start_year}-{d.school_class.year.start_year + 1}"
        name = f"{year}-{archivekeys.segment(d.school_class.name)}-v{d.version}.pdf"
        files.append((name, pdf))
        index.append(
            {
                "file": name,
                "document": str(d.uid),
                "school_year": year,
                "class": d.school_class.name,
                "state": d.state,
                "sha256": hashlib.sha256(pdf).hexdigest(),
                "signatures": d.signatures.count(),
                "archive_key": d.archive_key,
            }
        )
    body = {
        "format": "hocba.handover/1",
        "student": {"full_name": student.full_name, "date_of_birth": student.date_of_birth.isoformat()},
        "left_on": enrolment.ends_on.isoformat(),
        "exit": enrolment.exit,
        "books": index,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, pdf in files:
            bundle.writestr(name, pdf)
        bundle.writestr("handover.json", json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True))
    data = buffer.getvalue()
    tiers = archive_tiers(school_id=access.school_id, day=timezone.localdate())
    school_prefix = "/".join(
        (
            archivekeys.segment(tiers.province_code),
            archivekeys.segment(tiers.unit_code) if tiers.unit_code else archivekeys.DIRECT,
            archivekeys.segment(tiers.school_code),
        )
    )
    number = Handover.objects.filter(enrolment=enrolment).count() + 1
    key = f"{school_prefix}/handover/{enrolment.pk}-{number}.zip"
    version = archive.store_call(
        store.put_locked_bytes,
        s3,
        bucket,
        key,
        data,
        retention_days=store.record_retention_days(),
        content_type="application/zip",
        metadata={"enrolment": str(enrolment.pk)},
    )
    handover = _handover_record(
        enrolment=enrolment,
        documents=[str(d.uid) for d in documents],
        bundle_key=key,
        version_id=version,
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=access.account_id,
    )
    return HandoverBundle(handover, data)


@school_write
def _handover_record(**fields) -> Handover:
    return Handover.objects.create(**fields)
