"""Students: profiles, enrolment, class moves, transfers, guardians' accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from tenants.selectors import school_member_ids
from tenants.services.accounts import school_account_create

from .. import onroll
from ..access import SchoolAccess
from ..models import Enrolment, GuardianLink, RecordBook, SchoolClass, Student
from ..models.students import EntryKind, ExitKind, Gender
from ..rollups import class_rollup_add, class_stale, classes_changed, distribution_profile_change, rollup_add
from ..rules import identity, tt22, tt27
from ..rules.identity import IdProblem
from .common import not_found, require, school_write
from .results import class_results

# The record book's identity fields, then the guardians: what a profile holds.
IDENTITY_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "ethnicity",
    "nationality",
    "place_of_birth",
    "address",
    "personal_id",
    "moet_code",
)
PROFILE_FIELDS = (*IDENTITY_FIELDS, "guardians")
# What everyone who may see a student sees of the profile (a class list: name, date of birth, gender). The rest is
# personal data (Law 91/2025/QH15; ethnicity is sensitive personal data, Decree 13/2023 art. 2.4), shown only to
# those ``selectors.personal_data_readable`` names, on every page, API and export.
BASIC_FIELDS = ("full_name", "date_of_birth", "gender")
PERSONAL_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in BASIC_FIELDS)


# A personal identification number that contradicts the date of birth or the sex (the import leaves these out when
# it stood in for a faulty date of birth or sex to look for the row's other problems).
PERSONAL_ID_MISMATCHES = frozenset({"students.personal_id_birth_year", "students.personal_id_sex"})


def check_personal_id(value: str, *, born: dt.date, sex: str) -> None:
    """The one check of a personal identification number (page, API, import): 12 digits, a province code, the
    century-and-sex digit and the year of birth matching the student's (``rules.identity``)."""
    problem = identity.personal_id_problem(value, born=born, sex=sex)
    if problem is None:
        return
    params = {"v": value, "p": value[:3], "d": value[3:4], "yy": value[4:6], "y": born.year}
    if problem is IdProblem.FORM:
        raise DomainError(
            "students.bad_personal_id", _("Số định danh cá nhân phải gồm đúng 12 chữ số."), field="personal_id"
        )
    if problem is IdProblem.PROVINCE:
        raise DomainError(
            "students.personal_id_province",
            _(
                "Số định danh cá nhân %(v)s không hợp lệ: ba chữ số đầu (%(p)s) không phải mã tỉnh, thành phố nơi "
                "đăng ký khai sinh."
            ),
            params=params,
            field="personal_id",
        )
    if problem is IdProblem.CENTURY:
        raise DomainError(
            "students.personal_id_birth_year",
            _(
                "Số định danh cá nhân %(v)s không khớp năm sinh: chữ số thứ tư (%(d)s) dành cho người sinh trong "
                "các năm %(range)s, học sinh sinh năm %(y)s."
            ),
            params={**params, "range": identity.born_in_century(int(value[3]))},
            field="personal_id",
        )
    if problem is IdProblem.YEAR:
        raise DomainError(
            "students.personal_id_birth_year",
            _(
                "Số định danh cá nhân %(v)s không khớp năm sinh: chữ số thứ năm và thứ sáu (%(yy)s) phải là hai số "
                "cuối của năm sinh %(y)s."
            ),
            params=params,
            field="personal_id",
        )
    message = (
        _("Số định danh cá nhân %(v)s không khớp giới tính: chữ số thứ tư (%(d)s) dành cho nam, học sinh là nữ.")
        if sex == Gender.FEMALE
        else _("Số định danh cá nhân %(v)s không khớp giới tính: chữ số thứ tư (%(d)s) dành cho nữ, học sinh là nam.")
    )
    raise DomainError("students.personal_id_sex", message, params=params, field="personal_id")


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
        raise DomainError(
            "students.dob_range",
            _("Ngày sinh %(d)s không hợp lệ cho học sinh phổ thông."),
            params={"d": dob.strftime("%d/%m/%Y")},
            field="date_of_birth",
        )
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
    if out["personal_id"] is not None:
        check_personal_id(out["personal_id"], born=dob, sex=gender)
    if out["moet_code"] is not None:
        out["moet_code"] = identity.moet_code_normal(out["moet_code"])
        if not identity.moet_code_valid(out["moet_code"]):
            raise DomainError(
                "students.bad_moet_code",
                _("Mã học sinh của Bộ GD&ĐT chỉ gồm chữ cái không dấu, chữ số và dấu gạch ngang, từ 3 đến 20 ký tự."),
                field="moet_code",
            )
    guardians = data.get("guardians") or []
    if not isinstance(guardians, list) or not all(isinstance(g, dict) and g.get("name") for g in guardians):
        raise DomainError("students.bad_guardians", _("Mỗi người giám hộ cần có họ tên."), field="guardians")
    out["guardians"] = [
        {k: str(v) for k, v in g.items() if k in ("name", "relation", "phone", "occupation")} for g in guardians
    ]
    return out


