"""Grade sheets: one class × one subject × one term, read and saved whole.

A save is all or nothing: every cell is validated first, each problem names its cell in Vietnamese and
English, and only then two statements write the sheet (a batched upsert that touches only the cells
whose value really changed, and a delete for the cells cleared) — a constant number of queries
whatever the number of students (DESIGN §6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError, TextPair, both_languages
from hocba.kernel.levels import PRIMARY

from .. import onroll
from ..access import SchoolAccess
from ..models import (
    Assessment,
    Enrolment,
    Exemption,
    ExemptionPart,
    Grading,
    RecordBook,
    RecordState,
    SchoolClass,
    Student,
    Subject,
)
from ..rollups import class_rollup_add, rollup_add
from ..rules import tt22, tt27
from ..rules.common import PassFail, RuleInputError, validate_score
from .common import CHAIN_LOCK_SQL, require, school_write, take_chain_lock
from .results import fmt_score, subject_term_results


@dataclass(frozen=True)
class Column:
    key: str
    kind: str
    seq: int
    value_type: str  # score | passfail | level | test | text
    label: str
    label_en: str


def sheet_columns(subject: Subject, school_class: SchoolClass, term: int) -> list[Column]:
    if subject.grading in tt22.GRADINGS:
        value_type = "score" if subject.grading == Grading.SCORE else "passfail"
        n = tt22.regular_assessment_count(subject.periods_per_year)
        cols = [Column(f"tx{i}", "tx", i, value_type, f"ĐĐGtx {i}", f"Regular {i}") for i in range(1, n + 1)]
        cols += [
            Column("gk", "gk", 0, value_type, "ĐĐGgk", "Mid-term"),
            Column("ck", "ck", 0, value_type, "ĐĐGck", "End of term"),
        ]
    else:
        mid, end = (
            (tt27.AssessmentPoint.MID_TERM_I, tt27.AssessmentPoint.END_OF_TERM_I)
            if term == 1
            else (tt27.AssessmentPoint.MID_TERM_II, tt27.AssessmentPoint.END_OF_YEAR)
        )
        cols = [
            Column("mgk", "mgk", 0, "level", "Mức giữa kì", "Mid-term level"),
            Column("mck", "mck", 0, "level", "Mức cuối kì", "End-of-term level"),
        ]
        if subject.has_periodic_test and school_class.level == PRIMARY:
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
    exemptions: tuple[tuple[int, int, str], ...] = ()  # (subject id, term — 0: the whole year —, part) this year

    def exempt_part(self, subject_id: int, term: int) -> str:
        """ "subject" (not assessed: the cell is "Miễn"), "practical" (assessed on theory) or "" in this term."""
        for subject, covered, part in self.exemptions:
            if subject == subject_id and covered in (0, term):
                return part
        return ""

    def exempt_terms(self, subject_id: int) -> frozenset[int]:
        """The terms in which the student is not assessed in the subject."""
        return frozenset(
            t
            for subject, covered, part in self.exemptions
            if subject == subject_id and part == ExemptionPart.SUBJECT
            for t in (1, 2)
            if covered in (0, t)
        )


@dataclass
class Sheet:
    school_class: SchoolClass
    subject: Subject
    term: int
    columns: list[Column]
    students: list[SheetStudent]
    values: dict[tuple[int, str], str] = field(default_factory=dict)  # (student, column) → display value
    computed: dict[int, dict[str, str]] = field(default_factory=dict)  # student → {"term_average", "year_average"…}
    exempt: dict[int, str] = field(default_factory=dict)  # student → "subject" / "practical" in this term


@dataclass(frozen=True)
class CellError:
    """One cell's problem: a catalogue message and its parameters (a rule's own pair of texts for the rules'
    refusals), and the cell it names."""

    index: int
    student: Any
    column: str
    student_name: str
    column_label: str
    code: str
    message: Any
    params: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)  # the subject, in a whole-class save

    def as_dict(self) -> dict[str, Any]:
        texts = both_languages(self.message, self.params)
        who = f"{self.student_name or self.student} — {self.column_label}"
        return {
            **self.where,
            "index": self.index,
            "student": self.student,
            "column": self.column,
            "student_name": self.student_name,
            "column_label": self.column_label,
            "code": self.code,
            "detail": f"{who}: {texts['vi']}",
            "detail_en": f"{who}: {texts['en']}",
        }


class SheetInvalid(DomainError):
    """Some cells are wrong; nothing of the sheet was saved."""

    def __init__(self, cells: list[CellError]):
        errors = [c.as_dict() for c in cells]
        first = errors[0]
        super().__init__(
            "sheet.invalid", _("Bảng điểm có %(n)s ô không hợp lệ; chưa lưu gì."), params={"n": len(errors)}
        )
        self.cells = cells
        self.errors = errors
        self.first = first

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["errors"] = self.errors
        return data


COMMENT_MAX = 2000  # characters of a subject's comment (the "nx" cell)
EXEMPT_MARK = _("Miễn")  # an exempt student's cell and result on a sheet
VERDICTS_PF = {"Đ": "D", "D": "D", "ĐẠT": "D", "DAT": "D", "CĐ": "CD", "CD": "CD", "CHƯA ĐẠT": "CD", "CHUA DAT": "CD"}
LEVELS_THC = {"T": "T", "H": "H", "C": "C"}


def _display(a: Assessment | dict, value_type: str) -> str:
    score, verdict, text = (
        (a["score"], a["verdict"], a["text"]) if isinstance(a, dict) else (a.score, a.verdict, a.text)
    )
    if value_type == "score":
        return "" if score is None else f"{score:.1f}".replace(".", ",")
    if value_type == "test":
        return "" if score is None else str(int(score))
    if value_type == "text":
        return text
    return {"D": "Đ", "CD": "CĐ"}.get(verdict, verdict)


# The valid values a sheet can hold are few (0–10 by tenths; Đ/CĐ; T/H/C), and a sheet repeats them: a parsed
# value is remembered by (value type, text). Only successes are kept, and only so many, so that no input can grow it.
_PARSED: dict[tuple[str, str], tuple[Decimal | None, str, str]] = {}
_PARSED_MAX = 4096


def _parse(raw: Any, column: Column) -> tuple[Decimal | None, str, str]:
    """(score, verdict, text) for a non-empty raw value, or RuleInputError (from the rules) or DomainError."""
    text = str(raw).strip()
    value_type = column.value_type
    if value_type == "text":
        if len(text) > COMMENT_MAX:
            raise DomainError(
                "sheet.comment_too_long",
                _("Nhận xét dài %(n)s ký tự, quá giới hạn %(max)s ký tự."),
                params={"n": len(text), "max": COMMENT_MAX},
            )
        return None, "", text
    parsed = _PARSED.get((value_type, text))
    if parsed is None:
        parsed = _parse_value(text, column)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[(value_type, text)] = parsed
    return parsed


def _parse_value(text: str, column: Column) -> tuple[Decimal | None, str, str]:
    if column.value_type == "score":
        return validate_score(text.replace(",", "."), field=column.label), "", ""
    if column.value_type == "test":
        return Decimal(tt27.validate_test_score(text.replace(",", "."), field=column.label)), "", ""
    if column.value_type == "passfail":
        verdict = VERDICTS_PF.get(text.upper())
        if verdict is None:
            raise DomainError(
                "sheet.comment_only",
                _("Môn đánh giá bằng nhận xét: chỉ nhận Đ hoặc CĐ, không nhận “%(value)s”."),
                params={"value": text},
            )
        return None, verdict, ""
    verdict = LEVELS_THC.get(text.upper())
    if verdict is None:
        raise DomainError(
            "sheet.level_only", _("Chỉ nhận mức T, H hoặc C, không nhận “%(value)s”."), params={"value": text}
        )
    return None, verdict, ""


def cells_from_payload(data: Any) -> list[dict[str, Any]]:
    """The ``cells`` of a sheet save request, checked for shape only (each cell: an integer ``student``, a
    ``column`` and a ``value`` that is text, a number or null); the values themselves are judged by the save.
    A malformed body is refused whole, naming the first bad cell."""
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise DomainError("sheet.malformed", _("Dữ liệu gửi lên phải có danh sách ô “cells”."), field="cells")
    out = []
    for index, cell in enumerate(cells):
        if type(cell) is dict and type(cell.get("student")) is int and type(cell.get("column")) is str:
            value = cell.get("value", "")
            if value is None or type(value) is str:  # the usual, well-formed cell: taken as it is
                out.append(cell)
                continue
        student = cell.get("student") if isinstance(cell, dict) else None
        if isinstance(student, str) and student.isdigit():
            student = int(student)
        column = cell.get("column") if isinstance(cell, dict) else None
        value = cell.get("value", "") if isinstance(cell, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if (
            not isinstance(student, int)
            or isinstance(student, bool)
            or not isinstance(column, str)
            or not (value is None or isinstance(value, str))
        ):
            raise DomainError(
                "sheet.malformed",
                _("Ô thứ %(n)s gửi lên không đúng dạng: cần “student” (số), “column” và “value” (chữ hoặc số)."),
                params={"n": index + 1},
                field="cells",
            )
        out.append({"student": student, "column": column, "value": value})
    return out


def _students(school_class: SchoolClass) -> list[SheetStudent]:
    """The class's students in Vietnamese order with their record's state and their exemptions of the year, in one
    query; a student enrolled more than once keeps the latest enrolment. A student has left once the day their
    enrolment ends has come (a transfer dated next month still gets this month's scores; ``schools.onroll``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.student_id, s.full_name, {onroll.LEFT_SQL.format(e="e")}, r.state, x.items
              FROM {Enrolment._meta.db_table} e
              JOIN {Student._meta.db_table} s ON s.id = e.student_id
              LEFT JOIN {RecordBook._meta.db_table} r
                     ON r.student_id = e.student_id AND r.school_class_id = e.school_class_id
              LEFT JOIN (SELECT student_id, array_agg(ARRAY[subject_id, coalesce(term, 0)::bigint,
                                                            (part = '{ExemptionPart.SUBJECT}')::int::bigint]) AS items
                           FROM {Exemption._meta.db_table} WHERE year_id = %s GROUP BY student_id) x
                     ON x.student_id = e.student_id
             WHERE e.school_class_id = %s
             ORDER BY s.sort_key, e.student_id, e.starts_on DESC
            """,
            [onroll.school_today(), school_class.year_id, school_class.pk],
        )
        rows = cursor.fetchall()
    seen: dict[int, SheetStudent] = {}
    parts = (ExemptionPart.PRACTICAL.value, ExemptionPart.SUBJECT.value)
    for student_id, full_name, left, state, items in rows:
        if student_id not in seen:
            exemptions = tuple((subject, term, parts[whole]) for subject, term, whole in items or ())
            seen[student_id] = SheetStudent(student_id, full_name, left, state or RecordState.DRAFT, exemptions)
    return list(seen.values())


VALUE_FIELDS = ("subject_id", "student_id", "term", "kind", "seq", "score", "verdict", "text")


def _values(school_class: SchoolClass, subject_ids: list[int], student_ids: list[int]) -> list[dict]:
    """Every value of these subjects for these students this year (both terms: the year result needs them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(VALUE_FIELDS)} FROM {Assessment._meta.db_table}"
            " WHERE subject_id = ANY(%s) AND year_id = %s AND student_id = ANY(%s)",
            [subject_ids, school_class.year_id, student_ids],
        )
        return [dict(zip(VALUE_FIELDS, row, strict=True)) for row in cursor.fetchall()]


