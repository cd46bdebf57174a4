"""Which years, classes, students and records a person may see inside a school, and the refusal for what they
may not (404: out of scope reads as absent)."""

from __future__ import annotations

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from ..access import SchoolAccess
from ..models import (
    Enrolment,
    RecordBook,
    SchoolClass,
    SchoolYear,
    Student,
    Subject,
    TeachingAssignment,
)
from ..services.readerview import approved_version, ever_approved
from ..services.results import class_results, class_subjects


def not_found(message=None) -> DomainError:
    return DomainError(
        "school.not_found", message or _("Không tìm thấy, hoặc nằm ngoài phạm vi của bạn."), http_status=404
    )


def current_year() -> SchoolYear | None:
    return SchoolYear.objects.order_by("-start_year").first()


def asked_year(request) -> int | None:
    """The school year asked for with ``?year=2025`` (its first calendar year); none: the latest."""
    value = request.GET.get("year", "")
    if not value:
        return None
    if not value.isdigit():
        raise DomainError(
            "records.bad_year",
            _("Năm học “%(value)s” không hợp lệ (ví dụ: 2025 cho năm học 2025–2026)."),
            params={"value": value[:20]},
            http_status=400,
        )
    return int(value)


def year_shown(request) -> SchoolYear | None:
    """The year a list shows: the one asked for (404 when the school has no such year), else the latest."""
    start = asked_year(request)
    if start is None:
        return current_year()
    year = SchoolYear.objects.filter(start_year=start).first()
    if year is None:
        raise not_found(_("Trường chưa có năm học này."))
    return year


def school_years() -> list[SchoolYear]:
    return list(SchoolYear.objects.order_by("-start_year"))


def classes_visible(access: SchoolAccess, year: SchoolYear | None) -> list[SchoolClass]:
    if year is None:
        return []
    classes = list(SchoolClass.objects.filter(year=year).prefetch_related("assignments"))
    out = []
    for c in classes:
        subject_ids = frozenset(a.subject_id for a in c.assignments.all())
        if access.may_read_class(c.pk, subject_ids) or c.pk in _child_class_ids(access, year):
            out.append(c)
    return out


def _child_class_ids(access: SchoolAccess, year: SchoolYear) -> set[int]:
    if not access.child_ids:
        return set()
    return set(
        RecordBook.objects.filter(student_id__in=access.child_ids, year=year).values_list("school_class_id", flat=True)
    )


def _columns(model, alias: str) -> tuple[list[str], str]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], ", ".join(f"{alias}.{f.column}" for f in fields)


def _instance(model, names: list[str], values) -> object:
    return model.from_db(connection.alias, names, list(values))


def class_get(access: SchoolAccess, pk: int) -> SchoolClass:
    """The class with its year and the subjects taught in it (for the access check), in one plain statement: every
    grade-sheet request starts here."""
    return _class_and_subject(access, pk, None)[0]


def class_and_subject_get(access: SchoolAccess, pk: int, subject_pk: int) -> tuple[SchoolClass, Subject]:
    """``class_get`` and the subject, in the same one statement (a grade sheet's request)."""
    school_class, subject = _class_and_subject(access, pk, subject_pk)
    if subject is None:
        raise not_found(_("Không tìm thấy môn học."))
    return school_class, subject


