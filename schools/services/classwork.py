"""The homeroom teacher's entries for the class: conduct, attendance, awards, comments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from ..access import SchoolAccess
from ..models import Absence, AwardDiscipline, Conduct, Enrolment, RecordBook, RecordState, SchoolClass
from ..rollups import rollup_add
from .common import require, school_write

CONDUCT_LEVELS = {
    "T": "T",
    "TỐT": "T",
    "K": "K",
    "KHÁ": "K",
    "Đ": "D",
    "D": "D",
    "ĐẠT": "D",
    "CĐ": "CD",
    "CD": "CD",
    "CHƯA ĐẠT": "CD",
}


def _editable_students(school_class: SchoolClass) -> dict[int, str]:
    """Students of the class whose record may still change: {id: state}."""
    enrolled = set(Enrolment.objects.filter(school_class=school_class).values_list("student_id", flat=True))
    states = dict(RecordBook.objects.filter(school_class=school_class).values_list("student_id", "state"))
    return {sid: states.get(sid, RecordState.DRAFT) for sid in enrolled}


def _check_student(
    students: dict[int, str], student_id: Any, school_class: SchoolClass, errors: list, index: int
) -> bool:
    if not isinstance(student_id, int) or student_id not in students:
        errors.append(
            {
                "index": index,
                "student": student_id,
                "code": "class.student_not_in_class",
                "detail": f"Học sinh {student_id} không thuộc lớp {school_class.name}.",
                "detail_en": f"Student {student_id} is not in class {school_class.name}.",
            }
        )
        return False
    if students[student_id] not in recordstates.EDITABLE:
        errors.append(
            {
                "index": index,
                "student": student_id,
                "code": "class.record_approved",
                "detail": "Học bạ đã được duyệt; cần Hiệu trưởng mở lại.",
                "detail_en": "The record is approved; the principal must reopen it.",
            }
        )
        return False
    return True


class ClassInputInvalid(DomainError):
    def __init__(self, errors: list[dict]):
        super().__init__("class.invalid", _("Có %(n)s dòng không hợp lệ; chưa lưu gì."), params={"n": len(errors)})
        self.errors = errors

    def as_dict(self):
        return {**super().as_dict(), "errors": self.errors}


@school_write
def conduct_save(*, access: SchoolAccess, school_class: SchoolClass, term: int, entries: list[dict[str, Any]]) -> int:
    require(access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới đánh giá rèn luyện."))
    if term not in (1, 2):
        raise DomainError("sheet.bad_term", _("Học kì phải là I hoặc II."), field="term")
    students = _editable_students(school_class)
    errors: list[dict] = []
    rows, clears = [], []
    for i, e in enumerate(entries):
        if not _check_student(students, e.get("student"), school_class, errors, i):
            continue
        if not str(e.get("level") or "").strip():
            clears.append(e["student"])
            continue
        level = CONDUCT_LEVELS.get(str(e.get("level", "")).strip().upper())
        if level is None:
            errors.append(
                {
                    "index": i,
                    "student": e.get("student"),
                    "code": "class.bad_conduct",
                    "detail": f"Mức rèn luyện “{e.get('level')}” không hợp lệ (T, K, Đ, CĐ).",
                    "detail_en": f"Conduct level “{e.get('level')}” is not valid (T, K, Đ, CĐ).",
                }
            )
            continue
        rows.append((e["student"], level, str(e.get("text") or "")[:2000]))
    if errors:
        raise ClassInputInvalid(errors)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO schools_conduct (student_id, year_id, term, level, text)
            SELECT u.s, %s, %s, u.l, u.t FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS u(s, l, t)
            ON CONFLICT (student_id, year_id, term) DO UPDATE SET level = EXCLUDED.level, text = EXCLUDED.text
             WHERE (schools_conduct.level, schools_conduct.text) IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.text)
            RETURNING (xmax = 0)
            """,
            [school_class.year_id, term, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
        inserted = sum(1 for (new,) in cursor.fetchall() if new)
    cleared = (
        Conduct.objects.filter(student_id__in=clears, year_id=school_class.year_id, term=term).delete()[0]
        if clears
        else 0
    )
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, conduct_entries=inserted - cleared)
    return len(rows) + len(clears)