def _unique_ids(profile: dict[str, Any], exclude: int | None = None) -> None:
    for field, message in (
        ("personal_id", _("Số định danh cá nhân %(v)s đã thuộc học sinh khác.")),
        ("moet_code", _("Mã học sinh %(v)s đã thuộc học sinh khác.")),
    ):
        value = profile.get(field)
        if value and Student.objects.filter(**{field: value}).exclude(pk=exclude).exists():
            raise DomainError(f"students.{field}_taken", message, params={"v": value}, field=field)


@school_write
def student_enrol(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    profile: dict[str, Any],
    starts_on: dt.date | None = None,
    entry: str = EntryKind.NEW,
    today: dt.date,
) -> Student:
    """Create a student with their profile, enrol them in a class and open their record for the year."""
    require(access.may_edit_profiles(school_class.pk))
    data = clean_profile(profile, today=today)
    _unique_ids(data)
    student = Student(**data)
    student.save()
    starts_on = starts_on or today
    Enrolment.objects.create(student=student, school_class=school_class, starts_on=starts_on, entry=entry)
    RecordBook.objects.create(student=student, year_id=school_class.year_id, school_class=school_class)
    deltas = {
        "students": onroll.roll_change(None, (starts_on, None), today),  # dated ahead: counted when the day comes
        "records_draft": 1,
    }
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, **deltas)
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True, **deltas)
    return student


@school_write
def student_update(*, access: SchoolAccess, student: Student, profile: dict[str, Any], today: dt.date) -> Student:
    current = (
        Enrolment.objects.filter(student=student, ends_on__isnull=True)
        .values_list("school_class_id", flat=True)
        .first()
    )
    require(access.may_edit_profiles(current))
    merged = {f: getattr(student, f) for f in PROFILE_FIELDS} | {
        k: v for k, v in profile.items() if k in PROFILE_FIELDS
    }
    data = clean_profile(merged, today=today)
    _unique_ids(data, exclude=student.pk)
    before = (student.gender, student.ethnicity)
    for key, value in data.items():
        setattr(student, key, value)
    student.save()
    distribution_profile_change(school_id=access.school_id, student=student, before=before)
    # Its identity may now be complete, or no longer: the classes it is on the roll of recompute their school's
    # profile figure.
    class_stale(
        school_id=access.school_id,
        class_ids=Enrolment.objects.filter(onroll.on_roll(today) | Q(starts_on__gt=today), student=student).values_list(
            "school_class_id", flat=True
        ),
    )
    return student


