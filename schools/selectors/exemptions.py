"""Reads of the exemption decisions (miễn học) of a class's students."""

from __future__ import annotations

from ..models import Exemption, SchoolClass
from .scope import class_students


def class_exemptions(school_class: SchoolClass) -> list[Exemption]:
    """The decisions of the year for the class's students, with their subjects: by student, subject, term."""
    ids = [s.pk for s in class_students(school_class)]
    return list(
        Exemption.objects.filter(year_id=school_class.year_id, student_id__in=ids)
        .select_related("subject")
        .order_by("student_id", "subject__order", "term", "pk")
    )
