"""Students: profiles, enrolment, class moves, transfers, guardians' accounts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from tenants.rollups import rollup_add

from ..access import SchoolAccess
from ..models import Enrolment, GuardianLink, RecordBook, SchoolClass, Student
from ..models.students import EntryKind, ExitKind, Gender
from .common import not_found, require, school_write

PROFILE_FIELDS = ("full_name", "date_of_birth", "gender", "ethnicity", "nationality", "place_of_birth", "address",
                  "personal_id", "moet_code", "guardians")


def clean_profile(data: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """Validate a profile; every problem names its field, in both languages."""
    out: dict[str, Any] = {}
    name = " ".join(str(data.get("full_name") or "").split())
    if not name or len(name.split()) < 2:
        raise DomainError("students.bad_name", _("Họ và tên phải có ít nhất họ và tên."), field="full_name")
    out["full_name"] = name
    dob = data.get("date_of_birth")
    if isinstance(dob, str):
        for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                dob = dt.datetime.strptime(dob.strip(), fmt).date()
                break
            except ValueError:
                continue
    if not isinstance(dob, dt.date) or isinstance(dob, dt.datetime):
        raise DomainError("students.bad_dob", _("Ngày sinh phải theo dạng dd/mm/yyyy."), field="date_of_birth")
    if not (today.replace(year=today.year - 25) <= dob <= today.replace(year=today.year - 4)):
        raise DomainError("students.dob_range", _("Ngày sinh %(d)s không hợp lệ cho học sinh phổ thông."),
                          params={"d": dob.strftime("%d/%m/%Y")}, field="date_of_birth")
    out["date_of_birth"] = dob
    gender = str(data.get("gender") or "").strip().upper()
    gender = {"NAM": "M", "NỮ": "F", "NU": "F"}.get(gender, gender)
    if gender not in Gender.values:
        raise DomainError("students.bad_gender", _("Giới tính phải là Nam hoặc Nữ."), field="gender")
    out["gender"] = gender
    for field in ("ethnicity", "nationality", "place_of_birth", "address"):
        if field in data and data[field] is not None:
            out[field] = " ".join(str(data[field]).split())
    for field in ("personal_id", "moet_code"):
        value = str(data.get(field) or "").strip()
        out[field] = value or None
    if out["personal_id"] is not None and not re.fullmatch(r"[0-9]{12}", out["personal_id"]):
        raise DomainError("students.bad_personal_id", _("Số định danh cá nhân phải gồm đúng 12 chữ số."), field="personal_id")
    guardians = data.get("guardians") or []
    if not isinstance(guardians, list) or not all(isinstance(g, dict) and g.get("name") for g in guardians):
        raise DomainError("students.bad_guardians", _("Mỗi người giám hộ cần có họ tên."), field="guardians")
    out["guardians"] = [{k: str(v) for k, v in g.items() if k in ("name", "relation", "phone", "occupation")} for g in guardians]
    return out


def _unique_ids(profile: dict[str, Any], exclude: int | None = None) -> None:
    for field, message in (("personal_id", _("Số định danh cá nhân %(v)s đã thuộc học sinh khác.")),
                           ("moet_code", _("Mã học sinh %(v)s đã thuộc học sinh khác."))):
        value = profile.get(field)
        if value and Student.objects.filter(**{field: value}).exclude(pk=exclude).exists():
            raise DomainError(f"students.{field}_taken", message, params={"v": value}, field=field)


@school_write
def student_enrol(*, access: SchoolAccess, school_class: SchoolClass, profile: dict[str, Any], starts_on: dt.date | None = None,
                  entry: str = EntryKind.NEW, today: dt.date) -> Student:
    """Create a student with their profile, enrol them in a class and open their record for the year."""
    require(access.may_edit_profiles(school_class.pk))
    data = clean_profile(profile, today=today)
    _unique_ids(data)
    student = Student(**data)
    student.save()
    Enrolment.objects.create(student=student, school_class=school_class, starts_on=starts_on or today, entry=entry)
    RecordBook.objects.create(student=student, year_id=school_class.year_id, school_class=school_class)
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, students=1, records_draft=1)
    return student


@school_write
def student_update(*, access: SchoolAccess, student: Student, profile: dict[str, Any], today: dt.date) -> Student:
    current = Enrolment.objects.filter(student=student, ends_on__isnull=True).values_list("school_class_id", flat=True).first()
    require(access.may_edit_profiles(current))
    merged = {f: getattr(student, f) for f in PROFILE_FIELDS} | {k: v for k, v in profile.items() if k in PROFILE_FIELDS}
    data = clean_profile(merged, today=today)
    _unique_ids(data, exclude=student.pk)
    for key, value in data.items():
        setattr(student, key, value)
    student.save()
    return student


def _current_enrolment(student: Student) -> Enrolment:
    enrolment = (Enrolment.objects.select_for_update().filter(student=student, ends_on__isnull=True)
                 .select_related("school_class__year").first())
    if enrolment is None:
        raise DomainError("students.not_enrolled", _("Học sinh hiện không theo học ở trường."))
    return enrolment


@school_write
def student_move_class(*, access: SchoolAccess, student: Student, to_class: SchoolClass, on: dt.date) -> Enrolment:
    enrolment = _current_enrolment(student)
    require(access.is_leadership or access.can("school.setup"))
    if enrolment.school_class_id == to_class.pk:
        raise DomainError("students.same_class", _("Học sinh đã ở lớp này."))
    if to_class.year_id != enrolment.school_class.year_id:
        raise DomainError("students.other_year", _("Chỉ chuyển lớp trong cùng năm học."))
    enrolment.ends_on, enrolment.exit = on, ExitKind.CLASS_MOVE
    enrolment.save(update_fields=["ends_on", "exit"])
    RecordBook.objects.filter(student=student, year_id=to_class.year_id).update(school_class=to_class)
    return Enrolment.objects.create(student=student, school_class=to_class, starts_on=on, entry=EntryKind.CLASS_MOVE)


@school_write
def student_transfer_out(*, access: SchoolAccess, student: Student, on: dt.date) -> Enrolment:
    enrolment = _current_enrolment(student)
    require(access.is_leadership)
    enrolment.ends_on, enrolment.exit = on, ExitKind.TRANSFER_OUT
    enrolment.save(update_fields=["ends_on", "exit"])
    rollup_add(school_id=access.school_id, year_start=enrolment.school_class.year.start_year, students=-1)
    return enrolment


@school_write
def guardian_link(*, access: SchoolAccess, student: Student, account_id: int) -> GuardianLink:
    from tenants.selectors import school_member_ids

    current = Enrolment.objects.filter(student=student, ends_on__isnull=True).values_list("school_class_id", flat=True).first()
    require(access.may_edit_profiles(current))
    if account_id not in school_member_ids(access.school_id, ["parent"]):
        raise DomainError("students.not_a_parent", _("Tài khoản này không có vai trò phụ huynh ở trường."), field="account")
    link, _created = GuardianLink.objects.get_or_create(student=student, account_id=account_id)
    return link


def student_get(pk: int) -> Student:
    student = Student.objects.filter(pk=pk).first()
    if student is None:
        raise not_found(_("Không tìm thấy học sinh."))
    return student
