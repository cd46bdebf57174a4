"""School A with a year, a class of students and assignments — inside its schema, rolled back (fixture `klass`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import connection
from hocba.kernel.schoolyear import school_year_of

from schools.access import school_access
from schools.models import SchoolClass, Subject
from schools.services.common import system_access
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol
from tenants.models import School

TODAY = dt.date(2025, 10, 1)
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Hoàng Minh Đức", "Vũ Thị Hà"]


@dataclass
class Klass:
    school: School
    school_class: SchoolClass
    math: Subject
    pe: Subject
    students: list[int]
    other_class: SchoolClass
    other_students: list[int]

    def access(self, w, name: str):
        from tenants.selectors import access_for

        account = w.account(name)
        return school_access(account.pk, self.school.pk, access_for(account).school_roles(self.school.pk))


def current_school_year(today: dt.date) -> int:
    return school_year_of(today)


@pytest.fixture
def klass(w):
    yield from _klass(w, 2025, TODAY)


@pytest.fixture
def klass_now(w):
    """The same class in the school year running today (for the open/lock windows)."""
    from django.utils import timezone

    today = timezone.localdate()
    yield from _klass(w, current_school_year(today), today)


def _klass(w, start_year: int, today: dt.date):
    school = School.objects.get(pk=w.school_a)
    connection.set_tenant(school)
    system = system_access(school.pk)
    year = school_year_open(access=system, start_year=start_year, levels=["lower_secondary"])
    six_a = class_create(access=system, year=year, name="6A1", grade=6, homeroom_teacher_id=w.accounts["homeroom_a"])
    six_b = class_create(access=system, year=year, name="6A2", grade=6, homeroom_teacher_id=None)
    math = Subject.objects.get(level="lower_secondary", code="toan")
    pe = Subject.objects.get(level="lower_secondary", code="giao_duc_the_chat")
    assignment_set(access=system, school_class=six_a, subject=math, teacher_id=w.accounts["teacher_a"])
    assignment_set(access=system, school_class=six_a, subject=pe, teacher_id=w.accounts["teacher_a"])
    students = [
        student_enrol(
            access=system,
            school_class=six_a,
            today=today,
            profile={"full_name": n, "date_of_birth": "05/03/2014", "gender": "M" if i % 2 == 0 else "F"},
        ).pk
        for i, n in enumerate(NAMES)
    ]
    others = [
        student_enrol(
            access=system,
            school_class=six_b,
            today=today,
            profile={"full_name": "Đỗ Lớp Khác", "date_of_birth": "01/01/2014", "gender": "M"},
        ).pk
    ]
    yield Klass(school, six_a, math, pe, students, six_b, others)
    connection.set_schema_to_public()
