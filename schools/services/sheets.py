"""Grade sheets: one class × one subject × one term, read and saved whole.

A save is all or nothing: every cell is validated first, each problem names its cell in Vietnamese and
English, and only then two statements write the sheet (a batched upsert that touches only the cells
whose value really changed, and a delete for the cells cleared) — a constant number of queries
whatever the number of students (DESIGN §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from tenants.rollups import rollup_add

from ..access import SchoolAccess
from ..models import Assessment, Enrolment, RecordBook, RecordState, SchoolClass, Subject
from ..rules import tt22, tt27
from ..rules.common import PassFail, RuleInputError, validate_score
from .common import require, school_write, take_chain_lock
from .results import fmt_score, subject_term_results

EDITABLE_STATES = (RecordState.DRAFT, RecordState.SUBMITTED)


@dataclass(frozen=True)
class Column:
    key: str
    kind: str
    seq: int
    value_type: str  # score | passfail | level | test | text
    label: str
    label_en: str


def sheet_columns(subject: Subject, school_class: SchoolClass, term: int) -> list[Column]:
    if subject.grading in ("score", "comment"):
        value_type = "score" if subject.grading == "score" else "passfail"
        n = tt22.regular_assessment_count(subject.periods_per_year)
        cols = [Column(f"tx{i}", "tx", i, value_type, f"ĐĐGtx {i}", f"Regular {i}") for i in range(1, n + 1)]
        cols += [Column("gk", "gk", 0, value_type, "ĐĐGgk", "Mid-term"), Column("ck", "ck", 0, value_type, "ĐĐGck", "End of term")]
    else:
        mid, end = ((tt27.AssessmentPoint.MID_TERM_I, tt27.AssessmentPoint.END_OF_TERM_I) if term == 1
                    else (tt27.AssessmentPoint.MID_TERM_II, tt27.AssessmentPoint.END_OF_YEAR))
        cols = [Column("mgk", "mgk", 0, "level", "Mức giữa kì", "Mid-term level"),
                Column("mck", "mck", 0, "level", "Mức cuối kì", "End-of-term level")]
        if subject.has_periodic_test and 1 <= school_class.grade <= 5:
            if tt27.has_periodic_test(school_class.grade, subject.code, mid):
                cols.append(Column("kgk", "kgk", 0, "test", "KTĐK giữa kì", "Mid-term test"))
            if tt27.has_periodic_test(school_class.grade, subject.code, end):
                cols.append(Column("kck", "kck", 0, "test", "KTĐK cuối kì", "End-of-term test"))
    cols.append(Column("nx", "nx", 0, "text", "Nhận xét", "Comment"))
    return cols


@dataclass(frozen=True)
class SheetStudent:
    id: int
    full_name: str
    left: bool
    record_state: str


@dataclass
class Sheet:
    school_class: SchoolClass
    subject: Subject
    term: int
    columns: list[Column]
    students: list[SheetStudent]
    values: dict[tuple[int, str], str] = field(default_factory=dict)  # (student, column) → display value
    computed: dict[int, dict[str, str]] = field(default_factory=dict)  # student → {"term_average", "year_average"…}


class SheetInvalid(DomainError):
    """Some cells are wrong; nothing of the sheet was saved."""

    def __init__(self, errors: list[dict[str, Any]]):
        first = errors[0]
        super().__init__("sheet.invalid", _("Bảng điểm có %(n)s ô không hợp lệ; chưa lưu gì."), params={"n": len(errors)})
        self.errors = errors
        self.first = first

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["errors"] = self.errors
        return data


VERDICTS_PF = {"Đ": "D", "D": "D", "ĐẠT": "D", "DAT": "D", "CĐ": "CD", "CD": "CD", "CHƯA ĐẠT": "CD", "CHUA DAT": "CD"}
LEVELS_THC = {"T": "T", "H": "H", "C": "C"}


def _display(a: Assessment | dict, value_type: str) -> str:
    score, verdict, text = (a["score"], a["verdict"], a["text"]) if isinstance(a, dict) else (a.score, a.verdict, a.text)
    if value_type == "score":
        return "" if score is None else f"{score:.1f}".replace(".", ",")
    if value_type == "test":
        return "" if score is None else str(int(score))
    if value_type == "text":
        return text
    return {"D": "Đ", "CD": "CĐ"}.get(verdict, verdict)


def _parse(raw: Any, column: Column) -> tuple[Decimal | None, str, str]:
    """(score, verdict, text) for a non-empty raw value, or RuleInputError."""
    text = str(raw).strip()
    if column.value_type == "score":
        return validate_score(text.replace(",", "."), field=column.label), "", ""
    if column.value_type == "test":
        return Decimal(tt27.validate_test_score(text.replace(",", "."), field=column.label)), "", ""
    if column.value_type == "passfail":
        verdict = VERDICTS_PF.get(text.upper())
        if verdict is None:
            raise RuleInputError("comment_only",
                                 f"Môn đánh giá bằng nhận xét: chỉ nhận Đ hoặc CĐ, không nhận “{text}”.",
                                 f"A comment-graded subject takes Đ or CĐ only, not “{text}”.")
        return None, verdict, ""
    if column.value_type == "level":
        verdict = LEVELS_THC.get(text.upper())
        if verdict is None:
            raise RuleInputError("level_only", f"Chỉ nhận mức T, H hoặc C, không nhận “{text}”.",
                                 f"Only levels T, H or C are accepted, not “{text}”.")
        return None, verdict, ""
    if len(text) > 2000:
        raise RuleInputError("comment_too_long", "Nhận xét dài quá 2000 ký tự.", "The comment is longer than 2,000 characters.")
    return None, "", text


def _students(school_class: SchoolClass) -> list[SheetStudent]:
    rows = (
        Enrolment.objects.filter(school_class=school_class)
        .select_related("student")
        .order_by("student__sort_key", "student_id", "-starts_on")
    )
    states = dict(RecordBook.objects.filter(school_class=school_class).values_list("student_id", "state"))
    seen: dict[int, SheetStudent] = {}
    for e in rows:
        if e.student_id not in seen:
            seen[e.student_id] = SheetStudent(e.student_id, e.student.full_name, e.ends_on is not None,
                                              states.get(e.student_id, RecordState.DRAFT))
    return list(seen.values())


def _values(school_class: SchoolClass, subject: Subject, student_ids: list[int]) -> list[dict]:
    return list(
        Assessment.objects.filter(subject=subject, year_id=school_class.year_id, student_id__in=student_ids)
        .values("student_id", "term", "kind", "seq", "score", "verdict", "text")
    )


def _computed(subject: Subject, rows: list[dict], student_ids: list[int]) -> dict[int, dict[str, str]]:
    """Semester and year results of the subject for each student, by the TT22 rules (TT27 has none)."""
    if subject.grading not in ("score", "comment"):
        return {}
    by_student: dict[int, list[dict]] = {sid: [] for sid in student_ids}
    for r in rows:
        by_student.setdefault(r["student_id"], []).append(r)
    fmt = fmt_score if subject.grading == "score" else (lambda p: "" if p is None else ("Đ" if p is PassFail.DAT else "CĐ"))
    out = {}
    for sid in student_ids:
        results = subject_term_results(subject, by_student[sid])
        out[sid] = {"term1": fmt(results[1]), "term2": fmt(results[2]), "year": fmt(results[0])}
    return out


def sheet_read(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int) -> Sheet:
    c, s = school_class.pk, subject.pk
    require(access.may_enter_sheet(c, s) or (access.may_read_class(c) and s in access.readable_subject_ids(c, frozenset({s}))))
    _check_term(term)
    return _build(school_class, subject, term, sheet_columns(subject, school_class, term), _students(school_class))


def _build(school_class: SchoolClass, subject: Subject, term: int, columns: list[Column], students: list[SheetStudent]) -> Sheet:
    ids = [s.id for s in students]
    rows = _values(school_class, subject, ids)
    by_key = {c.kind + str(c.seq): c for c in columns}
    values = {}
    for r in rows:
        column = by_key.get(r["kind"] + str(r["seq"]))
        if r["term"] == term and column is not None:
            values[(r["student_id"], column.key)] = _display(r, column.value_type)
    return Sheet(school_class, subject, term, columns, students, values, _computed(subject, rows, ids))


def _check_term(term: int) -> None:
    if term not in (1, 2):
        raise DomainError("sheet.bad_term", _("Học kì phải là I hoặc II."), field="term")


@dataclass(frozen=True)
class SaveResult:
    written: int
    cleared: int
    sheet: Sheet


def sheet_save(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int,
               cells: list[dict[str, Any]]) -> SaveResult:
    """Validate every cell, then write the whole sheet in two statements; nothing is saved on any error.
    The sheet returned is read after the commit, outside the school's write queue."""
    written, cleared, columns, students = _sheet_write(access=access, school_class=school_class, subject=subject,
                                                       term=term, cells=cells)
    return SaveResult(written, cleared, _build(school_class, subject, term, columns, students))