def _computed(
    subject: Subject, rows: list[dict], student_ids: list[int], exempt: dict[int, frozenset[int]] | None = None
) -> dict[int, dict[str, str]]:
    """Semester and year results of the subject for each student, by the TT22 rules (TT27 has none); a term the
    student is exempted from the subject in (``exempt``: student → terms) reads "Miễn", the year is the other's."""
    if subject.grading not in tt22.GRADINGS:
        return {}
    by_student: dict[int, list[dict]] = {sid: [] for sid in student_ids}
    for r in rows:
        by_student.setdefault(r["student_id"], []).append(r)
    fmt = (
        fmt_score
        if subject.grading == Grading.SCORE
        else (lambda p: "" if p is None else ("Đ" if p is PassFail.DAT else "CĐ"))
    )
    out = {}
    exempt = exempt or {}
    for sid in student_ids:
        terms = exempt.get(sid, frozenset())
        results = subject_term_results(subject, by_student[sid], terms)
        out[sid] = {"term1": fmt(results[1]), "term2": fmt(results[2]), "year": fmt(results[0])}
        if terms:
            mark = str(EXEMPT_MARK)
            out[sid].update({f"term{t}": mark for t in terms})
            if len(terms) == 2:
                out[sid]["year"] = mark
    return out


def sheet_read(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int) -> Sheet:
    c, s = school_class.pk, subject.pk
    require(
        access.may_enter_sheet(c, s)
        or (access.may_read_class(c, frozenset({s})) and s in access.readable_subject_ids(c, frozenset({s})))
    )
    _check_term(term)
    return _build(school_class, subject, term, sheet_columns(subject, school_class, term), _students(school_class))


