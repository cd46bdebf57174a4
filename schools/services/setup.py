"""A school's year, curriculum, departments, classes and teaching assignments."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from ..access import SchoolAccess
from ..curriculum import CURRICULUM, DEPARTMENTS
from ..models import Department, SchoolClass, SchoolYear, Subject, TeachingAssignment
from .common import require, school_write

TEACHING_ROLES = ("homeroom_teacher", "subject_teacher", "department_head", "principal", "vice_principal")


def _require_teacher(access: SchoolAccess, account_id: int | None) -> None:
    from tenants.selectors import school_member_ids

    if account_id is not None and account_id not in school_member_ids(access.school_id, TEACHING_ROLES):
        raise DomainError("assignments.not_a_teacher", _("Người được phân công không phải giáo viên của trường."),
                          field="teacher")


GRADES_OF_LEVEL = {"primary": range(1, 6), "lower_secondary": range(6, 10), "upper_secondary": range(10, 13)}


@school_write
def school_year_open(*, access: SchoolAccess, start_year: int, levels: list[str]) -> SchoolYear:
    """Open a school year (5/9 to 31/5 by default) and make sure the curriculum of the levels exists."""
    require(access.can("school.setup"))
    year, _created = SchoolYear.objects.get_or_create(
        start_year=start_year,
        defaults={"starts_on": dt.date(start_year, 9, 5), "term2_starts_on": dt.date(start_year + 1, 1, 12),
                  "ends_on": dt.date(start_year + 1, 5, 31)},
    )
    departments = {d.code: d for d in Department.objects.all()}
    for code, name in DEPARTMENTS.items():
        if code not in departments:
            departments[code] = Department.objects.create(code=code, name=name)
    existing = set(Subject.objects.values_list("level", "code"))
    new = []
    for level in levels:
        for order, (code, name, grades, periods, grading, dept, tested) in enumerate(CURRICULUM[level]):
            if (level, code) not in existing:
                new.append(Subject(level=level, code=code, name=name, grades=list(grades), periods_per_year=periods,
                                   grading=grading, department=departments[dept], has_periodic_test=tested, order=order))
    Subject.objects.bulk_create(new)
    return year


@school_write
def class_create(*, access: SchoolAccess, year: SchoolYear, name: str, grade: int, homeroom_teacher_id: int | None) -> SchoolClass:
    require(access.can("school.setup"))
    name = (name or "").strip()
    if not name:
        raise DomainError("classes.missing_name", _("Cần có tên lớp."), field="name")
    if not 1 <= int(grade) <= 12:
        raise DomainError("classes.bad_grade", _("Khối lớp phải từ 1 đến 12."), field="grade")
    _require_teacher(access, homeroom_teacher_id)
    if SchoolClass.objects.filter(year=year, name__iexact=name).exists():
        raise DomainError("classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}, field="name")
    try:
        return SchoolClass.objects.create(year=year, name=name, grade=grade, homeroom_teacher_id=homeroom_teacher_id)
    except IntegrityError as exc:
        raise DomainError("classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}) from exc


@school_write
def assignment_set(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, teacher_id: int) -> TeachingAssignment:
    require(access.can("school.setup"))
    if school_class.grade not in subject.grades or subject.level != school_class.level:
        raise DomainError("assignments.subject_not_taught",
                          _("Môn %(subject)s không học ở lớp %(class)s."), params={"subject": subject.name, "class": school_class.name})
    _require_teacher(access, teacher_id)
    assignment, _created = TeachingAssignment.objects.update_or_create(
        school_class=school_class, subject=subject, defaults={"teacher_id": teacher_id})
    return assignment
