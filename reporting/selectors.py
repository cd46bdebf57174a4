"""Reads of the archive pages (issue 10): the year-end archive overview of a school's year, per class, in a constant
number of statements; the year, student and record a page names; a student's hand-overs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from schools.models import RecordBook, RecordState, SchoolClass, SchoolYear, Student

from .models import ArchiveManifest, DocumentKind, DocumentState, Handover, RecordDocument


def _not_found() -> DomainError:
    return DomainError("school.not_found", _("Không tìm thấy, hoặc nằm ngoài phạm vi của bạn."), http_status=404)


@dataclass(frozen=True)
class ClassArchive:
    """One class of the year-end archive page."""

    school_class: SchoolClass
    approved: int
    signed: int
    locked: int
    sealed: int  # documents sealed, waiting for the archive
    archived: int
    manifest_revision: int | None
    manifest_signed: bool
    manifest_behind: bool = False  # archived record books its latest manifest does not list (or it has none)

    @property
    def lockable(self) -> bool:
        return self.signed > 0 and self.archived > 0


FILES_PER_DOCUMENT = 2  # a manifest lists each archived record book's PDF and its JSON data (``services.manifests``)


def _behind(stored: int, listed_files: int) -> bool:
    """Whether a class's latest manifest (``listed_files`` files, 0: none) misses some of its ``stored`` archived
    record books. Archived documents are never taken out of the store, so the count only grows: a manifest that lists
    fewer files than two per stored document was written before some of them were archived."""
    return stored > 0 and listed_files < FILES_PER_DOCUMENT * stored


def manifests_behind(class_ids: list[int]) -> set[int]:
    """The classes among ``class_ids`` whose archived record books are not all listed in their latest manifest, or
    that have archived ones and no manifest: the archive job writes their manifest even when no document waits.
    Two statements."""
    stored = dict(
        RecordDocument.objects.filter(school_class_id__in=class_ids, kind=DocumentKind.RECORD_BOOK)
        .exclude(archive_key="")
        .values("school_class_id")
        .annotate(n=Count("id"))
        .values_list("school_class_id", "n")
    )
    listed: dict[int, int] = {}
    for class_id, files in (
        ArchiveManifest.objects.filter(school_class_id__in=list(stored))
        .order_by("revision")
        .values_list("school_class_id", "files")
    ):
        listed[class_id] = files
    return {pk for pk, n in stored.items() if _behind(n, listed.get(pk, 0))}


def school_years() -> list[SchoolYear]:
    return list(SchoolYear.objects.order_by("-start_year"))


def year_get(pk: int) -> SchoolYear:
    year = SchoolYear.objects.filter(pk=pk).first()
    if year is None:
        raise _not_found()
    return year


def year_by_start(start_year: int | None) -> SchoolYear | None:
    """The year starting in ``start_year``, else the latest; None when the school has none."""
    years = SchoolYear.objects.order_by("-start_year")
    if start_year is not None:
        return years.filter(start_year=start_year).first()
    return years.first()


def archive_overview(year: SchoolYear) -> list[ClassArchive]:
    """Every class of the year with its records by state, its documents waiting or archived and its latest manifest.
    Four statements, whatever the number of classes."""
    classes = list(SchoolClass.objects.filter(year=year).select_related("year").order_by("grade", "name"))
    states = {
        row["school_class_id"]: row
        for row in RecordBook.objects.filter(year=year)
        .values("school_class_id")
        .annotate(
            approved=Count("id", filter=Q(state=RecordState.APPROVED)),
            signed=Count("id", filter=Q(state=RecordState.SIGNED)),
            locked=Count("id", filter=Q(state=RecordState.LOCKED)),
        )
    }
    documents = {
        row["school_class_id"]: row
        for row in RecordDocument.objects.filter(year=year, kind=DocumentKind.RECORD_BOOK)
        .values("school_class_id")
        .annotate(
            sealed=Count("id", filter=Q(state=DocumentState.SEALED)),
            archived=Count("id", filter=Q(state=DocumentState.ARCHIVED)),
            stored=Count("id", filter=~Q(archive_key="")),
        )
    }
    manifests: dict[int, tuple[int, bool, int]] = {}
    for class_id, revision, signed, files in (
        ArchiveManifest.objects.filter(year=year)
        .order_by("revision")
        .values_list("school_class_id", "revision", "signed", "files")
    ):
        manifests[class_id] = (revision, signed, files)
    out = []
    for c in classes:
        s, d = states.get(c.pk, {}), documents.get(c.pk, {})
        revision, signed, files = manifests.get(c.pk, (None, False, 0))
        out.append(
            ClassArchive(
                c,
                s.get("approved", 0),
                s.get("signed", 0),
                s.get("locked", 0),
                d.get("sealed", 0),
                d.get("archived", 0),
                revision,
                signed,
                _behind(d.get("stored", 0), files),
            )
        )
    return out


def class_records(school_class: SchoolClass) -> list[RecordBook]:
    """The class's signed and locked records, students by name (the revocation list)."""
    return list(
        RecordBook.objects.filter(school_class=school_class, state__in=(RecordState.SIGNED, RecordState.LOCKED))
        .select_related("student")
        .order_by("student__sort_key", "pk")
    )


def record_with_class(pk: int) -> RecordBook:
    record = RecordBook.objects.filter(pk=pk).select_related("student", "school_class__year").first()
    if record is None:
        raise _not_found()
    return record


def student_get(pk: int) -> Student:
    student = Student.objects.filter(pk=pk).first()
    if student is None:
        raise _not_found()
    return student


def handovers_of(student: Student) -> list[Handover]:
    return list(
        Handover.objects.filter(enrolment__student=student).select_related("enrolment__school_class").order_by("-pk")
    )