def _build(
    school_class: SchoolClass, subject: Subject, term: int, columns: list[Column], students: list[SheetStudent]
) -> Sheet:
    return _build_many(school_class, term, [(subject, columns)], students)[0]


def _build_many(
    school_class: SchoolClass, term: int, parts: list[tuple[Subject, list[Column]]], students: list[SheetStudent]
) -> list[Sheet]:
    """The sheets of some subjects of one class and term, their values read in one query."""
    ids = [s.id for s in students]
    rows_of: dict[int, list[dict]] = {subject.pk: [] for subject, _columns in parts}
    for r in _values(school_class, [subject.pk for subject, _columns in parts], ids):
        rows_of[r["subject_id"]].append(r)
    out = []
    for subject, columns in parts:
        rows = rows_of[subject.pk]
        by_key = {(c.kind, c.seq): c for c in columns}
        values = {}
        for r in rows:
            if r["term"] == term:
                column = by_key.get((r["kind"], r["seq"]))
                if column is not None:
                    values[(r["student_id"], column.key)] = _display(r, column.value_type)
        exempt = {st.id: st.exempt_terms(subject.pk) for st in students if st.exemptions}
        out.append(
            Sheet(
                school_class,
                subject,
                term,
                columns,
                students,
                values,
                _computed(subject, rows, ids, exempt),
                {st.id: part for st in students if st.exemptions and (part := st.exempt_part(subject.pk, term))},
            )
        )
    return out


