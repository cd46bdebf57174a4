"""The classes of a year and who teaches what in each: create, rename, homeroom teacher, teaching assignments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, both_languages
from hocba.kernel.levels import GRADES, level_of_grade

from tenants.selectors import school_member_ids

from ...access import SchoolAccess
from ...models import SchoolClass, SchoolYear, Subject, TeachingAssignment
from ...rollups import class_rollup_add, rollup_add
from ...selectors import TEACHING_ROLES
from ..common import require, school_write
from .common import _account_id, _int, _require_teacher


def _class_name(name: Any) -> str:
    name = str(name or "").strip()
    if not name:
        raise DomainError("classes.missing_name", _("Cần có tên lớp."), field="name")
    if len(name) > SchoolClass._meta.get_field("name").max_length:
        raise DomainError("classes.long_name", _("Tên lớp dài quá 20 kí tự."), field="name")
    return name


def _class_name_free(year: SchoolYear, name: str, exclude_pk: int | None = None) -> None:
    taken = SchoolClass.objects.filter(year=year, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise DomainError(
            "classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}, field="name"
        )


@school_write
def class_create(
    *, access: SchoolAccess, year: SchoolYear, name: str, grade: int, homeroom_teacher_id: int | None
) -> SchoolClass:
    require(access.can("school.setup"))
    name = _class_name(name)
    grade = _int(grade, "classes.bad_grade", _("Khối lớp phải từ 1 đến 12."), "grade")
    if grade not in GRADES:
        raise DomainError("classes.bad_grade", _("Khối lớp phải từ 1 đến 12."), field="grade")
    if not Subject.objects.filter(level=level_of_grade(grade)).exists():
        raise DomainError(
            "classes.no_curriculum",
            _("Trường chưa có chương trình học của khối %(grade)s."),
            params={"grade": grade},
            field="grade",
        )
    homeroom_teacher_id = _account_id(homeroom_teacher_id, "homeroom_teacher")
    _require_teacher(access, homeroom_teacher_id, "homeroom_teacher")
    _class_name_free(year, name)
    try:
        created = SchoolClass.objects.create(year=year, name=name, grade=grade, homeroom_teacher_id=homeroom_teacher_id)
    except IntegrityError as exc:
        raise DomainError("classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}) from exc
    rollup_add(school_id=access.school_id, year_start=year.start_year, classes=1)
    class_rollup_add(school_id=access.school_id, school_class=created)
    return created


@school_write
def class_update(
    *, access: SchoolAccess, school_class: SchoolClass, name: str, homeroom_teacher_id: int | None
) -> SchoolClass:
    """Rename a class or change its homeroom teacher (the grade stays: students and assignments depend on it)."""
    require(access.can("school.setup"))
    name = _class_name(name)
    homeroom_teacher_id = _account_id(homeroom_teacher_id, "homeroom_teacher")
    _require_teacher(access, homeroom_teacher_id, "homeroom_teacher")
    _class_name_free(school_class.year, name, exclude_pk=school_class.pk)
    school_class.name, school_class.homeroom_teacher_id = name, homeroom_teacher_id
    school_class.save(update_fields=["name", "homeroom_teacher"])
    class_rollup_add(school_id=access.school_id, school_class=school_class)  # the row keeps the class's name
    return school_class


# --- teaching assignments -------------------------------------------------------------------------------------------


def _taught_in(school_class: SchoolClass, subject: Subject) -> bool:
    return school_class.grade in subject.grades and subject.level == school_class.level


@school_write
def assignment_set(
    *, access: SchoolAccess, school_class: SchoolClass, subject: Subject, teacher_id: int
) -> TeachingAssignment:
    require(access.can("school.setup"))
    if not _taught_in(school_class, subject):
        raise DomainError(
            "assignments.subject_not_taught",
            _("Môn %(subject)s không học ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            field="subject",
        )
    _require_teacher(access, teacher_id)
    current = TeachingAssignment.objects.filter(school_class=school_class, subject=subject)
    whole = [a for a in current if not a.columns]
    if len(whole) == 1 and len(current) == 1:
        assignment = whole[0]
        if assignment.teacher_id != teacher_id or assignment.part:
            assignment.teacher_id, assignment.part = teacher_id, ""
            assignment.save(update_fields=["teacher", "part"])
        return assignment
    current.delete()  # a subject shared between teachers becomes one teacher's whole subject
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # the sheets required
    return TeachingAssignment.objects.create(school_class=school_class, subject=subject, teacher_id=teacher_id)


class AssignmentsInvalid(DomainError):
    """Some rows of a class's assignments are wrong; none was saved. ``errors``: one per row, naming its subject."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(
            "assignments.invalid",
            _("Có %(n)s dòng phân công không hợp lệ; chưa lưu gì."),
            params={"n": len(errors)},
            field="assignments",
        )
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": self.errors}