@school_write
def absences_record(
    *, access: SchoolAccess, school_class: SchoolClass, date: dt.date, entries: list[dict[str, Any]]
) -> int:
    """The day's absences of the class: each entry {student, excused, reason}; the day is replaced whole."""
    require(access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới điểm danh."))
    year = school_class.year
    if not year.starts_on <= date <= year.ends_on:
        raise DomainError(
            "class.date_outside_year",
            _("Ngày %(d)s nằm ngoài năm học %(y)s."),
            params={"d": date.strftime("%d/%m/%Y"), "y": year.label},
            field="date",
        )
    students = _editable_students(school_class)
    errors: list[dict] = []
    rows = []
    for i, e in enumerate(entries):
        if _check_student(students, e.get("student"), school_class, errors, i):
            rows.append((e["student"], bool(e.get("excused")), str(e.get("reason") or "")[:200]))
    if errors:
        raise ClassInputInvalid(errors)
    # Only the students whose record may still change: an approved record keeps its absences.
    ids = [sid for sid, state in students.items() if state in recordstates.EDITABLE]
    deleted = Absence.objects.filter(student_id__in=ids, date=date).delete()[0]
    Absence.objects.bulk_create([Absence(student_id=s, year=year, date=date, excused=x, reason=r) for s, x, r in rows])
    rollup_add(school_id=access.school_id, year_start=year.start_year, absences=len(rows) - deleted)
    return len(rows)


AWARD_KINDS = ("award", "discipline")


@school_write
def award_add(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    student_id: int,
    kind: str,
    title: str,
    decided_on: dt.date,
    decided_by: str = "",
) -> AwardDiscipline:
    """An award or a discipline of a student of the class for the class's year (homeroom teacher or BGH)."""
    require(
        access.may_manage_class(school_class.pk),
        _("Chỉ giáo viên chủ nhiệm của lớp hoặc Ban giám hiệu mới ghi khen thưởng, kỉ luật."),
    )
    errors: list = []
    if not _check_student(_editable_students(school_class), student_id, school_class, errors, 0):
        raise ClassInputInvalid(errors)
    title = (title or "").strip()
    if kind not in AWARD_KINDS or not title:
        raise DomainError("class.bad_award", _("Cần loại (khen thưởng/kỉ luật) và nội dung."))
    if len(title) > 200:
        raise DomainError("class.award_too_long", _("Nội dung khen thưởng, kỉ luật dài quá 200 kí tự."), field="title")
    if not isinstance(decided_on, dt.date):
        raise DomainError("class.bad_date", _("Ngày quyết định phải theo dạng dd/mm/yyyy."), field="decided_on")
    return AwardDiscipline.objects.create(
        student_id=student_id,
        year=school_class.year,
        kind=kind,
        title=title,
        decided_on=decided_on,
        decided_by=(decided_by or "").strip()[:120],
    )


@school_write
def award_remove(*, access: SchoolAccess, school_class: SchoolClass, award_id: int) -> AwardDiscipline:
    """Remove an award or a discipline of a student of the class, while the student's record is editable."""
    require(
        access.may_manage_class(school_class.pk),
        _("Chỉ giáo viên chủ nhiệm của lớp hoặc Ban giám hiệu mới ghi khen thưởng, kỉ luật."),
    )
    students = _editable_students(school_class)
    award = AwardDiscipline.objects.filter(
        pk=award_id, year_id=school_class.year_id, student_id__in=list(students)
    ).first()
    if award is None:
        raise DomainError("school.not_found", _("Không tìm thấy khen thưởng, kỉ luật này trong lớp."), http_status=404)
    errors: list = []
    if not _check_student(students, award.student_id, school_class, errors, 0):
        raise ClassInputInvalid(errors)
    award.delete()
    return award


@school_write
def homeroom_comment_save(*, access: SchoolAccess, school_class: SchoolClass, student_id: int, text: str) -> None:
    require(access.may_manage_class(school_class.pk))
    errors: list = []
    if not _check_student(_editable_students(school_class), student_id, school_class, errors, 0):
        raise ClassInputInvalid(errors)
    RecordBook.objects.filter(student_id=student_id, year=school_class.year).update(
        homeroom_comment=text.strip()[:4000]
    )


@school_write
def homeroom_comments_save(*, access: SchoolAccess, school_class: SchoolClass, entries: list[dict[str, Any]]) -> int:
    """The homeroom teacher's year-end comments of several students at once: entries ``{student, text}``,
    all or nothing; a record no longer editable refuses its row."""
    require(access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới ghi nhận xét cuối năm."))
    students = _editable_students(school_class)
    errors: list[dict] = []
    texts: dict[int, str] = {}
    for i, e in enumerate(entries):
        if _check_student(students, e.get("student"), school_class, errors, i):
            texts[e["student"]] = str(e.get("text") or "").strip()[:4000]
    if errors:
        raise ClassInputInvalid(errors)
    records = list(RecordBook.objects.filter(school_class=school_class, student_id__in=list(texts)))
    changed = [r for r in records if r.homeroom_comment != texts[r.student_id]]
    for r in changed:
        r.homeroom_comment = texts[r.student_id]
    if changed:
        RecordBook.objects.bulk_update(changed, ["homeroom_comment"])
    return len(changed)
