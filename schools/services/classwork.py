"""The homeroom teacher's entries for the class: conduct, attendance, awards, comments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError, both_languages

from .. import schooldays
from ..access import SchoolAccess
from ..models import Absence, AwardDiscipline, Conduct, Enrolment, RecordBook, RecordState, SchoolClass, SchoolYear
from ..rollups import class_rollup_add, rollup_add
from .common import require, school_write

CONDUCT_TEXT_MAX = 2000  # characters of a conduct comment
HOMEROOM_COMMENT_MAX = 4000  # characters of the homeroom teacher's year-end comment
ABSENCE_MARKS = {"P": True, "K": False}  # a day absent: P = excused (có phép), K = not (không phép)
MAX_ABSENCE_MARKS = 3000  # marks in one request: a month's grid of a large class (60 students × 31 days) fits

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


def _too_long(index: int, student: Any, name: str, n: int, limit: int) -> dict[str, Any]:
    texts = both_languages(
        _("Nhận xét dài %(n)s ký tự, quá giới hạn %(max)s ký tự; chưa lưu gì."), {"n": n, "max": limit}
    )
    return {
        "index": index,
        "student": student,
        "field": name,
        "code": "class.text_too_long",
        "detail": texts["vi"],
        "detail_en": texts["en"],
    }


def _day_problem(year: SchoolYear, date: dt.date) -> tuple[str, Any, dict[str, Any]] | None:
    """Why attendance cannot be taken on ``date`` in the school year (code, message, params), or None."""
    if not year.starts_on <= date <= year.ends_on:
        return (
            "class.date_outside_year",
            _("Ngày %(d)s nằm ngoài năm học %(y)s."),
            {"d": date.strftime("%d/%m/%Y"), "y": year.label},
        )
    if schooldays.is_day_off(date):
        return (
            "class.date_not_school_day",
            _("Ngày %(d)s là Chủ nhật, không phải ngày học: không điểm danh ngày này."),
            {"d": date.strftime("%d/%m/%Y")},
        )
    return None


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
        text = str(e.get("text") or "")
        if len(text) > CONDUCT_TEXT_MAX:
            errors.append(_too_long(i, e.get("student"), "text", len(text), CONDUCT_TEXT_MAX))
            continue
        rows.append((e["student"], level, text))
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
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # conduct done per term
    return len(rows) + len(clears)


@school_write
def absences_record(
    *, access: SchoolAccess, school_class: SchoolClass, date: dt.date, entries: list[dict[str, Any]]
) -> int:
    """The day's absences of the class: each entry {student, excused, reason}; the day is replaced whole."""
    require(access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới điểm danh."))
    year = school_class.year
    problem = _day_problem(year, date)
    if problem is not None:
        code, message, params = problem
        raise DomainError(code, message, params=params, field="date")
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


def absence_marks_count_check(marks: object) -> None:
    """Refuse an empty list of marks, or one longer than ``MAX_ABSENCE_MARKS`` (checked before each mark is read)."""
    if isinstance(marks, list | tuple) and not marks:
        raise DomainError("class.no_marks", _("Chưa có ngày điểm danh nào để lưu."), field="marks")
    if isinstance(marks, list | tuple) and len(marks) > MAX_ABSENCE_MARKS:
        raise DomainError(
            "class.too_many_marks",
            _("Chỉ lưu được tối đa %(n)s ô điểm danh một lần."),
            params={"n": MAX_ABSENCE_MARKS},
            field="marks",
        )


@school_write
def absences_mark(*, access: SchoolAccess, school_class: SchoolClass, marks: list[dict[str, Any]]) -> int:
    """Several days' absences of the class at once (the month's grid): each mark ``{student, date, mark}`` with
    ``mark`` "P" (absent, excused), "K" (absent, not excused) or "" (present). All or nothing: a student not in the
    class or whose record is approved, a Sunday or a day outside the school year refuses its mark and nothing is
    written. A day already marked keeps its reason; two statements whatever the number of marks."""
    require(access.may_manage_class(school_class.pk), _("Chỉ giáo viên chủ nhiệm của lớp mới điểm danh."))
    absence_marks_count_check(marks)
    year = school_class.year
    students = _editable_students(school_class)
    errors: list[dict] = []
    absent: dict[tuple[int, dt.date], bool] = {}
    present: set[tuple[int, dt.date]] = set()
    for i, e in enumerate(marks):
        if not _check_student(students, e.get("student"), school_class, errors, i):
            continue
        date, mark = e.get("date"), str(e.get("mark") or "").strip().upper()
        problem = (
            ("class.bad_date", _("Ngày phải theo dạng dd/mm/yyyy."), {})
            if not isinstance(date, dt.date)
            else _day_problem(year, date)
        )
        if problem is None and mark and mark not in ABSENCE_MARKS:
            problem = (
                "class.bad_absence_mark",
                _("Chỉ nhận P (vắng có phép), K (vắng không phép) hoặc để trống, không nhận “%(value)s”."),
                {"value": mark},
            )
        if problem is not None:
            code, message, params = problem
            texts = both_languages(message, params)
            where = date.strftime("%d/%m/%Y") if isinstance(date, dt.date) else str(date)
            errors.append(
                {
                    "index": i,
                    "student": e["student"],
                    "field": where,
                    "code": code,
                    "detail": texts["vi"],
                    "detail_en": texts["en"],
                }
            )
            continue
        key = (e["student"], date)
        absent.pop(key, None)
        present.discard(key)
        if mark:
            absent[key] = ABSENCE_MARKS[mark]
        else:
            present.add(key)
    if errors:
        raise ClassInputInvalid(errors)
    inserted = deleted = 0
    with connection.cursor() as cursor:
        if absent:
            cursor.execute(
                f"""
                INSERT INTO {Absence._meta.db_table} (student_id, year_id, date, excused, reason)
                SELECT u.s, %s, u.d, u.x, '' FROM unnest(%s::bigint[], %s::date[], %s::boolean[]) AS u(s, d, x)
                ON CONFLICT (student_id, date) DO UPDATE SET excused = EXCLUDED.excused
                 WHERE {Absence._meta.db_table}.excused IS DISTINCT FROM EXCLUDED.excused
                RETURNING (xmax = 0)
                """,
                [year.pk, [k[0] for k in absent], [k[1] for k in absent], list(absent.values())],
            )
            inserted = sum(1 for (new,) in cursor.fetchall() if new)
        if present:
            cursor.execute(
                f"""
                DELETE FROM {Absence._meta.db_table} a USING unnest(%s::bigint[], %s::date[]) AS u(s, d)
                 WHERE a.student_id = u.s AND a.date = u.d
                """,
                [[k[0] for k in present], [k[1] for k in present]],
            )
            deleted = cursor.rowcount
    if inserted != deleted:
        rollup_add(school_id=access.school_id, year_start=year.start_year, absences=inserted - deleted)
    return len(absent) + len(present)


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
    text = text.strip()
    if len(text) > HOMEROOM_COMMENT_MAX:
        raise ClassInputInvalid([_too_long(0, student_id, "text", len(text), HOMEROOM_COMMENT_MAX)])
    RecordBook.objects.filter(student_id=student_id, year=school_class.year).update(homeroom_comment=text)


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
            text = str(e.get("text") or "").strip()
            if len(text) > HOMEROOM_COMMENT_MAX:
                errors.append(_too_long(i, e["student"], "text", len(text), HOMEROOM_COMMENT_MAX))
                continue
            texts[e["student"]] = text
    if errors:
        raise ClassInputInvalid(errors)
    records = list(RecordBook.objects.filter(school_class=school_class, student_id__in=list(texts)))
    changed = [r for r in records if r.homeroom_comment != texts[r.student_id]]
    for r in changed:
        r.homeroom_comment = texts[r.student_id]
    if changed:
        RecordBook.objects.bulk_update(changed, ["homeroom_comment"])
    return len(changed)