def _row_error(
    index: int, subject_id: Any, field: str, code: str, message, params: dict | None = None
) -> dict[str, Any]:
    texts = both_languages(message, params)
    return {
        "index": index,
        "subject": subject_id,
        "field": field,
        "code": code,
        "detail": texts["vi"],
        "detail_en": texts["en"],
    }


@school_write
def assignments_save(*, access: SchoolAccess, school_class: SchoolClass, rows: Sequence[Mapping[str, Any]]) -> int:
    """Who teaches each listed subject of the class: ``[{"subject": id, "teacher": id or None}]``; ``None`` clears.
    A subject shared between several teachers (``parts.subject_parts_save``) is left as it is by ``None`` and becomes
    one teacher's whole subject again by a teacher. All rows or none; returns how many assignments the class has
    afterwards."""
    require(access.can("school.setup"))
    subject_ids = []
    for row in rows:
        try:
            subject_ids.append(int(row.get("subject")))
        except (TypeError, ValueError, AttributeError):
            subject_ids.append(None)
    subjects = Subject.objects.in_bulk([i for i in subject_ids if i is not None])
    teachers = school_member_ids(access.school_id, TEACHING_ROLES)
    errors: list[dict[str, Any]] = []
    chosen: dict[int, int | None] = {}
    for index, (row, subject_id) in enumerate(zip(rows, subject_ids, strict=True)):
        subject = subjects.get(subject_id) if subject_id is not None else None
        if subject is None:
            errors.append(
                _row_error(
                    index,
                    row.get("subject") if isinstance(row, Mapping) else None,
                    "subject",
                    "assignments.no_subject",
                    _("Không tìm thấy môn học."),
                )
            )
            continue
        if not _taught_in(school_class, subject):
            errors.append(
                _row_error(
                    index,
                    subject.pk,
                    "subject",
                    "assignments.subject_not_taught",
                    _("Môn %(subject)s không học ở lớp %(class)s."),
                    {"subject": subject.name, "class": school_class.name},
                )
            )
            continue
        if subject.pk in chosen:
            errors.append(
                _row_error(
                    index,
                    subject.pk,
                    "subject",
                    "assignments.twice",
                    _("Môn %(subject)s có hai dòng phân công."),
                    {"subject": subject.name},
                )
            )
            continue
        teacher = row.get("teacher")
        if teacher in (None, ""):
            chosen[subject.pk] = None
            continue
        try:
            teacher_id = int(teacher)
        except (TypeError, ValueError):
            teacher_id = None
        if teacher_id is None or teacher_id not in teachers:
            errors.append(
                _row_error(
                    index,
                    subject.pk,
                    "teacher",
                    "assignments.not_a_teacher",
                    _("Giáo viên dạy môn %(subject)s không phải giáo viên của trường."),
                    {"subject": subject.name},
                )
            )
            continue
        chosen[subject.pk] = teacher_id
    if errors:
        raise AssignmentsInvalid(errors)
    current: dict[int, list[tuple[int, bool]]] = {}
    for subject_id, teacher_id, columns in TeachingAssignment.objects.filter(school_class=school_class).values_list(
        "subject_id", "teacher_id", "columns"
    ):
        current.setdefault(subject_id, []).append((teacher_id, bool(columns)))
    shared = {s for s, rows_of in current.items() if any(part for _t, part in rows_of)}
    # Only what changes is written: a subject left to nobody, or given to another teacher (or made whole again).
    changed = {
        s: t
        for s, t in chosen.items()
        if (t is None and s in current and s not in shared) or (t is not None and current.get(s) != [(t, False)])
    }
    if changed:
        TeachingAssignment.objects.filter(school_class=school_class, subject_id__in=list(changed)).delete()
        TeachingAssignment.objects.bulk_create(
            [TeachingAssignment(school_class=school_class, subject_id=s, teacher_id=t) for s, t in changed.items() if t]
        )
        class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # sheets required
    return TeachingAssignment.objects.filter(school_class=school_class).count()


@school_write
def assignment_clear(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject) -> bool:
    """No one teaches the subject in the class any more (scores already entered stay). False if no one did."""
    require(access.can("school.setup"))
    deleted, _rows = TeachingAssignment.objects.filter(school_class=school_class, subject=subject).delete()
    if deleted:
        class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # one sheet fewer
    return bool(deleted)
