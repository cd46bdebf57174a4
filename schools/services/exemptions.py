"""Exemptions: record and revoke the principal's decision that a student of a class is not assessed in a subject
(miễn học), or only on its theory (miễn học phần thực hành, TT22 art. 10), for a term or the whole year.

A write of the school like the others: the record must still be editable (an approved record is reopened first), the
year's windows decide in the database (a term's scores: the guard of ``schools_exemption``), the audit chain keeps
every decision recorded or revoked. ``exemptions_by_student`` is the one read the results and sheets use.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, TextPair

from ..access import SchoolAccess
from ..models import Exemption, ExemptionPart, SchoolClass, Subject
from ..rollups import class_rollup_add
from ..rules import rules_for
from ..rules.common import Exemption as RuleExemption
from ..rules.common import RuleInputError
from .classwork import ClassInputInvalid, _check_student, _editable_students
from .common import require, school_write

NOT_ALLOWED = _("Chỉ Hiệu trưởng, Phó hiệu trưởng hoặc nhân viên văn phòng mới ghi nhận, thu hồi quyết định miễn học.")
TERMS = {"": None, "0": None, "1": 1, "2": 2}


def may_record(access: SchoolAccess) -> bool:
    return access.can("exemptions.record")


def exemptions_by_student(year_id: int, student_ids: Iterable[int]) -> dict[int, tuple[RuleExemption, ...]]:
    """The decisions of these students for the year, as the rules take them (subject codes): one query."""
    out: dict[int, list[RuleExemption]] = defaultdict(list)
    for student_id, code, part, term in Exemption.objects.filter(
        year_id=year_id, student_id__in=list(student_ids)
    ).values_list("student_id", "subject__code", "part", "term"):
        out[student_id].append(RuleExemption(code, part, term))
    return {sid: tuple(items) for sid, items in out.items()}


def parse_term(value: Any) -> int | None:
    """A term as a form or a request gives it: 1, 2, or empty / 0 / null for the whole year."""
    key = "" if value is None else str(value).strip()
    if key not in TERMS:
        raise DomainError(
            "exemption.bad_term", _("Thời gian miễn phải là học kì I, học kì II hoặc cả năm học."), field="term"
        )
    return TERMS[key]


def _subject(school_class: SchoolClass, subject_id: Any) -> Subject:
    subject = (
        Subject.objects.filter(pk=subject_id, level=school_class.level).first() if isinstance(subject_id, int) else None
    )
    if subject is None or school_class.grade not in subject.grades:
        raise DomainError(
            "exemption.subject_not_taught",
            _("Môn học này không học ở lớp %(class)s."),
            params={"class": school_class.name},
            field="subject",
        )
    return subject


@school_write
def exemption_record(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    student_id: Any,
    subject_id: Any,
    term: int | None,
    part: str,
    reason: str,
    decision_number: str,
    decided_on: dt.date | None,
    today: dt.date,
) -> Exemption:
    """Record one decision for a student of the class in the class's year. Refused, with nothing written: a student
    not in the class or whose record is approved, a subject not taught in the class, a practical-part exemption for
    a subject without one (TT22 art. 10: Giáo dục thể chất, Giáo dục quốc phòng và an ninh; none in primary), a
    missing reason, decision number or date, a date after today, a decision overlapping one already recorded."""
    require(may_record(access), NOT_ALLOWED)
    errors: list = []
    if not _check_student(_editable_students(school_class), student_id, school_class, errors, 0):
        raise ClassInputInvalid(errors)
    subject = _subject(school_class, subject_id)
    if term not in (None, 1, 2):
        raise DomainError(
            "exemption.bad_term", _("Thời gian miễn phải là học kì I, học kì II hoặc cả năm học."), field="term"
        )
    if part not in ExemptionPart.values:
        raise DomainError("exemption.bad_part", _("Phạm vi miễn phải là cả môn hoặc phần thực hành."), field="part")
    try:
        rules_for(school_class.level, school_class.year.start_year).check_exemption(
            RuleExemption(subject.code, part, term)
        )
    except RuleInputError as exc:
        raise DomainError(f"exemption.{exc.code}", TextPair(exc.message_vi, exc.message_en), field="part") from None
    reason, number = (reason or "").strip(), (decision_number or "").strip()
    if not reason or len(reason) > 300:
        raise DomainError("exemption.bad_reason", _("Cần ghi lý do miễn học (tối đa 300 kí tự)."), field="reason")
    if not number or len(number) > 60:
        raise DomainError(
            "exemption.bad_number",
            _("Cần ghi số quyết định của Hiệu trưởng (tối đa 60 kí tự)."),
            field="decision_number",
        )
    if not isinstance(decided_on, dt.date):
        raise DomainError("exemption.bad_date", _("Ngày quyết định phải theo dạng dd/mm/yyyy."), field="decided_on")
    if decided_on > today:
        raise DomainError(
            "exemption.future_date", _("Ngày quyết định không được sau ngày hôm nay."), field="decided_on"
        )
    overlapping = Exemption.objects.filter(student_id=student_id, subject=subject, year_id=school_class.year_id)
    if term is not None:
        overlapping = overlapping.filter(term__in=[term]) | overlapping.filter(term__isnull=True)
    if overlapping.exists():
        raise DomainError(
            "exemption.overlap",
            _("Học sinh đã có quyết định miễn môn %(subject)s trong thời gian này; thu hồi quyết định cũ trước."),
            params={"subject": subject.name},
            field="term",
        )
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # fewer cells required
    return Exemption.objects.create(
        student_id=student_id,
        subject=subject,
        year_id=school_class.year_id,
        term=term,
        part=part,
        reason=reason,
        decision_number=number,
        decided_on=decided_on,
        recorded_by=access.account_id,
    )


@school_write
def exemption_revoke(*, access: SchoolAccess, school_class: SchoolClass, exemption_id: int) -> Exemption:
    """Revoke (delete) a decision for a student of the class, while the student's record is editable; the audit
    chain keeps what it said."""
    require(may_record(access), NOT_ALLOWED)
    students = _editable_students(school_class)
    exemption = Exemption.objects.filter(
        pk=exemption_id, year_id=school_class.year_id, student_id__in=list(students)
    ).first()
    if exemption is None:
        raise DomainError("school.not_found", _("Không tìm thấy quyết định miễn học này trong lớp."), http_status=404)
    errors: list = []
    if not _check_student(students, exemption.student_id, school_class, errors, 0):
        raise ClassInputInvalid(errors)
    exemption.delete()
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # more cells required
    return exemption
