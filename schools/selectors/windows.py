"""What the school's windows page reads of the school itself: its classes and students to offer in an exception
request, and their names on the requests already made. The windows are public data (``tenants.selectors.windows``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Enrolment, SchoolClass, Student


def class_choices(year) -> list[tuple[int, str]]:
    if year is None:
        return []
    return [(c.pk, c.name) for c in SchoolClass.objects.filter(year=year).order_by("grade", "name")]


def student_choices(year) -> list[tuple[str, list[tuple[int, str]]]]:
    """Students of the current year, grouped by class (optgroups)."""
    if year is None:
        return []
    groups: dict[str, list[tuple[int, str]]] = {}
    rows = (
        Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True)
        .select_related("student", "school_class")
        .order_by("school_class__grade", "school_class__name", "student__sort_key")
    )
    for e in rows:
        groups.setdefault(e.school_class.name, []).append((e.student_id, e.student.full_name))
    return list(groups.items())


def class_and_student_names(
    class_ids: Iterable[int], student_ids: Iterable[int]
) -> tuple[dict[int, str], dict[int, str]]:
    """({class id: name}, {student id: full name}) — two queries."""
    classes = dict(SchoolClass.objects.filter(pk__in=set(class_ids)).values_list("pk", "name"))
    students = dict(Student.objects.filter(pk__in=set(student_ids)).values_list("pk", "full_name"))
    return classes, students