def _check_term(term: int) -> None:
    if term not in (1, 2):
        raise DomainError("sheet.bad_term", _("Học kì phải là I hoặc II."), field="term")


@dataclass(frozen=True)
class SaveResult:
    written: int
    cleared: int
    sheet: Sheet


@dataclass(frozen=True)
class ClassSaveResult:
    written: int
    cleared: int
    sheets: list[Sheet]


@dataclass
class _Batch:
    """What a save will write once every cell is valid: upserts (student, subject, kind, seq, score, verdict,
    text) and clears (student, subject, kind, seq), and each cell's problem otherwise."""

    upserts: list[tuple] = field(default_factory=list)
    clears: list[tuple] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


def sheet_require_entry(*, access: SchoolAccess, school_class: SchoolClass, subject: Subject) -> None:
    """May this person enter this class × subject? Asked by the API before it reads the body, and by the save."""
    _check_subject(access, school_class, subject)


def _check_subject(access: SchoolAccess, school_class: SchoolClass, subject: Subject) -> None:
    if not access.may_enter_sheet(school_class.pk, subject.pk):
        raise DomainError(
            "sheet.not_assigned",
            _("Bạn không được phân công dạy môn %(subject)s ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            http_status=403,
        )
    if school_class.grade not in subject.grades:
        raise DomainError(
            "sheet.subject_not_taught",
            _("Môn %(subject)s không học ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
        )


def _validate(
    batch: _Batch,
    cells: list[dict[str, Any]],
    *,
    school_class: SchoolClass,
    subject: Subject,
    columns: dict[str, Column],
    students: dict[int, SheetStudent],
    where: dict[str, Any] | None = None,
    allowed: frozenset[str] | None = None,
    term: int = 0,
) -> None:
    """Judge every cell of one subject's sheet into ``batch``; a problem names its cell (student and column,
    and ``where`` — the subject, in a whole-class save). ``allowed``: the only columns the saver enters (their part
    of a subject shared by several teachers, ``SchoolAccess.entry_columns``); ``None``: every column."""
    seen: set[tuple[int, str]] = set()
    upserts, clears, subject_id = batch.upserts, batch.clears, subject.pk
    for index, cell in enumerate(cells):
        student_id, key, raw = cell.get("student"), str(cell.get("column", "")), cell.get("value")
        student = students.get(student_id) if isinstance(student_id, int) else None
        column = columns.get(key)
        problem: tuple[str, Any, dict[str, Any]] | None = None  # (code, message, params)
        if student is None:
            problem = (
                "sheet.student_not_in_class",
                _("học sinh không thuộc lớp %(class)s."),
                {"class": school_class.name},
            )
        elif column is None:
            problem = ("sheet.unknown_column", _("cột không có trong bảng điểm của môn này."), {})
        elif allowed is not None and key not in allowed:
            problem = (
                "sheet.column_not_assigned",
                _("cột này do giáo viên khác được phân công nhập; bạn nhập các cột %(columns)s."),
                {"columns": ", ".join(c.label for c in columns.values() if c.key in allowed)},
            )
        elif (student_id, key) in seen:
            problem = ("sheet.duplicate_cell", _("ô được gửi hai lần."), {})
        elif student.record_state not in recordstates.EDITABLE:
            seen.add((student_id, key))
            problem = ("sheet.record_approved", _("học bạ đã được duyệt; cần Hiệu trưởng mở lại trước khi sửa."), {})
        elif (
            student.exemptions
            and raw not in (None, "")
            and str(raw).strip()
            and student.exempt_part(subject_id, term) == ExemptionPart.SUBJECT
        ):  # an exempt cell takes nothing but a clearing of what was entered before the decision
            seen.add((student_id, key))
            problem = (
                "sheet.exempt",
                _("học sinh được miễn học môn này trong học kì theo quyết định của Hiệu trưởng; không nhập."),
                {},
            )
        else:
            seen.add((student_id, key))
            if raw is None or (raw.strip() == "" if isinstance(raw, str) else str(raw).strip() == ""):
                clears.append((student_id, subject_id, column.kind, column.seq))
                continue
            try:
                score, verdict, text = _parse(raw, column)
            except RuleInputError as exc:  # the rules write their refusals in both languages themselves
                problem = (f"sheet.{exc.code}", TextPair(exc.message_vi, exc.message_en), {})
            except DomainError as exc:
                problem = (exc.code, exc.message, exc.params)
            else:
                upserts.append((student_id, subject_id, column.kind, column.seq, score, verdict, text))
                continue
        code, message, params = problem
        batch.errors.append(
            CellError(
                index,
                student_id,
                key,
                student.full_name if student else "",
                column.label if column else key,
                code,
                message,
                params,
                where or {},
            )
        )


UPSERT_SQL = f"""
    WITH chain AS MATERIALIZED (SELECT {CHAIN_LOCK_SQL}),
         up AS (
        INSERT INTO {Assessment._meta.db_table} (student_id, subject_id, year_id, term, kind, seq, score, verdict, text)
        SELECT (e->>0)::bigint, (e->>1)::bigint, %s, %s, e->>2, (e->>3)::int, (e->>4)::numeric, e->>5, e->>6
          FROM chain, jsonb_array_elements(%s::jsonb) AS e
        ON CONFLICT (student_id, subject_id, year_id, term, kind, seq) DO UPDATE
           SET score = EXCLUDED.score, verdict = EXCLUDED.verdict, text = EXCLUDED.text
         WHERE ({Assessment._meta.db_table}.score, {Assessment._meta.db_table}.verdict,
                {Assessment._meta.db_table}.text)
               IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.verdict, EXCLUDED.text)
        RETURNING (xmax = 0) AS inserted)
    SELECT count(*), count(*) FILTER (WHERE inserted) FROM up
"""
DELETE_SQL = f"""
    DELETE FROM {Assessment._meta.db_table} a
     USING jsonb_array_elements(%s::jsonb) AS e
     WHERE a.year_id = %s AND a.term = %s AND a.student_id = (e->>0)::bigint AND a.subject_id = (e->>1)::bigint
       AND a.kind = e->>2 AND a.seq = (e->>3)::int
"""


def _write(access: SchoolAccess, school_class: SchoolClass, term: int, batch: _Batch) -> tuple[int, int]:
    """The batch in at most two statements (whatever the number of students or subjects): an upsert that touches
    only the values that really changed, and a delete of the cleared ones; the rollup follows. The rows travel as
    one JSON document of arrays each: encoded in C and parsed by the server, far cheaper than psycopg quoting seven
    arrays value by value (or than a JSON object per row)."""
    if batch.errors:
        raise SheetInvalid(batch.errors)
    written = inserted = cleared = 0
    # Validation only read; the writes start here, with the school's chain lock (taken by the upsert itself, in its
    # first step, before it inserts or locks any row — one round trip fewer).
    with connection.cursor() as cursor:
        if batch.upserts:
            rows = [(s, j, k, q, None if sc is None else str(sc), v, t) for s, j, k, q, sc, v, t in batch.upserts]
            cursor.execute(UPSERT_SQL, [school_class.year_id, term, json.dumps(rows)])
            written, inserted = cursor.fetchone()
        else:
            take_chain_lock()
        if batch.clears:
            cursor.execute(DELETE_SQL, [json.dumps(batch.clears), school_class.year_id, term])
            cleared = cursor.rowcount
    if inserted != cleared:
        rollup_add(
            school_id=access.school_id,
            year_start=school_class.year.start_year,
            **{"entries": inserted - cleared, f"entries_term{term}": inserted - cleared},
        )
    # The class's sheets may be finished now, or no longer: the drain recomputes them. Marked on every save, so a
    # save costs the same statements whatever it changed.
    class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)
    return written, cleared


def sheet_save(
    *, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int, cells: list[dict[str, Any]]
) -> SaveResult:
    """Validate every cell, then write the whole sheet in two statements; nothing is saved on any error.
    The sheet returned is read after the commit, outside the school's write queue."""
    written, cleared, columns, students = _sheet_write(
        access=access, school_class=school_class, subject=subject, term=term, cells=cells
    )
    return SaveResult(written, cleared, _build(school_class, subject, term, columns, students))


@school_write(lock_early=False)
def _sheet_write(
    *, access: SchoolAccess, school_class: SchoolClass, subject: Subject, term: int, cells: list[dict[str, Any]]
) -> tuple[int, int, list[Column], list[SheetStudent]]:
    _check_subject(access, school_class, subject)
    _check_term(term)
    columns = {c.key: c for c in sheet_columns(subject, school_class, term)}
    students = {s.id: s for s in _students(school_class)}
    batch = _Batch()
    _validate(
        batch,
        cells,
        school_class=school_class,
        subject=subject,
        columns=columns,
        students=students,
        allowed=access.entry_columns(school_class.pk, subject.pk),
        term=term,
    )
    written, cleared = _write(access, school_class, term, batch)
    return written, cleared, list(columns.values()), list(students.values())


def class_sheets_save(
    *, access: SchoolAccess, school_class: SchoolClass, term: int, sheets: list[dict[str, Any]]
) -> ClassSaveResult:
    """Several subject sheets of one class and term — a whole class, e.g. a primary homeroom teacher's subjects —
    in ONE transaction: every subject must be the saver's to enter, every cell valid (a problem names its subject
    and cell), then all values in the same two statements as a one-subject save; nothing is saved on any error.
    ``sheets``: ``[{"subject": id, "cells": [...]}]``. The sheets returned are read after the commit."""
    written, cleared, parts, students = _class_write(access=access, school_class=school_class, term=term, sheets=sheets)
    return ClassSaveResult(written, cleared, _build_many(school_class, term, parts, students))


@school_write(lock_early=False)
def _class_write(*, access: SchoolAccess, school_class: SchoolClass, term: int, sheets: list[dict[str, Any]]):
    _check_term(term)
    ids = [part.get("subject") if isinstance(part, dict) else None for part in sheets]
    if not sheets or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DomainError(
            "sheet.malformed",
            _("Dữ liệu gửi lên phải là danh sách bảng điểm, mỗi bảng có mã môn “subject”."),
            field="sheets",
        )
    if len(set(ids)) != len(ids):
        raise DomainError("sheet.duplicate_subject", _("Một môn học được gửi hai lần."), field="sheets")
    subjects = {s.pk: s for s in Subject.objects.filter(pk__in=ids)}
    missing = [i for i in ids if i not in subjects]
    if missing:
        raise DomainError(
            "school.not_found",
            _("Không tìm thấy môn học mã %(id)s ở trường này."),
            params={"id": missing[0]},
            http_status=404,
        )
    students = {s.id: s for s in _students(school_class)}
    batch = _Batch()
    parts = []
    for subject_id, part in zip(ids, sheets, strict=True):
        subject = subjects[subject_id]
        _check_subject(access, school_class, subject)
        columns = {c.key: c for c in sheet_columns(subject, school_class, term)}
        _validate(
            batch,
            cells_from_payload(part),
            school_class=school_class,
            subject=subject,
            columns=columns,
            students=students,
            where={"subject": subject.pk, "subject_name": subject.name},
            allowed=access.entry_columns(school_class.pk, subject.pk),
            term=term,
        )
        parts.append((subject, list(columns.values())))
    written, cleared = _write(access, school_class, term, batch)
    return written, cleared, parts, list(students.values())