def _class_and_subject(access: SchoolAccess, pk: int, subject_pk: int | None) -> tuple[SchoolClass, Subject | None]:
    class_names, class_cols = _columns(SchoolClass, "c")
    year_names, year_cols = _columns(SchoolYear, "y")
    subject_names, subject_cols = _columns(Subject, "s")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {class_cols}, {year_cols}, ARRAY(SELECT t.subject_id FROM {TeachingAssignment._meta.db_table} t"
            f" WHERE t.school_class_id = c.id), {subject_cols} FROM {SchoolClass._meta.db_table} c"
            f" JOIN {SchoolYear._meta.db_table} y ON y.id = c.year_id"
            f" LEFT JOIN {Subject._meta.db_table} s ON s.id = %s WHERE c.id = %s",
            [subject_pk, pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise not_found()
    n, m = len(class_names), len(year_names)
    school_class = _instance(SchoolClass, class_names, row[:n])
    school_class.year = _instance(SchoolYear, year_names, row[n : n + m])
    subject_ids = frozenset(row[n + m])
    if not (access.may_read_class(school_class.pk, subject_ids) or access.may_edit_profiles(school_class.pk)):
        raise not_found()
    subject_row = row[n + m + 1 :]
    subject = _instance(Subject, subject_names, subject_row) if subject_row[0] is not None else None
    return school_class, subject


def class_students(school_class: SchoolClass) -> list[Student]:
    ids = Enrolment.objects.filter(school_class=school_class).values_list("student_id", flat=True)
    return list(Student.objects.filter(pk__in=ids).order_by("sort_key", "pk"))


# What a record holds beyond its subject lines: only for readers of the whole record (not one subject's teacher).
WHOLE_RECORD_KEYS = (
    "learning",
    "adjusted_for",
    "conduct",
    "absences",
    "title",
    "promotion",
    "retest_subjects",
    "evaluation",
    "commendations",
    "qualities",
    "conduct_comments",
    "quality_comments",
    # after the year: re-test and summer training (TT22), the summer follow-up and completion (TT27)
    "promotion_code",
    "promotion_final",
    "promotion_final_code",
    "yearend_pending",
    "retest_candidates",
    "retest_results",
    "retest_chosen",
    "retest_choice_recorded",
    "learning_after_retest",
    "retest_passed",
    "summer_training",
    "followup_items",
    "followup_plan",
    "evaluation_after_followup",
    "followup_decision",
    "followup_decision_code",
    "completion",
    "exemplary_recognised",
    "adhoc_commendation",
)


def student_visible(
    access: SchoolAccess, pk: int, *, year_start: int | None = None, record_only: bool = False
) -> tuple[Student, RecordBook | None]:
    """A student and their record of the year asked (else the latest), if this person may see them.

    Staff who read the record's class see it in any state; with ``record_only`` (the record book itself, not the
    profile) the profile editors who read no records (clerks) are refused. A parent sees their own child's approved
    records only — one reopened since its approval too, read as approved (``record_for_reader``): without a year, the
    latest approved one, so a new year's draft never hides last year's book.
    """
    student = Student.objects.filter(pk=pk).first()
    if student is None:
        raise not_found()
    records = list(
        RecordBook.objects.filter(student=student)
        .select_related("school_class__year", "year")
        .order_by("-year__start_year")
    )
    if year_start is not None:
        records = [r for r in records if r.year.start_year == year_start]
        if not records:
            raise not_found(_("Học sinh không có học bạ của năm học này."))
    record = records[0] if records else None
    if record is not None:
        class_id = record.school_class_id
        if access.may_read_class(
            class_id, frozenset(record.school_class.assignments.values_list("subject_id", flat=True))
        ) or (not record_only and access.may_edit_profiles(class_id)):
            return student, record
    if pk in access.child_ids and access.can("records.view_child"):
        approved = [r for r in records if ever_approved(r)]
        if not approved:
            raise RecordNotYetApproved(student)
        return student, approved[0]
    raise not_found()


class RecordNotYetApproved(DomainError):
    """A parent asks for their child's record before the school has ever approved it (the page says so)."""

    def __init__(self, student: Student):
        super().__init__(
            "records.not_yet_approved", _("Học bạ của con bạn chưa được nhà trường duyệt."), http_status=403
        )
        self.student = student


def student_years(access: SchoolAccess, student: Student) -> list[SchoolYear]:
    """The years of this student's records this person may open (parents: the approved ones), newest first."""
    records = (
        RecordBook.objects.filter(student=student).select_related("year", "school_class").order_by("-year__start_year")
    )
    if access.can("records.view_all"):
        return [r.year for r in records]
    if student.pk in access.child_ids and access.can("records.view_child"):
        return [r.year for r in records if ever_approved(r)]
    subjects_of_class = dict(
        TeachingAssignment.objects.filter(school_class__in={r.school_class_id for r in records})
        .values_list("school_class_id")
        .annotate(ids=ArrayAgg("subject_id"))
    )
    return [
        r.year
        for r in records
        if access.may_read_class(r.school_class_id, frozenset(subjects_of_class.get(r.school_class_id) or ()))
    ]


def student_granted(
    student_ids: frozenset[int], class_ids: frozenset[int], pk: int, *, year_start: int | None = None
) -> tuple[Student, RecordBook]:
    """Under a read grant: a student and their record of the year asked (else the latest) that the grant names —
    every record of a named student, the records kept in a named class. Anything else reads as absent."""
    student = Student.objects.filter(pk=pk).first()
    if student is None:
        raise not_found()
    records = [
        r
        for r in RecordBook.objects.filter(student=student)
        .select_related("school_class__year", "year")
        .order_by("-year__start_year")
        if pk in student_ids or r.school_class_id in class_ids
    ]
    if year_start is not None:
        records = [r for r in records if r.year.start_year == year_start]
    if not records:
        raise not_found()
    return student, records[0]


def granted_years(student_ids: frozenset[int], class_ids: frozenset[int], student: Student) -> list[SchoolYear]:
    """The years of the student's records a read grant opens, newest first."""
    return [
        r.year
        for r in RecordBook.objects.filter(student=student).select_related("year").order_by("-year__start_year")
        if student.pk in student_ids or r.school_class_id in class_ids
    ]


def granted_students(student_ids: frozenset[int], class_ids: frozenset[int]) -> list[dict]:
    """The students a read grant names, with the class of their latest record: one query."""
    rows = (
        RecordBook.objects.filter(Q(student_id__in=student_ids) | Q(school_class_id__in=class_ids))
        .order_by("student__sort_key", "student_id", "-year__start_year")
        .distinct("student__sort_key", "student_id")
        .values_list("student_id", "student__full_name", "school_class__name", "year__start_year")
    )
    return [{"id": pk, "name": name, "class_name": c, "year_start": y} for pk, name, c, y in rows]


def record_for_reader(access: SchoolAccess, student: Student, record: RecordBook, *, granted: bool = False) -> dict:
    """A record's results as this person may read them: every subject for the class's readers of the whole record
    and parents; one's own (or department's) subjects, without the record-wide results, for the others.

    The class's staff read the working copy: results computed live while the record may change, else read as frozen
    at approval. A parent reads the approved book only: a record reopened since (being corrected) is read as last
    approved — ``approved`` is then its ``ApprovedVersion`` (the record as approved, its awards), else ``None``.
    """
    school_class = record.school_class
    subject_ids_of_class = frozenset(school_class.assignments.values_list("subject_id", flat=True))
    # A read grant's holder reads the whole record as the school's staff do (the working copy), never more.
    staff_view = granted or access.may_read_class(school_class.pk, subject_ids_of_class)
    approved = None
    if not staff_view and record.state in recordstates.EDITABLE:
        if not ever_approved(record):
            raise not_found()
        approved = approved_version(record)
    live = approved is None and (record.state in recordstates.EDITABLE or not record.results)
    results = class_results(school_class, [student.pk])[student.pk].as_dict() if live else dict(record.results)
    lines = results.get("subjects", [])
    all_ids = frozenset(line["subject_id"] for line in lines)
    readable = access.readable_subject_ids(school_class.pk, all_ids) if staff_view and not granted else all_ids
    sees_all = readable == all_ids
    results["subjects"] = [line for line in lines if line["subject_id"] in readable]
    if not sees_all:
        for key in WHOLE_RECORD_KEYS:
            results.pop(key, None)
    return {"results": results, "sees_all": sees_all, "staff_view": staff_view, "live": live, "approved": approved}


def subjects_of(school_class: SchoolClass) -> list[Subject]:
    return class_subjects(school_class)