def parse_day(value: Any, *, field: str) -> dt.date:
    """A day as a person writes it (dd/mm/yyyy; yyyy-mm-dd from the API), or a refusal naming the field."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DomainError("students.bad_date", _("Ngày phải theo dạng dd/mm/yyyy."), field=field)


def _current_enrolment(student: Student) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_for_update()
        .filter(student=student, ends_on__isnull=True)
        .select_related("school_class__year")
        .first()
    )
    if enrolment is None:
        raise DomainError(
            "students.not_enrolled",
            _("Học sinh %(name)s hiện không theo học ở trường (đã chuyển đi hoặc thôi học)."),
            params={"name": student.full_name},
        )
    return enrolment


def _check_day_in_enrolment(enrolment: Enrolment, on: dt.date, *, field: str = "on") -> None:
    year = enrolment.school_class.year
    if not (year.starts_on <= on <= year.ends_on):
        raise DomainError(
            "students.date_outside_year",
            _("Ngày %(d)s nằm ngoài năm học %(y)s (%(a)s – %(b)s)."),
            params={
                "d": on.strftime("%d/%m/%Y"),
                "y": year.label,
                "a": year.starts_on.strftime("%d/%m/%Y"),
                "b": year.ends_on.strftime("%d/%m/%Y"),
            },
            field=field,
        )
    if on < enrolment.starts_on:
        raise DomainError(
            "students.date_before_entry",
            _("Ngày %(d)s trước ngày học sinh vào lớp %(c)s (%(s)s)."),
            params={
                "d": on.strftime("%d/%m/%Y"),
                "c": enrolment.school_class.name,
                "s": enrolment.starts_on.strftime("%d/%m/%Y"),
            },
            field=field,
        )


@school_write
def student_move_class(*, access: SchoolAccess, student: Student, to_class: SchoolClass, on: dt.date) -> Enrolment:
    """Move a student to another class of the same year from ``on``: the old enrolment ends, a new one starts
    and the student's record of the year follows them (it must not be approved yet)."""
    enrolment = _current_enrolment(student)
    require(access.may_edit_profiles(enrolment.school_class_id))
    if enrolment.school_class_id == to_class.pk:
        raise DomainError(
            "students.same_class", _("Học sinh đã ở lớp %(c)s."), params={"c": to_class.name}, field="school_class"
        )
    if to_class.year_id != enrolment.school_class.year_id:
        raise DomainError(
            "students.other_year",
            _("Chỉ chuyển sang lớp của cùng năm học %(y)s."),
            params={"y": enrolment.school_class.year.label},
            field="school_class",
        )
    _check_day_in_enrolment(enrolment, on)
    record = RecordBook.objects.select_for_update().filter(student=student, year_id=to_class.year_id).first()
    if record is not None and record.state not in recordstates.EDITABLE:
        raise DomainError(
            "students.record_final",
            _(
                "Học bạ năm học của học sinh đã được duyệt (hoặc đã ký, đã khóa): Hiệu trưởng cần mở lại "
                "học bạ trước khi chuyển lớp."
            ),
            field="school_class",
        )
    enrolment.ends_on, enrolment.exit = on, ExitKind.CLASS_MOVE
    enrolment.save(update_fields=["ends_on", "exit"])
    today = onroll.school_today()
    classes = {enrolment.school_class_id: enrolment.school_class, to_class.pk: to_class}
    deltas: dict[int, dict[str, int]] = {pk: {} for pk in classes}
    deltas[enrolment.school_class_id]["students"] = onroll.roll_change(
        (enrolment.starts_on, None), (enrolment.starts_on, on), today
    )
    deltas[to_class.pk]["students"] = onroll.roll_change(None, (on, None), today)
    if record is not None:
        if record.school_class_id not in classes:  # a record filed in a third class leaves that one
            classes[record.school_class_id] = SchoolClass.objects.select_related("year").get(pk=record.school_class_id)
            deltas[record.school_class_id] = {}
        state = f"records_{record.state}"
        deltas[record.school_class_id][state] = deltas[record.school_class_id].get(state, 0) - 1
        deltas[to_class.pk][state] = deltas[to_class.pk].get(state, 0) + 1
        record.school_class = to_class
        record.save(update_fields=["school_class"])
    else:
        RecordBook.objects.create(student=student, year_id=to_class.year_id, school_class=to_class)
        rollup_add(school_id=access.school_id, year_start=to_class.year.start_year, records_draft=1)
        deltas[to_class.pk]["records_draft"] = 1
    classes_changed(school_id=access.school_id, classes=[(classes[pk], d) for pk, d in deltas.items()], stale=True)
    return Enrolment.objects.create(student=student, school_class=to_class, starts_on=on, entry=EntryKind.CLASS_MOVE)


