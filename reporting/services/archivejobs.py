"""The archive jobs (issue 10, Build 4 and 8): one class, or a whole school's year at its end, archived by a Celery
worker with its progress on the job's page (``tenants.services.jobs``): every sealed document not archived yet goes
to the store (``archive.archive_document``, exactly once), then each class's signed manifest is written.

A job also runs when no document waits but a class's latest manifest misses some of its archived documents, or it has
none (``selectors.manifests_behind``): the store failed after a signing job archived a document and before it wrote
the manifest. The manifest is then written (``manifests.manifest_write``: a new revision only when the files
changed), so the class's bundle can be downloaded; with every manifest complete and nothing waiting, it refuses.

Resumable: a job redelivered after its worker died takes up the documents still sealed (those archived meanwhile are
reported as archived before); a document whose bytes reached the store before the kill is not written twice. The
store down: the job waits and is retried by Celery with a growing delay (``JobWaits``) — nothing is marked archived
that is not; after the last retry it fails saying so. A bucket without Object Lock fails the job at once with its
message."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, Message

from schools.access import SchoolAccess, school_access
from schools.models import SchoolClass, SchoolYear
from schools.services.common import require
from tenants.selectors import membership_list
from tenants.services.jobs import JobInfo, JobProgress, JobWaits, RowOutcome, job_create, job_task

from ..models import DocumentKind, DocumentState, RecordDocument
from ..selectors import manifests_behind
from . import archive, manifests

ARCHIVE_KIND = "reporting.archive"
CAPABILITY = "records.archive"
WAIT_SECONDS = 10.0  # the first retry's delay when the store is down; doubled at each retry
WAIT_RETRIES = 6  # ≈ 10 minutes of waiting in all before the job fails
ARCHIVABLE = (DocumentState.SEALED, DocumentState.ARCHIVED)


def _documents(class_ids: list[int]):
    return RecordDocument.objects.filter(
        school_class_id__in=class_ids, kind=DocumentKind.RECORD_BOOK, state__in=ARCHIVABLE
    )


def _start(*, access: SchoolAccess, classes: list[SchoolClass], title: Message, back_url: str) -> int:
    require(access.can(CAPABILITY), _("Chỉ Hiệu trưởng mới chạy được việc lưu trữ học bạ."))
    ids = [c.pk for c in classes]
    waiting = _documents(ids).filter(state=DocumentState.SEALED).exists()
    if not waiting and not manifests_behind(ids):
        raise DomainError(
            "archive.nothing_to_archive",
            _("Không có học bạ nào đã đóng dấu số mà chưa lưu trữ."),
            http_status=409,
        )
    return job_create(
        kind=ARCHIVE_KIND,
        requested_by=access.account_id,
        capability=CAPABILITY,
        school_id=access.school_id,
        total=_documents(ids).count(),
        params={"classes": ids},
        task=archive_classes,
        schema_name=connection.schema_name,
        title=title,
        back_url=back_url,
    )


def archive_class_start(*, access: SchoolAccess, school_class: SchoolClass, back_url: str = "") -> int:
    """Queue the archive of one class's sealed documents; returns the job's id."""
    return _start(
        access=access,
        classes=[school_class],
        title=Message(_("Lưu trữ học bạ lớp %(c)s"), {"c": school_class.name}),
        back_url=back_url,
    )


def archive_year_start(*, access: SchoolAccess, year: SchoolYear, back_url: str = "") -> int:
    """Queue the year-end archive of every class of the school's year; returns the job's id."""
    classes = list(SchoolClass.objects.filter(year=year).order_by("grade", "name"))
    return _start(
        access=access,
        classes=classes,
        title=Message(_("Lưu trữ học bạ cuối năm học %(y)s"), {"y": f"{year.start_year}-{year.start_year + 1}"}),
        back_url=back_url,
    )


def _requester_access(job: JobInfo) -> SchoolAccess:
    roles = {m.role for m in membership_list(school_ids=[job.school_id]) if m.account_id == job.requested_by_id}
    return school_access(job.requested_by_id, job.school_id, roles)


def _unavailable() -> DomainError:
    return DomainError(
        "archive.unavailable",
        _(
            "Kho lưu trữ không truy cập được; việc đã chờ và thử lại nhiều lần mà chưa được. Không học bạ nào bị "
            "đánh dấu là đã lưu trữ khi chưa lưu xong. Hãy thử lại sau."
        ),
        http_status=503,
    )


@job_task(ARCHIVE_KIND, school=True)
def archive_classes(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]] | None:
    """Archive the job's classes: their sealed documents, then each class's manifest."""
    access = _requester_access(job)
    require(access.can(CAPABILITY))
    class_ids = [int(pk) for pk in job.params.get("classes", [])]
    classes = {c.pk: c for c in SchoolClass.objects.filter(pk__in=class_ids).select_related("year")}
    documents = list(
        _documents(class_ids).select_related("record__student").order_by("school_class_id", "record__student__sort_key")
    )
    s3 = archive.client()
    signed_manifests = 0
    try:
        for document in documents:
            if document.pk in progress.recorded:
                continue
            group = classes[document.school_class_id].name
            name = document.record.student.full_name if document.record else str(document.uid)
            if document.state == DocumentState.ARCHIVED:
                progress.row(document.pk, key=name, group=group, outcome=RowOutcome.SKIPPED,
                             message=_("Đã lưu trữ trước đó."))  # fmt: skip
                continue
            try:
                archive.archive_document(access=access, document=document, s3=s3)
            except archive.ArchiveRefused:
                raise
            except DomainError as exc:
                progress.row(document.pk, key=name, group=group, outcome=RowOutcome.ERROR, error=exc)
                continue
            progress.row(document.pk, key=name, group=group, outcome=RowOutcome.CREATED,
                         message=_("Đã lưu trữ (khóa đối tượng, không sửa được)."))  # fmt: skip
            progress.flush()  # the row right after the commit: a worker killed now loses no count
        for pk in class_ids:
            if pk in classes and manifests.manifest_write(access=access, school_class=classes[pk], s3=s3).row:
                signed_manifests += 1
    except archive.ArchiveUnavailable as exc:
        raise JobWaits(_unavailable(), countdown=WAIT_SECONDS, max_retries=WAIT_RETRIES) from exc
    return (
        _("Đã lưu trữ %(n)s học bạ; %(m)s bản kê (manifest) có chữ ký số của nhà trường."),
        {"n": progress.ok, "m": signed_manifests},
    )
