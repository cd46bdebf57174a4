"""Reads the pages need that ``schools.selectors`` does not offer yet (each one query, whatever the size
of the class). They only read rows the caller has already been allowed to see through a selector;
they belong in ``schools.selectors`` once its owners take them over."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from ..models import (
    Absence,
    AwardDiscipline,
    Conduct,
    Enrolment,
    GuardianLink,
    RecordBook,
    RecordState,
    SchoolClass,
    SchoolYear,
    Student,
)


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
    records = {sid: (pk, state) for sid, pk, state in
               RecordBook.objects.filter(school_class=school_class).values_list("student_id", "id", "state")}
    today = timezone.localdate()
    enrolments: dict[int, tuple] = {}
    for student_id, ends_on, exit_kind in (Enrolment.objects.filter(school_class=school_class)
                                           .order_by("starts_on").values_list("student_id", "ends_on", "exit")):
        enrolments[student_id] = (ends_on, exit_kind)  # the latest enrolment in the class wins
    out = []
    for s in students:
        ends_on, exit_kind = enrolments.get(s.pk, (None, ""))
        record_id, state = records.get(s.pk, (None, "draft"))
        out.append(ClassMember(s, record_id, state, ends_on is not None and ends_on <= today, exit_kind or ""))
    return out


def class_sizes(classes: list[SchoolClass]) -> dict[int, int]:
    """Students currently enrolled in each class."""
    return dict(Enrolment.objects.filter(school_class__in=classes, ends_on__isnull=True)
                .values_list("school_class_id").annotate(n=Count("id")))


def conduct_of(school_class: SchoolClass, student_ids: list[int]) -> dict[tuple[int, int], tuple[str, str]]:
    """{(student, term): (level, comment)} of the class's year."""
    return {(c.student_id, c.term): (c.level, c.text)
            for c in Conduct.objects.filter(year_id=school_class.year_id, student_id__in=student_ids)}


def absences_on(student_ids: list[int], day: dt.date) -> dict[int, Absence]:
    return {a.student_id: a for a in Absence.objects.filter(student_id__in=student_ids, date=day)}


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
    rows = (Absence.objects.filter(year=year, student_id__in=student_ids).annotate(month=TruncMonth("date"))
            .values("student_id", "month")
            .annotate(n_excused=Count("id", filter=Q(excused=True)), n_unexcused=Count("id", filter=Q(excused=False))))
    for r in rows:
        month = r["month"].date() if isinstance(r["month"], dt.datetime) else r["month"]
        out[r["student_id"]][month] = {"excused": r["n_excused"], "unexcused": r["n_unexcused"],
                                       "total": r["n_excused"] + r["n_unexcused"]}
    return out


def enrolment_history(student: Student) -> list[Enrolment]:
    return list(Enrolment.objects.filter(student=student).select_related("school_class__year").order_by("starts_on", "pk"))


def current_class_id(history: list[Enrolment]) -> int | None:
    return next((e.school_class_id for e in reversed(history) if e.ends_on is None), None)


def guardian_account_ids(student: Student) -> list[int]:
    return list(GuardianLink.objects.filter(student=student).values_list("account_id", flat=True))


def awards_of(student: Student, year_id: int) -> list[AwardDiscipline]:
    return list(AwardDiscipline.objects.filter(student=student, year_id=year_id).order_by("decided_on", "pk"))


def children_with_records(child_ids: frozenset[int]) -> list[tuple[Student, RecordBook | None]]:
    """A parent's linked children (Vietnamese order) with each one's latest record."""
    students = list(Student.objects.filter(pk__in=child_ids).order_by("sort_key", "pk"))
    latest: dict[int, RecordBook] = {}
    for record in (RecordBook.objects.filter(student_id__in=child_ids).select_related("school_class__year")
                   .order_by("student_id", "-year__start_year")):
        latest.setdefault(record.student_id, record)
    return [(s, latest.get(s.pk)) for s in students]