def clean_destination(value: Any) -> str:
    """Where a student goes (the destination school, and the decision or reason as the record book writes them):
    trimmed, optional, at most as long as the column."""
    text = " ".join(str(value or "").split())
    if len(text) > Enrolment._meta.get_field("exit_note").max_length:
        raise DomainError(
            "students.destination_too_long",
            _("Nơi chuyển đến (trường và số quyết định) dài quá 300 kí tự."),
            field="destination",
        )
    return text


@school_write
def student_transfer_out(
    *, access: SchoolAccess, student: Student, on: dt.date, destination: str = "", today: dt.date | None = None
) -> Enrolment:
    """The student leaves the school on ``on`` (chuyển trường): the enrolment ends, their record stays with the class;
    ``destination`` (the school they go to, and the decision) is kept on the enrolment. The school's ``students``
    figure drops now when ``on`` has come (``today``, the school's day unless given), else on that day."""
    enrolment = _current_enrolment(student)
    require(access.may_edit_profiles(enrolment.school_class_id))
    note = clean_destination(destination)
    _check_day_in_enrolment(enrolment, on)
    enrolment.ends_on, enrolment.exit, enrolment.exit_note = on, ExitKind.TRANSFER_OUT, note
    enrolment.save(update_fields=["ends_on", "exit", "exit_note"])
    left = onroll.roll_change((enrolment.starts_on, None), (enrolment.starts_on, on), today or onroll.school_today())
    rollup_add(school_id=access.school_id, year_start=enrolment.school_class.year.start_year, students=left)
    class_rollup_add(school_id=access.school_id, school_class=enrolment.school_class, stale=True, students=left)
    return enrolment


def _current_class_id(student: Student) -> int | None:
    return (
        Enrolment.objects.filter(student=student, ends_on__isnull=True)
        .values_list("school_class_id", flat=True)
        .first()
    )


@school_write
def guardian_link(*, access: SchoolAccess, student: Student, account_id: int, relation: str = "") -> GuardianLink:
    """Link a parent's account of the school to the student, with how its holder is related to them (Bố, Mẹ, …);
    linking again an account already linked changes the relation when one is given."""
    require(access.may_edit_profiles(_current_class_id(student)))
    relation = guardian_relation(relation)
    if account_id not in school_member_ids(access.school_id, ["parent"]):
        raise DomainError(
            "students.not_a_parent", _("Tài khoản này không có vai trò phụ huynh ở trường."), field="account"
        )
    link, created = GuardianLink.objects.get_or_create(
        student=student, account_id=account_id, defaults={"relation": relation}
    )
    if not created and relation and link.relation != relation:
        link.relation = relation
        link.save(update_fields=["relation"])
    return link


def guardian_relation(value: Any) -> str:
    """How a parent is related to the student, as typed (at most 40 characters); empty: not said."""
    relation = " ".join(str(value or "").split())
    if len(relation) > 40:
        raise DomainError(
            "students.relation_too_long",
            _("Quan hệ với học sinh dài quá 40 kí tự (ví dụ: Bố, Mẹ, Ông, Bà, Người giám hộ)."),
            field="relation",
        )
    return relation


@school_write
def guardian_unlink(*, access: SchoolAccess, student: Student, account_id: int) -> None:
    """The parent's account no longer sees this student (their account and role in the school stay)."""
    require(access.may_edit_profiles(_current_class_id(student)))
    deleted, _rows = GuardianLink.objects.filter(student=student, account_id=account_id).delete()
    if not deleted:
        raise DomainError(
            "students.not_linked",
            _("Tài khoản này không được liên kết với học sinh."),
            field="account",
            http_status=404,
        )


@school_write
def guardian_create_and_link(
    *,
    access: SchoolAccess,
    actor: Any,
    student: Student,
    username: str,
    full_name: str,
    email: str = "",
    password: str | None = None,
    relation: str = "",
) -> GuardianLink:
    """Create the parent's account with the role "parent" in this school (the platform's account service, with
    the requester as the granter — who must be allowed to grant it) and link it to the student; all or nothing."""
    require(access.may_edit_profiles(_current_class_id(student)))
    relation = guardian_relation(relation)  # before the account exists
    account_id = school_account_create(
        actor=actor,
        school_id=access.school_id,
        role="parent",
        username=username,
        full_name=full_name,
        email=email,
        password=password,
    )
    return guardian_link(access=access, student=student, account_id=account_id, relation=relation)


