"""What the setup pages and API read (``school.setup``): the school's levels, years, classes and who teaches
what, the curriculum, the departments, and the staff who may be given classes and subjects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from hocba.kernel.levels import LEVELS, level_of_grade, ordered_levels

from tenants.selectors import account_names, school_list, school_member_ids

from ..access import SchoolAccess
from ..models import Department, SchoolClass, SchoolYear, Subject, TeachingAssignment
from ..services.common import require
from .scope import not_found

TEACHING_ROLES = ("homeroom_teacher", "subject_teacher", "department_head", "principal", "vice_principal")
# Who may head a department: anyone on the school's staff (a membership of the school, parents excepted).
STAFF_ROLES = (*TEACHING_ROLES, "school_it_admin", "clerk")


def school_levels(access: SchoolAccess) -> tuple[str, ...]:
    """The levels the school teaches (public data, read through the tenants' selector); every level if unknown."""
    found = school_list(school_ids=[access.school_id]) if access.school_id else []
    return tuple(ordered_levels(found[0].levels if found else LEVELS))


def year_list(access: SchoolAccess) -> list[SchoolYear]:
    """Every year of the school, newest first, with ``class_count``."""
    require(access.can("school.setup"))
    return list(SchoolYear.objects.annotate(class_count=Count("classes")).order_by("-start_year"))


def year_get(access: SchoolAccess, pk: Any) -> SchoolYear:
    require(access.can("school.setup"))
    year = SchoolYear.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if year is None:
        raise not_found(_("Không tìm thấy năm học."))
    return year


def year_chosen(access: SchoolAccess, start_year: Any) -> SchoolYear | None:
    """The year a setup page shows: ``?year=<start year>``, else the newest (None: the school has no year yet)."""
    require(access.can("school.setup"))
    if start_year not in (None, ""):
        year = SchoolYear.objects.filter(start_year=start_year).first() if str(start_year).isdigit() else None
        if year is None:
            raise not_found(_("Không tìm thấy năm học."))
        return year
    return SchoolYear.objects.order_by("-start_year").first()


def year_classes(access: SchoolAccess, year: SchoolYear) -> list[SchoolClass]:
    """The year's classes, each with ``assignment_count``."""
    require(access.can("school.setup"))
    return list(
        SchoolClass.objects.filter(year=year).annotate(assignment_count=Count("assignments")).order_by("grade", "name")
    )


def setup_class_get(access: SchoolAccess, pk: Any) -> SchoolClass:
    """Any class of this school (its schema: another school's ids are not here) for someone who sets the school up."""
    require(access.can("school.setup"))
    school_class = SchoolClass.objects.select_related("year").filter(pk=pk).first() if str(pk).isdigit() else None
    if school_class is None:
        raise not_found(_("Không tìm thấy, hoặc nằm ngoài phạm vi của bạn."))
    return school_class


def subjects_of_grade(grade: int) -> list[Subject]:
    """The subjects taught in a grade, in the curriculum's order."""
    return list(Subject.objects.filter(level=level_of_grade(grade), grades__contains=[grade]).order_by("order", "name"))


def class_assignments(school_class: SchoolClass) -> list[tuple[Subject, int | None]]:
    """The subjects of the class's grade and who teaches each whole (``None``: nobody yet, or several teachers —
    ``parts.subject_teachers`` says who teaches which part)."""
    teachers = dict(
        TeachingAssignment.objects.filter(school_class=school_class, columns=[]).values_list("subject_id", "teacher_id")
    )
    return [(subject, teachers.get(subject.pk)) for subject in subjects_of_grade(school_class.grade)]


def subject_list(access: SchoolAccess, level: str | None = None) -> list[Subject]:
    require(access.can("school.setup"))
    subjects = Subject.objects.select_related("department").order_by("level", "order", "name")
    if level:
        subjects = subjects.filter(level=level)
    return list(subjects)


def subject_get(access: SchoolAccess, pk: Any) -> Subject:
    require(access.can("school.setup"))
    subject = Subject.objects.select_related("department").filter(pk=pk).first() if str(pk).isdigit() else None
    if subject is None:
        raise not_found(_("Không tìm thấy môn học."))
    return subject


def department_list(access: SchoolAccess) -> list[Department]:
    require(access.can("school.setup"))
    return list(Department.objects.order_by("name"))


def department_get(access: SchoolAccess, pk: Any) -> Department:
    require(access.can("school.setup"))
    department = Department.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if department is None:
        raise not_found(_("Không tìm thấy tổ chuyên môn."))
    return department


def staff_names(access: SchoolAccess, roles: Sequence[str] = TEACHING_ROLES) -> list[tuple[int, str]]:
    """``(account id, full name)`` of the school's members holding one of ``roles`` today, by name."""
    names = account_names(school_member_ids(access.school_id, roles))
    return sorted(names.items(), key=lambda item: (item[1] or "").lower())
