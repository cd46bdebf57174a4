"""A school's year, curriculum, departments, classes and teaching assignments.

Every write here needs ``school.setup`` (principal, vice principals, the school's IT admin). A refusal is a
DomainError naming its field, raised before anything is written: the transaction leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError
from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, both_languages
from hocba.kernel.levels import (
    GRADES,
    LEVEL_GRADES,
    LEVELS,
    LOWER_SECONDARY,
    PRIMARY,
    UPPER_SECONDARY,
    level_of_grade,
    ordered_levels,
)

from ..access import SchoolAccess
from ..curriculum import CURRICULUM, DEPARTMENTS
from ..models import Assessment, Department, Grading, SchoolClass, SchoolYear, Subject, TeachingAssignment
from .common import not_found, require, school_write

TEACHING_ROLES = ("homeroom_teacher", "subject_teacher", "department_head", "principal", "vice_principal")
# Who may head a department: anyone on the school's staff (a membership of the school, parents excepted).
STAFF_ROLES = (*TEACHING_ROLES, "school_it_admin", "clerk")
# TT27 (primary) assesses by levels; TT22 (secondary) by scores or by comments.
GRADINGS_OF_LEVEL = {PRIMARY: (Grading.LEVEL,),
                     LOWER_SECONDARY: (Grading.SCORE, Grading.COMMENT),
                     UPPER_SECONDARY: (Grading.SCORE, Grading.COMMENT)}
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_PERIODS = 1000
CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")


def school_levels(access: SchoolAccess) -> tuple[str, ...]:
    """The levels the school teaches (public data, read through the tenants' selector); every level if unknown."""
    from tenants.selectors import school_list

    found = school_list(school_ids=[access.school_id]) if access.school_id else []
    return tuple(ordered_levels(found[0].levels if found else LEVELS))


def _require_teacher(access: SchoolAccess, account_id: int | None, field: str = "teacher") -> None:
    from tenants.selectors import school_member_ids

    if account_id is not None and account_id not in school_member_ids(access.school_id, TEACHING_ROLES):
        raise DomainError("assignments.not_a_teacher", _("Người được phân công không phải giáo viên của trường."),
                          field=field)


def _account_id(value: Any, field: str) -> int | None:
    """An account id given by a form or a request (``None`` or empty: nobody)."""
    if value in (None, ""):
        return None
    return _int(value, "assignments.not_a_teacher", _("Người được phân công không phải giáo viên của trường."), field)


def _int(value: Any, code: str, message, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(code, message, field=field) from None


# --- years ----------------------------------------------------------------------------------------------------------


def _check_dates(start_year: int, starts_on: dt.date | None, term2_starts_on: dt.date | None,
                 ends_on: dt.date | None) -> None:
    for field, value in (("starts_on", starts_on), ("term2_starts_on", term2_starts_on), ("ends_on", ends_on)):
        if not isinstance(value, dt.date):
            raise DomainError("years.missing_date", _("Cần có ngày (dd/mm/yyyy)."), field=field)
    assert starts_on and term2_starts_on and ends_on
    if starts_on.year != start_year:
        raise DomainError("years.bad_start", _("Ngày bắt đầu năm học phải trong năm %(year)s."),
                          params={"year": start_year}, field="starts_on")
    if ends_on.year != start_year + 1:
        raise DomainError("years.bad_end", _("Ngày kết thúc năm học phải trong năm %(year)s."),
                          params={"year": start_year + 1}, field="ends_on")
    if not starts_on < term2_starts_on:
        raise DomainError("years.dates_order", _("Ngày bắt đầu học kì II phải sau ngày bắt đầu năm học."),
                          field="term2_starts_on")
    if not term2_starts_on < ends_on:
        raise DomainError("years.dates_order", _("Ngày kết thúc năm học phải sau ngày bắt đầu học kì II."),
                          field="ends_on")


def default_dates(start_year: int) -> tuple[dt.date, dt.date, dt.date]:
    """5/9, 12/1 and 31/5: what a year opens with unless the school says otherwise."""
    return dt.date(start_year, 9, 5), dt.date(start_year + 1, 1, 12), dt.date(start_year + 1, 5, 31)


def _curriculum_ensure(levels: Iterable[str]) -> None:
    """The GDPT 2018 subjects of the levels and their departments, where the school does not have them yet."""
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


@school_write
def school_year_open(*, access: SchoolAccess, start_year: int, levels: list[str]) -> SchoolYear:
    """Open a school year (5/9 to 31/5 by default) and make sure the curriculum of the levels exists.
    Idempotent: an existing year is returned as it is (the demo and the tests rely on it)."""
    require(access.can("school.setup"))
    starts_on, term2_starts_on, ends_on = default_dates(start_year)
    year, _created = SchoolYear.objects.get_or_create(
        start_year=start_year,
        defaults={"starts_on": starts_on, "term2_starts_on": term2_starts_on, "ends_on": ends_on},
    )
    _curriculum_ensure(levels)
    return year


@school_write
def school_year_create(*, access: SchoolAccess, start_year: Any, levels: Sequence[str], starts_on: dt.date | None = None,
                       term2_starts_on: dt.date | None = None, ends_on: dt.date | None = None) -> SchoolYear:
    """Open a new year from the setup pages or the API: refused if it exists; dates default to ``default_dates``."""
    require(access.can("school.setup"))
    start_year = _int(start_year, "years.bad_start_year", _("Năm bắt đầu phải là một số từ 2000 đến 2100."), "start_year")
    if not FIRST_YEAR <= start_year <= LAST_YEAR:
        raise DomainError("years.bad_start_year", _("Năm bắt đầu phải là một số từ 2000 đến 2100."), field="start_year")
    allowed = school_levels(access)
    chosen = set(levels or ())
    if not chosen or chosen - set(allowed):
        raise DomainError("years.bad_levels", _("Hãy chọn cấp học trong các cấp học của trường."), field="levels")
    levels = ordered_levels(chosen)
    defaults = default_dates(start_year)
    starts_on, term2_starts_on, ends_on = (starts_on or defaults[0], term2_starts_on or defaults[1], ends_on or defaults[2])
    _check_dates(start_year, starts_on, term2_starts_on, ends_on)
    if SchoolYear.objects.filter(start_year=start_year).exists():
        raise DomainError("years.exists", _("Năm học %(year)s đã được mở."),
                          params={"year": f"{start_year}–{start_year + 1}"}, field="start_year")
    year = SchoolYear.objects.create(start_year=start_year, starts_on=starts_on, term2_starts_on=term2_starts_on,
                                     ends_on=ends_on)
    _curriculum_ensure(levels)
    return year


@school_write
def school_year_update(*, access: SchoolAccess, year: SchoolYear, starts_on: dt.date | None,
                       term2_starts_on: dt.date | None, ends_on: dt.date | None) -> SchoolYear:
    require(access.can("school.setup"))
    _check_dates(year.start_year, starts_on, term2_starts_on, ends_on)
    year.starts_on, year.term2_starts_on, year.ends_on = starts_on, term2_starts_on, ends_on
    year.save(update_fields=["starts_on", "term2_starts_on", "ends_on"])
    return year


# --- classes --------------------------------------------------------------------------------------------------------


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
        raise DomainError("classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}, field="name")


@school_write
def class_create(*, access: SchoolAccess, year: SchoolYear, name: str, grade: int, homeroom_teacher_id: int | None) -> SchoolClass:
    require(access.can("school.setup"))
    name = _class_name(name)
    grade = _int(grade, "classes.bad_grade", _("Khối lớp phải từ 1 đến 12."), "grade")
    if grade not in GRADES:
        raise DomainError("classes.bad_grade", _("Khối lớp phải từ 1 đến 12."), field="grade")
    if not Subject.objects.filter(level=level_of_grade(grade)).exists():
        raise DomainError("classes.no_curriculum", _("Trường chưa có chương trình học của khối %(grade)s."),
                          params={"grade": grade}, field="grade")
    homeroom_teacher_id = _account_id(homeroom_teacher_id, "homeroom_teacher")
    _require_teacher(access, homeroom_teacher_id, "homeroom_teacher")
    _class_name_free(year, name)
    try:
        return SchoolClass.objects.create(year=year, name=name, grade=grade, homeroom_teacher_id=homeroom_teacher_id)
    except IntegrityError as exc:
        raise DomainError("classes.exists", _("Lớp %(name)s đã có trong năm học này."), params={"name": name}) from exc


@school_write
def class_update(*, access: SchoolAccess, school_class: SchoolClass, name: str, homeroom_teacher_id: int | None) -> SchoolClass:
    """Rename a class or change its homeroom teacher (the grade stays: students and assignments depend on it)."""
    require(access.can("school.setup"))
    name = _class_name(name)
    homeroom_teacher_id = _account_id(homeroom_teacher_id, "homeroom_teacher")
    _require_teacher(access, homeroom_teacher_id, "homeroom_teacher")
    _class_name_free(school_class.year, name, exclude_pk=school_class.pk)
    school_class.name, school_class.homeroom_teacher_id = name, homeroom_teacher_id
    school_class.save(update_fields=["name", "homeroom_teacher"])
    return school_class


# --- teaching assignments -------------------------------------------------------------------------------------------


def subjects_of_grade(grade: int) -> list[Subject]:
    """The subjects taught in a grade, in the curriculum's order."""
    return list(Subject.objects.filter(level=level_of_grade(grade), grades__contains=[grade])
                .order_by("order", "name"))


def _taught_in(school_class: SchoolClass, subject: Subject) -> bool:
    return school_class.grade in subject.grades and subject.level == school_class.level


@school_write
def assignment_set(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, teacher_id: int) -> TeachingAssignment:
    require(access.can("school.setup"))
    if not _taught_in(school_class, subject):
        raise DomainError("assignments.subject_not_taught",
                          _("Môn %(subject)s không học ở lớp %(class)s."), params={"subject": subject.name, "class": school_class.name},
                          field="subject")
    _require_teacher(access, teacher_id)
    assignment, _created = TeachingAssignment.objects.update_or_create(
        school_class=school_class, subject=subject, defaults={"teacher_id": teacher_id})
    return assignment


class AssignmentsInvalid(DomainError):
    """Some rows of a class's assignments are wrong; none was saved. ``errors``: one per row, naming its subject."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("assignments.invalid", _("Có %(n)s dòng phân công không hợp lệ; chưa lưu gì."),
                         params={"n": len(errors)}, field="assignments")
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": self.errors}


def _row_error(index: int, subject_id: Any, field: str, code: str, message, params: dict | None = None) -> dict[str, Any]:
    texts = both_languages(message, params)
    return {"index": index, "subject": subject_id, "field": field, "code": code, "detail": texts["vi"],
            "detail_en": texts["en"]}


@school_write
def assignments_save(*, access: SchoolAccess, school_class: SchoolClass, rows: Sequence[Mapping[str, Any]]) -> int:
    """Who teaches each listed subject of the class: ``[{"subject": id, "teacher": id or None}]``; ``None`` clears.
    All rows or none; returns how many assignments the class has afterwards."""
    from tenants.selectors import school_member_ids

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
            errors.append(_row_error(index, row.get("subject") if isinstance(row, Mapping) else None, "subject",
                                     "assignments.no_subject", _("Không tìm thấy môn học.")))
            continue
        if not _taught_in(school_class, subject):
            errors.append(_row_error(index, subject.pk, "subject", "assignments.subject_not_taught",
                                     _("Môn %(subject)s không học ở lớp %(class)s."),
                                     {"subject": subject.name, "class": school_class.name}))
            continue
        if subject.pk in chosen:
            errors.append(_row_error(index, subject.pk, "subject", "assignments.twice",
                                     _("Môn %(subject)s có hai dòng phân công."), {"subject": subject.name}))
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
            errors.append(_row_error(index, subject.pk, "teacher", "assignments.not_a_teacher",
                                     _("Giáo viên dạy môn %(subject)s không phải giáo viên của trường."),
                                     {"subject": subject.name}))
            continue
        chosen[subject.pk] = teacher_id
    if errors:
        raise AssignmentsInvalid(errors)
    cleared = [s for s, t in chosen.items() if t is None]
    if cleared:
        TeachingAssignment.objects.filter(school_class=school_class, subject_id__in=cleared).delete()
    kept = [TeachingAssignment(school_class=school_class, subject_id=s, teacher_id=t) for s, t in chosen.items() if t]
    if kept:
        TeachingAssignment.objects.bulk_create(kept, update_conflicts=True, unique_fields=["school_class", "subject"],
                                               update_fields=["teacher"])
    return TeachingAssignment.objects.filter(school_class=school_class).count()


@school_write
def assignment_clear(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject) -> bool:
    """No one teaches the subject in the class any more (scores already entered stay). False if no one did."""
    require(access.can("school.setup"))
    deleted, _rows = TeachingAssignment.objects.filter(school_class=school_class, subject=subject).delete()
    return bool(deleted)


# --- curriculum -----------------------------------------------------------------------------------------------------


def _subject_fields(level: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields of a subject of ``level``, checked; raises the first error, naming its field."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise DomainError("subjects.missing_name", _("Cần có tên môn học."), field="name")
    if len(name) > Subject._meta.get_field("name").max_length:
        raise DomainError("subjects.long_name", _("Tên môn học dài quá 120 kí tự."), field="name")
    periods = _int(data.get("periods_per_year"), "subjects.bad_periods",
                   _("Số tiết cả năm phải là số nguyên từ 1 đến 1000."), "periods_per_year")
    if not 1 <= periods <= MAX_PERIODS:
        raise DomainError("subjects.bad_periods", _("Số tiết cả năm phải là số nguyên từ 1 đến 1000."),
                          field="periods_per_year")
    grading = str(data.get("grading") or "")
    if grading not in GRADINGS_OF_LEVEL[level]:
        raise DomainError("subjects.bad_grading", _("Cách đánh giá %(grading)s không dùng cho cấp học này."),
                          params={"grading": grading or "—"}, field="grading")
    tested = bool(data.get("has_periodic_test"))
    if tested and level != PRIMARY:
        raise DomainError("subjects.periodic_test_primary", _("Chỉ môn học ở tiểu học mới có bài kiểm tra định kì (TT27)."),
                          field="has_periodic_test")
    raw_grades = data.get("grades")
    if isinstance(raw_grades, str):
        raw_grades = [g for g in re.split(r"[,\s]+", raw_grades) if g]
    try:
        grades = sorted({int(g) for g in raw_grades or ()})
    except (TypeError, ValueError):
        grades = []
    if not grades or any(g not in LEVEL_GRADES[level] for g in grades):
        first, last = LEVEL_GRADES[level][0], LEVEL_GRADES[level][-1]
        raise DomainError("subjects.bad_grades", _("Khối học phải chọn trong các khối %(first)s–%(last)s."),
                          params={"first": first, "last": last}, field="grades")
    department_id = data.get("department")
    department = None
    if department_id not in (None, ""):
        department = Department.objects.filter(pk=_int(department_id, "subjects.no_department",
                                                       _("Không tìm thấy tổ chuyên môn."), "department")).first()
        if department is None:
            raise DomainError("subjects.no_department", _("Không tìm thấy tổ chuyên môn."), field="department")
    return {"name": name, "periods_per_year": periods, "grading": grading, "has_periodic_test": tested,
            "grades": grades, "department": department}


def _ascii_code(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:36] or "mon"


@school_write
def subject_create(*, access: SchoolAccess, level: str, data: Mapping[str, Any]) -> Subject:
    """A school's own subject in one of its levels; ``code`` optional (made from the name)."""
    require(access.can("school.setup"))
    if level not in school_levels(access):
        raise DomainError("subjects.bad_level", _("Hãy chọn cấp học trong các cấp học của trường."), field="level")
    fields = _subject_fields(level, data)
    taken = set(Subject.objects.filter(level=level).values_list("code", flat=True))
    code = str(data.get("code") or "").strip()
    if code:
        if not CODE_PATTERN.match(code):
            raise DomainError("subjects.bad_code", _("Mã môn chỉ gồm chữ thường không dấu, số và dấu gạch dưới."),
                              field="code")
        if code in taken:
            raise DomainError("subjects.code_taken", _("Mã môn %(code)s đã có ở cấp học này."), params={"code": code},
                              field="code")
    else:
        base = code = _ascii_code(fields["name"])
        n = 1
        while code in taken:
            n += 1
            code = f"{base}_{n}"
    if Subject.objects.filter(level=level, name__iexact=fields["name"]).exists():
        raise DomainError("subjects.name_taken", _("Môn %(name)s đã có ở cấp học này."), params={"name": fields["name"]},
                          field="name")
    order = (Subject.objects.filter(level=level).aggregate(m=Max("order"))["m"] or 0) + 1
    return Subject.objects.create(level=level, code=code, order=order, **fields)


@school_write
def subject_update(*, access: SchoolAccess, subject: Subject, data: Mapping[str, Any]) -> Subject:
    """Edit a subject. Its grading cannot change once marks were entered, nor can a grade be dropped while a class
    of that grade has a teacher for it."""
    require(access.can("school.setup"))
    fields = _subject_fields(subject.level, data)
    if Subject.objects.filter(level=subject.level, name__iexact=fields["name"]).exclude(pk=subject.pk).exists():
        raise DomainError("subjects.name_taken", _("Môn %(name)s đã có ở cấp học này."), params={"name": fields["name"]},
                          field="name")
    if fields["grading"] != subject.grading and Assessment.objects.filter(subject=subject).exists():
        raise DomainError("subjects.grading_in_use",
                          _("Môn %(subject)s đã có điểm hoặc nhận xét; không đổi được cách đánh giá."),
                          params={"subject": subject.name}, field="grading")
    dropped = set(subject.grades) - set(fields["grades"])
    if dropped:
        used = sorted(TeachingAssignment.objects.filter(subject=subject, school_class__grade__in=dropped)
                      .values_list("school_class__name", flat=True).distinct())
        if used:
            raise DomainError("subjects.grade_in_use",
                              _("Môn %(subject)s đang được phân công dạy ở lớp %(classes)s; không bỏ được khối đó."),
                              params={"subject": subject.name, "classes": ", ".join(used)}, field="grades")
    for key, value in fields.items():
        setattr(subject, key, value)
    subject.save(update_fields=[*fields])
    return subject


# --- departments ----------------------------------------------------------------------------------------------------


@school_write
def department_update(*, access: SchoolAccess, department: Department, name: str, head_id: Any) -> Department:
    """Rename a department and set (or clear, with ``None``) its head: a member of the school's staff."""
    from tenants.selectors import school_member_ids

    require(access.can("school.setup"))
    name = str(name or "").strip()
    if not name:
        raise DomainError("departments.missing_name", _("Cần có tên tổ chuyên môn."), field="name")
    if len(name) > Department._meta.get_field("name").max_length:
        raise DomainError("departments.long_name", _("Tên tổ chuyên môn dài quá 120 kí tự."), field="name")
    if head_id in ("",):
        head_id = None
    if head_id is not None:
        head_id = _int(head_id, "departments.bad_head", _("Tổ trưởng phải là cán bộ, giáo viên của trường."), "head")
        if head_id not in school_member_ids(access.school_id, STAFF_ROLES):
            raise DomainError("departments.bad_head", _("Tổ trưởng phải là cán bộ, giáo viên của trường."), field="head")
    department.name, department.head_id = name, head_id
    department.save(update_fields=["name", "head"])
    return department


# --- reads for the setup pages and API ------------------------------------------------------------------------------


def year_list(access: SchoolAccess) -> list[SchoolYear]:
    """Every year of the school, newest first, with ``class_count``."""
    from django.db.models import Count

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
    from django.db.models import Count

    require(access.can("school.setup"))
    return list(SchoolClass.objects.filter(year=year).annotate(assignment_count=Count("assignments"))
                .order_by("grade", "name"))


def setup_class_get(access: SchoolAccess, pk: Any) -> SchoolClass:
    """Any class of this school (its schema: another school's ids are not here) for someone who sets the school up."""
    require(access.can("school.setup"))
    school_class = SchoolClass.objects.select_related("year").filter(pk=pk).first() if str(pk).isdigit() else None
    if school_class is None:
        raise not_found(_("Không tìm thấy, hoặc nằm ngoài phạm vi của bạn."))
    return school_class


def class_assignments(school_class: SchoolClass) -> list[tuple[Subject, int | None]]:
    """The subjects of the class's grade and who teaches each (``None``: nobody yet)."""
    teachers = dict(TeachingAssignment.objects.filter(school_class=school_class).values_list("subject_id", "teacher_id"))
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
    from tenants.selectors import account_names, school_member_ids

    names = account_names(school_member_ids(access.school_id, roles))
    return sorted(names.items(), key=lambda item: (item[1] or "").lower())