@school_write(lock_early=False)
def _sheet_write(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int,
                 cells: list[dict[str, Any]]) -> tuple[int, int, list[Column], list[SheetStudent]]:
    if not access.may_enter_sheet(school_class.pk, subject.pk):
        raise DomainError("sheet.not_assigned",
                          _("Bạn không được phân công dạy môn %(subject)s ở lớp %(class)s."),
                          params={"subject": subject.name, "class": school_class.name}, http_status=403)
    _check_term(term)
    if school_class.grade not in subject.grades:
        raise DomainError("sheet.subject_not_taught", _("Môn %(subject)s không học ở lớp %(class)s."),
                          params={"subject": subject.name, "class": school_class.name})
    columns = {c.key: c for c in sheet_columns(subject, school_class, term)}
    students = {s.id: s for s in _students(school_class)}
    errors: list[dict[str, Any]] = []
    upserts: list[tuple[int, str, int, Decimal | None, str, str]] = []
    clears: list[tuple[int, str, int]] = []
    seen: set[tuple[int, str]] = set()
    for index, cell in enumerate(cells):
        student_id, key, raw = cell.get("student"), str(cell.get("column", "")), cell.get("value")
        student = students.get(student_id) if isinstance(student_id, int) else None
        column = columns.get(key)
        where = {"index": index, "student": student_id, "column": key,
                 "student_name": student.full_name if student else "", "column_label": column.label if column else key}

        def fail(code: str, vi: str, en: str) -> None:
            errors.append({**where, "code": code,
                           "detail": f"{where['student_name'] or student_id} — {where['column_label']}: {vi}",
                           "detail_en": f"{where['student_name'] or student_id} — {where['column_label']}: {en}"})

        if student is None:
            fail("sheet.student_not_in_class", f"học sinh không thuộc lớp {school_class.name}.", f"the student is not in class {school_class.name}.")
            continue
        if column is None:
            fail("sheet.unknown_column", "cột không có trong bảng điểm của môn này.", "no such column in this subject's sheet.")
            continue
        if (student_id, key) in seen:
            fail("sheet.duplicate_cell", "ô được gửi hai lần.", "the cell was sent twice.")
            continue
        seen.add((student_id, key))
        if student.record_state not in EDITABLE_STATES:
            fail("sheet.record_approved", "học bạ đã được duyệt; cần Hiệu trưởng mở lại trước khi sửa.",
                 "the record is approved; the principal must reopen it before any change.")
            continue
        if raw is None or str(raw).strip() == "":
            clears.append((student_id, column.kind, column.seq))
            continue
        try:
            score, verdict, text = _parse(raw, column)
        except RuleInputError as exc:
            fail(f"sheet.{exc.code}", exc.message_vi, exc.message_en)
            continue
        upserts.append((student_id, column.kind, column.seq, score, verdict, text))
    if errors:
        raise SheetInvalid(errors)
    written = cleared = 0
    take_chain_lock()  # validation above only read; the writes start here
    with connection.cursor() as cursor:
        if upserts:
            cursor.execute(
                """
                INSERT INTO schools_assessment (student_id, subject_id, year_id, term, kind, seq, score, verdict, text)
                SELECT u.s, %s, %s, %s, u.k, u.q, u.sc, u.v, u.t
                  FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::numeric[], %s::text[], %s::text[]) AS u(s, k, q, sc, v, t)
                ON CONFLICT (student_id, subject_id, year_id, term, kind, seq) DO UPDATE
                   SET score = EXCLUDED.score, verdict = EXCLUDED.verdict, text = EXCLUDED.text
                 WHERE (schools_assessment.score, schools_assessment.verdict, schools_assessment.text)
                       IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.verdict, EXCLUDED.text)
                RETURNING (xmax = 0)
                """,
                [subject.pk, school_class.year_id, term, [u[0] for u in upserts], [u[1] for u in upserts],
                 [u[2] for u in upserts], [u[3] for u in upserts], [u[4] for u in upserts], [u[5] for u in upserts]],
            )
            changes = cursor.fetchall()
            written, inserted = len(changes), sum(1 for (new,) in changes if new)
        else:
            inserted = 0
        if clears:
            cursor.execute(
                """
                DELETE FROM schools_assessment a USING unnest(%s::bigint[], %s::text[], %s::int[]) AS c(s, k, q)
                 WHERE a.subject_id = %s AND a.year_id = %s AND a.term = %s
                   AND a.student_id = c.s AND a.kind = c.k AND a.seq = c.q
                """,
                [[c[0] for c in clears], [c[1] for c in clears], [c[2] for c in clears], subject.pk, school_class.year_id, term],
            )
            cleared = cursor.rowcount
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, entries=inserted - cleared)
    return written, cleared, list(columns.values()), list(students.values())
