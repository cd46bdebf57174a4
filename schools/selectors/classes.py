"""A class as its pages show it: its members with their record, sizes, conduct, absences, awards, teachers,
and the classes a form may name. Each read is one query whatever the size of the class; the rows are those
of a class the caller has already been allowed to see (``scope.class_get``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from .. import onroll
from ..access import SchoolAccess
from ..models import (
    Absence,
    AwardDiscipline,
    Conduct,
    Enrolment,
    RecordBook,
    RecordState,
    SchoolClass,
    SchoolYear,
    Student,
)
from ..services.common import require
from .scope import class_students, classes_visible, not_found


@dataclass(frozen=True)
class ClassMember:
    student: Student
    record_id: int | None
    record_state: str
    left: bool
    exit: str

    @property
    def state_label(self) -> str:
        return RecordState(self.record_state).label


def class_members(school_class: SchoolClass, students: list[Student]) -> list[ClassMember]:
    """The class's students (already in Vietnamese order) with their record of the year and whether they left."""
    records = {
        sid: (pk, state)
        for sid, pk, state in RecordBook.objects.filter(school_class=school_class).values_list(
            "student_id", "id", "state"
        )
    }
    today = onroll.school_today()
    enrolments: dict[int, tuple] = {}
    for student_id, ends_on, exit_kind in (
        Enrolment.objects.filter(school_class=school_class)
        .order_by("starts_on")
        .values_list("student_id", "ends_on", "exit")
    ):
        enrolments[student_id] = (ends_on, exit_kind)  # the latest enrolment in the class wins
    out = []
    for s in students:
        ends_on, exit_kind = enrolments.get(s.pk, (None, ""))
        record_id, state = records.get(s.pk, (None, "draft"))
        out.append(ClassMember(s, record_id, state, onroll.has_left(ends_on, today), exit_kind or ""))
    return out


def class_list(access: SchoolAccess, year: SchoolYear | None) -> list[SchoolClass]:
    """The classes of a year whose records this person reads (a parent's children's classes are not listed); for
    whoever keeps every class's student profiles (the office), every class of the year: its student list, not its
    records."""
    if year is not None and access.may_edit_profiles(None):
        return list(SchoolClass.objects.filter(year=year).prefetch_related("assignments"))
    return [
        c
        for c in classes_visible(access, year)
        if access.may_read_class(c.pk, frozenset(a.subject_id for a in c.assignments.all()))
    ]


def class_sizes(classes: list[SchoolClass]) -> dict[int, int]:
    """The students on each class's roll today (the rule of the school's ``students`` figure, ``schools.onroll``)."""
    return dict(
        Enrolment.objects.filter(onroll.on_roll(onroll.school_today()), school_class__in=classes)
        .values_list("school_class_id")
        .annotate(n=Count("id"))
    )


def class_for_profiles(access: SchoolAccess, pk: int) -> SchoolClass:
    """A class whose student list this person may edit (the clerk too, who reads no records)."""
    school_class = SchoolClass.objects.select_related("year").filter(pk=pk).first()
    if school_class is None or not (access.may_edit_profiles(pk) or access.may_read_class(pk)):
        raise not_found()
    require(access.may_edit_profiles(pk))
    return school_class


def class_in_school(value: Any, *, field: str) -> SchoolClass:
    """A class of this school from a submitted id; an id of another school does not exist in this school's data."""
    try:
        pk = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError("students.class_missing", gettext_lazy("Hãy chọn lớp."), field=field) from None
    school_class = SchoolClass.objects.filter(pk=pk).select_related("year").first()
    if school_class is None:
        raise DomainError("students.class_unknown", gettext_lazy("Không tìm thấy lớp này ở trường."), field=field)
    return school_class


def classes_of_year(year_id: int) -> list[SchoolClass]:
    return list(SchoolClass.objects.filter(year_id=year_id).order_by("grade", "name"))


def year_after(year: SchoolYear) -> SchoolYear | None:
    return SchoolYear.objects.filter(start_year=year.start_year + 1).first()


def class_enrolled_students(school_class: SchoolClass) -> list[Student]:
    """The students still in the class (the ones a year end carries over), in Vietnamese order."""
    return [
        e.student
        for e in Enrolment.objects.filter(school_class=school_class, ends_on__isnull=True)
        .select_related("student")
        .order_by("student__sort_key", "student_id")
    ]


def class_teachers(school_class: SchoolClass) -> dict[int, int]:
    """{subject: teacher} of the class."""
    return {a.subject_id: a.teacher_id for a in school_class.assignments.all()}


def class_subject_ids(school_class: SchoolClass) -> frozenset[int]:
    """The subjects taught in the class (the department heads who read its records depend on them)."""
    return frozenset(school_class.assignments.values_list("subject_id", flat=True))


def final_results(school_class: SchoolClass) -> dict[int, dict]:
    """{student: results as frozen at approval} of the class's approved, signed or locked records."""
    return dict(
        RecordBook.objects.filter(school_class=school_class, state__in=recordstates.FINAL).values_list(
            "student_id", "results"
        )
    )


def conduct_of(school_class: SchoolClass, student_ids: list[int]) -> dict[tuple[int, int], tuple[str, str]]:
    """{(student, term): (level, comment)} of the class's year."""
    return {
        (c.student_id, c.term): (c.level, c.text)
        for c in Conduct.objects.filter(year_id=school_class.year_id, student_id__in=student_ids)
    }


def absences_on(student_ids: list[int], day: dt.date) -> dict[int, Absence]:
    return {a.student_id: a for a in Absence.objects.filter(student_id__in=student_ids, date=day)}


def absences_between(student_ids: list[int], first: dt.date, last: dt.date) -> dict[tuple[int, dt.date], Absence]:
    """{(student, date): absence} of these students from ``first`` to ``last`` (both included), in one query."""
    rows = Absence.objects.filter(student_id__in=student_ids, date__range=(first, last))
    return {(a.student_id, a.date): a for a in rows}


def months_of(year: SchoolYear) -> list[dt.date]:
    """The first day of every month of the school year (September to May/June)."""
    months, day = [], year.starts_on.replace(day=1)
    while day <= year.ends_on:
        months.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def monthly_absences(year: SchoolYear, student_ids: list[int]) -> dict[int, dict[dt.date, dict[str, int]]]:
    """{student: {first day of month: {"excused", "unexcused", "total"}}} for the year."""
    out: dict[int, dict[dt.date, dict[str, int]]] = defaultdict(dict)
    rows = (
        Absence.objects.filter(year=year, student_id__in=student_ids)
        .annotate(month=TruncMonth("date"))
        .values("student_id", "month")
        .annotate(n_excused=Count("id", filter=Q(excused=True)), n_unexcused=Count("id", filter=Q(excused=False)))
    )
    for r in rows:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        out[r["student_id"]][month] = {
            "excused": r["n_excused"],
            "unexcused": r["n_unexcused"],
            "total": r["n_excused"] + r["n_unexcused"],
        }
    return out


def class_awards(school_class: SchoolClass) -> list[AwardDiscipline]:
    """Awards and discipline of the class's students in the class's year."""
    ids = [s.pk for s in class_students(school_class)]
    return list(
        AwardDiscipline.objects.filter(year_id=school_class.year_id, student_id__in=ids).order_by("decided_on", "pk")
    )