@dataclass
class CarryOver:
    """What carrying a class into the next year did: who went where, and who stayed (with why)."""

    carried: list[Enrolment] = dc_field(default_factory=list)
    repeating: list[int] = dc_field(default_factory=list)
    not_carried: list[tuple[int, str]] = dc_field(default_factory=list)  # (student id, "repeat" | "pending")


def _labels(*members) -> frozenset[str]:
    return frozenset(x for m in members for x in (m.code, m.label_vi, m.label_en))


def _year_outcome(results: dict[str, Any], record: RecordBook | None) -> str:
    """ "promote", "repeat" or "pending" (a re-test or summer training whose result is not recorded yet)."""
    promotion, evaluation = results.get("promotion") or "", results.get("evaluation") or ""
    if evaluation in _labels(tt27.YearEvaluation.CHUA_HOAN_THANH) and "followup_items" in results:
        # TT27: the summer follow-up, then the principal's decision, settle it (results before it: repeat).
        final = results.get("promotion_final_code") or ""
        return {"len_lop": "promote", "o_lai_lop": "repeat"}.get(final, "pending")
    if promotion in _labels(tt22.PromotionOutcome.HELD_BACK) or evaluation in _labels(
        tt27.YearEvaluation.CHUA_HOAN_THANH
    ):
        return "repeat"
    passed: list[bool | None] = []
    if promotion in _labels(tt22.PromotionOutcome.RETEST, tt22.PromotionOutcome.CONDUCT_TRAINING):
        if promotion in _labels(tt22.PromotionOutcome.CONDUCT_TRAINING):
            passed.append(record.summer_training_passed if record else None)
        if promotion in _labels(tt22.PromotionOutcome.RETEST) or results.get("retest_subjects"):
            passed.append(record.retest_passed if record else None)
    if False in passed:
        return "repeat"
    if None in passed:
        return "pending"
    return "promote"


def _check_next_year_class(source: SchoolClass, target: SchoolClass, *, grade: int, field: str) -> None:
    year = source.year
    if target.year.start_year != year.start_year + 1:
        raise DomainError(
            "students.carry_wrong_year",
            _("Lớp %(c)s không thuộc năm học tiếp theo (%(y)s)."),
            params={"c": target.name, "y": f"{year.start_year + 1}–{year.start_year + 2}"},
            field=field,
        )
    if target.grade < grade:
        raise DomainError(
            "students.carry_lower_grade",
            _("Lớp %(c)s thuộc khối %(g)s, thấp hơn khối %(n)s mà học sinh phải vào."),
            params={"c": target.name, "g": target.grade, "n": grade},
            field=field,
        )
    if target.grade != grade:
        raise DomainError(
            "students.carry_wrong_grade",
            _("Lớp %(c)s thuộc khối %(g)s; học sinh phải vào một lớp khối %(n)s."),
            params={"c": target.name, "g": target.grade, "n": grade},
            field=field,
        )


def carry_over_check(school_class: SchoolClass, to_class: SchoolClass, repeat_class: SchoolClass | None) -> None:
    """The target classes of a carry-over: the next year, one grade up (the same grade for those kept back)."""
    _check_next_year_class(school_class, to_class, grade=school_class.grade + 1, field="to_class")
    if repeat_class is not None:
        _check_next_year_class(school_class, repeat_class, grade=school_class.grade, field="repeat_class")


