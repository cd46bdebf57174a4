"""What the homeroom teachers' monthly duty job needs to know inside one school (run through
``tenants.perschool.run_in_school``; plain data in, plain data out, no public table read or written).

Long An reg. art. 7.2: the homeroom teacher updates the class's absences, leaves, class moves and transfers monthly;
the primary school's regulation (II.3) asks for updates "by month or semester" in the year. A class of the year that
had students in a month counts as **updated in that month** when

* its homeroom teacher wrote attendance or conduct that month — an entry of the school's audit chain on the
  ``schools_absence`` or ``schools_conduct`` table by that account, stamped within the month (local time); the audit
  is written by the database for every path (page, API, import), so nothing else has to remember to stamp it; or
* an absence of one of its students is dated in that month, whoever recorded it (the office, an import).

A month without absences leaves nothing to write: such a class is reported, and its teacher reminded, until the
teacher records attendance or conduct that month — the reminder asks them to check the month.

Three queries per school whatever the number of classes: the year, the classes with students in the month, the
classes updated (the audit look-up runs on its ``(account_id, at)`` index).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from hocba.kernel.schoolyear import school_year_of

from .models import Absence, AuditEntry, Conduct, Enrolment, SchoolClass, SchoolYear

DUTY_TABLES = (Absence._meta.db_table, Conduct._meta.db_table)


def month_bounds(first: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month that starts on ``first``."""
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def classes_without_update(*, month: dt.date) -> dict:
    """The classes of the month's school year that had students in the month and no attendance or conduct update
    (see the module's note): ``{"year_start", "in_year", "classes", "without_update": [{"class_id", "class_name",
    "grade", "homeroom_teacher_id"}]}``. A month outside the school year's dates has nothing to check."""
    first, last = month_bounds(month.replace(day=1))
    year_start = school_year_of(first)
    year = SchoolYear.objects.filter(start_year=year_start).first()
    empty = {"year_start": year_start, "in_year": False, "classes": 0, "without_update": []}
    if year is None or year.starts_on > last or year.ends_on < first:
        return empty
    in_month = Q(enrolments__starts_on__lte=last) & (
        Q(enrolments__ends_on__isnull=True) | Q(enrolments__ends_on__gte=first)
    )
    classes = list(
        SchoolClass.objects.filter(year=year)
        .annotate(students=Count("enrolments__student", filter=in_month, distinct=True))
        .filter(students__gt=0)
        .order_by("grade", "name")
        .values("pk", "name", "grade", "homeroom_teacher_id")
    )
    if not classes:
        return {**empty, "in_year": True}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id
              FROM schools_schoolclass c
             WHERE c.id = ANY (%s)
               AND (EXISTS (SELECT 1 FROM {AuditEntry._meta.db_table} a
                             WHERE a.account_id = c.homeroom_teacher_id AND a.at >= %s AND a.at < %s
                               AND a.table_name = ANY (%s))
                    OR EXISTS (SELECT 1 FROM {Absence._meta.db_table} ab
                                 JOIN {Enrolment._meta.db_table} e
                                   ON e.student_id = ab.student_id AND e.school_class_id = c.id
                                  AND e.starts_on <= ab.date AND (e.ends_on IS NULL OR e.ends_on >= ab.date)
                                WHERE ab.date BETWEEN %s AND %s))
            """,
            [
                [c["pk"] for c in classes],
                _local_midnight(first),
                _local_midnight(last + dt.timedelta(days=1)),
                list(DUTY_TABLES),
                first,
                last,
            ],
        )
        updated = {row[0] for row in cursor.fetchall()}
    return {
        "year_start": year_start,
        "in_year": True,
        "classes": len(classes),
        "without_update": [
            {
                "class_id": c["pk"],
                "class_name": c["name"],
                "grade": c["grade"],
                "homeroom_teacher_id": c["homeroom_teacher_id"],
            }
            for c in classes
            if c["pk"] not in updated
        ],
    }