@school_write
def class_carry_over(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    to_class: SchoolClass,
    repeat_class: SchoolClass | None = None,
    today: dt.date | None = None,
) -> CarryOver:
    """Year end: every student still in ``school_class`` moves to ``to_class`` of the next year (one grade up) —
    the same Student, a new enrolment (promoted) and a new record of the next year; the old enrolment ends on the
    last day of the year. Students held back go to ``repeat_class`` (same grade, next year) when one is given;
    otherwise, like those whose re-test or summer training is not recorded yet, they stay where they are and are
    reported. All or nothing. The ``students`` figures follow the days: the old year's drops when its last day has
    come, the next year's grows when its first day has (``today``, the school's day unless given)."""
    require(access.can("school.setup"))
    year = school_class.year
    carry_over_check(school_class, to_class, repeat_class)
    enrolments = list(
        Enrolment.objects.select_for_update()
        .filter(school_class=school_class, ends_on__isnull=True)
        .select_related("student")
        .order_by("student__sort_key", "student_id")
    )
    if not enrolments:
        raise DomainError(
            "students.carry_empty",
            _("Lớp %(c)s không còn học sinh nào đang học để chuyển lên năm sau."),
            params={"c": school_class.name},
            field="school_class",
        )
    ids = [e.student_id for e in enrolments]
    next_year_id = to_class.year_id
    taken = dict(
        RecordBook.objects.filter(student_id__in=ids, year_id=next_year_id).values_list(
            "student_id", "school_class__name"
        )
    )
    if taken:
        first = next(e for e in enrolments if e.student_id in taken)
        raise DomainError(
            "students.carry_already",
            _("Học sinh %(name)s đã có học bạ năm học sau (lớp %(c)s): lớp này đã được chuyển lên rồi?"),
            params={"name": first.student.full_name, "c": taken[first.student_id]},
            field="to_class",
        )
    records = {r.student_id: r for r in RecordBook.objects.filter(student_id__in=ids, year_id=year.pk)}
    live_ids = [
        i for i in ids if not (i in records and records[i].state not in recordstates.EDITABLE and records[i].results)
    ]
    live = class_results(school_class, live_ids) if live_ids else {}
    out = CarryOver()
    new_enrolments, new_records = [], []
    day = today or onroll.school_today()
    left = 0
    for e in enrolments:
        record = records.get(e.student_id)
        results = live[e.student_id].as_dict() if e.student_id in live else record.results
        outcome = _year_outcome(results, record)
        target = to_class
        if outcome == "repeat" and repeat_class is not None:
            target = repeat_class
            out.repeating.append(e.student_id)
        elif outcome != "promote":
            out.not_carried.append((e.student_id, outcome))
            continue
        e.ends_on, e.exit = max(year.ends_on, e.starts_on), ExitKind.YEAR_END
        left += onroll.roll_change((e.starts_on, None), (e.starts_on, e.ends_on), day)
        new_enrolments.append(
            Enrolment(
                student_id=e.student_id, school_class=target, starts_on=target.year.starts_on, entry=EntryKind.PROMOTED
            )
        )
        new_records.append(RecordBook(student_id=e.student_id, year_id=next_year_id, school_class=target))
    ended = [e for e in enrolments if e.ends_on is not None]
    Enrolment.objects.bulk_update(ended, ["ends_on", "exit"])
    out.carried = Enrolment.objects.bulk_create(new_enrolments)
    RecordBook.objects.bulk_create(new_records)
    if new_records:
        rollup_add(school_id=access.school_id, year_start=year.start_year, students=left)
        arriving: dict[int, dict[str, int]] = {}
        for e, r in zip(new_enrolments, new_records, strict=True):
            figures = arriving.setdefault(r.school_class.pk, {"students": 0, "records_draft": 0})
            figures["students"] += onroll.roll_change(None, (e.starts_on, None), day)
            figures["records_draft"] += 1
        rollup_add(
            school_id=access.school_id,
            year_start=to_class.year.start_year,
            students=sum(f["students"] for f in arriving.values()),
            records_draft=len(new_records),
        )
        targets = {c.pk: c for c in (to_class, repeat_class) if c is not None}
        classes_changed(
            school_id=access.school_id,
            classes=[(school_class, {"students": left}), *((targets[pk], f) for pk, f in arriving.items())],
            stale=True,
        )
    return out


def student_get(pk: int) -> Student:
    student = Student.objects.filter(pk=pk).first()
    if student is None:
        raise not_found(_("Không tìm thấy học sinh."))
    return student
