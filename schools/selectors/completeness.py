"""Is a record book complete? Per student of a class, what the record of the year still misses before the homeroom
teacher submits it and the principal approves it.

A record book needs, for its school level's rules:

* every sheet (subject × term) finished for the student — the one definition of a finished sheet,
  ``compliance.required_columns``: every column but the free comment holds a value. A subject the student is exempt
  from in a term (``Exemption``, the whole subject) is never missing; a subject shared by several teachers
  (``TeachingAssignment.part/.columns``) is judged part by part (``compliance.part_columns``). Term I and term II
  both (TT22: the year average is computed from both terms; TT27: the end-of-year levels and tests are term II's
  sheet), so a missing term is the year's missing too. When not one sheet of a term has a single value, the term
  is named as a whole ("HK I") instead of every subject;
* TT22 (secondary): the conduct (rèn luyện) of each term, set by the homeroom teacher;
* TT27 (primary): the five qualities and ten competencies at the end of each term (end of term I, end of year);
* the homeroom teacher's comment on the record book.

``class_completeness`` reads one class (optionally some of its students); ``classes_incomplete_counts`` a whole
school year's classes, for lists. Both take a constant number of queries whatever the number of students,
subjects or classes. Values out are frozen dataclasses; labels are read in the active language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import both_languages, render
from hocba.kernel.levels import PRIMARY

from ..compliance import part_columns, required_columns
from ..models import (
    Assessment,
    Conduct,
    Exemption,
    ExemptionPart,
    QualityAssessment,
    RecordBook,
    SchoolClass,
    SchoolYear,
    Subject,
    TeachingAssignment,
)
from ..rules import tt27

# What a missing item is about.
SHEET = "sheet"  # a subject's sheet (or a part of it) in a term
TERM = "term"  # every sheet of a term: not one value entered
CONDUCT = "conduct"  # TT22 conduct of a term
QUALITIES = "qualities"  # TT27 qualities and competencies at the end of a term
COMMENT = "homeroom_comment"  # the homeroom teacher's comment on the record

TERM_LABELS = {1: _("HK I"), 2: _("HK II")}
QUALITY_CODES = frozenset(n.code for n in tt27.RULES.qualities + tt27.RULES.competencies)
# Record states whose books the lists count by default: those not yet approved.
OPEN_STATES = tuple(recordstates.EDITABLE)


@dataclass(frozen=True)
class MissingItem:
    """One thing a record book misses. ``columns``: the labels of a sheet's missing columns."""

    kind: str
    term: int = 0
    subject_id: int | None = None
    subject_name: str = ""
    part: str = ""
    columns: tuple[str, ...] = ()

    def _message(self) -> tuple[object, dict[str, object]]:
        term = TERM_LABELS.get(self.term, "")
        if self.kind == SHEET:
            subject = f"{self.subject_name} ({self.part})" if self.part else self.subject_name
            return _("%(subject)s %(term)s"), {"subject": subject, "term": term}
        if self.kind == TERM:
            return _("%(term)s (chưa nhập môn nào)"), {"term": term}
        if self.kind == CONDUCT:
            return _("Rèn luyện %(term)s"), {"term": term}
        if self.kind == QUALITIES:
            return _("Phẩm chất, năng lực %(term)s"), {"term": term}
        return _("Nhận xét của GVCN"), {}

    @property
    def label(self) -> str:
        """The item in words, in the active language: "Toán HK II", "HK I (chưa nhập môn nào)", "Rèn luyện HK II"."""
        message, params = self._message()
        return render(message, params)

    def as_dict(self) -> dict[str, object]:
        message, params = self._message()
        texts = both_languages(message, params)
        return {
            "kind": self.kind,
            "term": self.term or None,
            "subject": self.subject_id,
            "subject_name": self.subject_name,
            "part": self.part,
            "columns": list(self.columns),
            "label": texts["vi"],
            "label_en": texts["en"],
        }


@dataclass(frozen=True)
class StudentCompleteness:
    student_id: int
    full_name: str
    record_id: int
    record_state: str
    missing: tuple[MissingItem, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.missing]

    def as_dict(self) -> dict[str, object]:
        return {
            "student": self.student_id,
            "full_name": self.full_name,
            "record": self.record_id,
            "state": self.record_state,
            "missing": [m.as_dict() for m in self.missing],
        }


@dataclass(frozen=True)
class ClassCompleteness:
    """The record books of one class (in Vietnamese order of the students), each with what it misses."""

    class_id: int
    class_name: str
    students: tuple[StudentCompleteness, ...]

    @property
    def incomplete(self) -> tuple[StudentCompleteness, ...]:
        return tuple(s for s in self.students if s.missing)

    @property
    def incomplete_count(self) -> int:
        return sum(1 for s in self.students if s.missing)

    @property
    def complete(self) -> bool:
        return not self.incomplete_count

    def in_states(self, states: Collection[str]) -> tuple[StudentCompleteness, ...]:
        """The incomplete books in these record states (e.g. the submitted ones an approver is about to approve)."""
        return tuple(s for s in self.students if s.missing and s.record_state in states)

    def of(self, student_ids: Iterable[int]) -> tuple[StudentCompleteness, ...]:
        """The incomplete books among these students."""
        wanted = set(student_ids)
        return tuple(s for s in self.students if s.missing and s.student_id in wanted)


def class_completeness(school_class: SchoolClass, student_ids: Iterable[int] | None = None) -> ClassCompleteness:
    """What each record book of the class (only those of ``student_ids`` if given) misses, whatever its state.
    Seven queries at most, whatever the number of students."""
    ids = None if student_ids is None else sorted(set(student_ids))
    books = _books([school_class], ids)
    return _judge(school_class.year, [school_class], books)[school_class.pk]


def classes_incomplete_counts(
    year: SchoolYear, states: Collection[str] = OPEN_STATES, class_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """``{class id: number of incomplete record books}`` of the year's classes (only ``class_ids`` if given),
    counting the books in ``states`` (default: not yet approved — draft and submitted). Every class of the year is
    a key (0 when complete). Eight queries at most for the whole year."""
    classes = SchoolClass.objects.filter(year=year)
    if class_ids is not None:
        classes = classes.filter(pk__in=list(class_ids))
    classes = list(classes)
    if not classes:
        return {}
    books = [b for b in _books(classes, None) if b[3] in states]
    judged = _judge(year, classes, books)
    return {c.pk: judged[c.pk].incomplete_count for c in classes}


def _books(classes: list[SchoolClass], student_ids: list[int] | None) -> list[tuple]:
    """(record id, student id, class id, state, homeroom comment, full name) of the classes' records, by name."""
    qs = RecordBook.objects.filter(school_class__in=classes)
    if student_ids is not None:
        qs = qs.filter(student_id__in=student_ids)
    return list(
        qs.order_by("student__sort_key", "student_id").values_list(
            "id", "student_id", "school_class_id", "state", "homeroom_comment", "student__full_name"
        )
    )


def _judge(year: SchoolYear, classes: list[SchoolClass], books: list[tuple]) -> dict[int, ClassCompleteness]:
    by_class: dict[int, list[tuple]] = defaultdict(list)
    for b in books:
        by_class[b[2]].append(b)
    student_ids = sorted({b[1] for b in books})
    if not student_ids:
        return {c.pk: ClassCompleteness(c.pk, c.name, ()) for c in classes}
    whole_year = len(classes) > 1
    levels = {c.level for c in classes}
    subjects = list(Subject.objects.filter(level__in=levels).order_by("order", "name"))
    parts: dict[tuple[int, int], list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for class_id, subject_id, part, columns in TeachingAssignment.objects.filter(school_class__in=classes).values_list(
        "school_class_id", "subject_id", "part", "columns"
    ):
        parts[(class_id, subject_id)].append((part, tuple(columns)))
    filled = _filled(year, None if whole_year else student_ids)
    exempt: dict[int, set[tuple[int, int]]] = defaultdict(set)
    exemptions = Exemption.objects.filter(year=year, part=ExemptionPart.SUBJECT)
    if not whole_year:
        exemptions = exemptions.filter(student_id__in=student_ids)
    for sid, subject_id, term in exemptions.values_list("student_id", "subject_id", "term"):
        for t in (1, 2) if term is None else (term,):
            exempt[sid].add((subject_id, t))
    conduct: set[tuple[int, int]] = set()
    qualities: dict[tuple[int, int], int] = {}
    if levels - {PRIMARY}:
        rows = Conduct.objects.filter(year=year)
        if not whole_year:
            rows = rows.filter(student_id__in=student_ids)
        conduct = set(rows.values_list("student_id", "term"))
    if PRIMARY in levels:
        rows = QualityAssessment.objects.filter(year=year, checkpoint="end", code__in=sorted(QUALITY_CODES))
        if not whole_year:
            rows = rows.filter(student_id__in=student_ids)
        qualities = {
            (r["student_id"], r["term"]): r["n"]
            for r in rows.values("student_id", "term").annotate(n=Count("code", distinct=True))
        }

    out = {}
    for c in classes:
        sheets = _class_sheets(c, subjects, parts)
        students = []
        for record_id, sid, _class_id, state, comment, full_name in by_class.get(c.pk, []):
            missing: list[MissingItem] = []
            cells = filled.get(sid, {})
            for term in (1, 2):
                term_missing: list[MissingItem] = []
                counted = touched = 0
                for subject, part, columns in sheets[term]:
                    if (subject.pk, term) in exempt.get(sid, ()):
                        continue
                    counted += 1
                    have = cells.get((subject.pk, term), frozenset())
                    lacking = [col for col in columns if (col.kind, col.seq) not in have]
                    if len(lacking) < len(columns):
                        touched += 1
                    if lacking:
                        term_missing.append(
                            MissingItem(SHEET, term, subject.pk, subject.name, part, tuple(x.label for x in lacking))
                        )
                if counted > 1 and not touched:
                    missing.append(MissingItem(TERM, term))
                else:
                    missing += term_missing
            if c.level == PRIMARY:
                missing += [
                    MissingItem(QUALITIES, t) for t in (1, 2) if qualities.get((sid, t), 0) < len(QUALITY_CODES)
                ]
            else:
                missing += [MissingItem(CONDUCT, t) for t in (1, 2) if (sid, t) not in conduct]
            if not (comment or "").strip():
                missing.append(MissingItem(COMMENT))
            students.append(StudentCompleteness(sid, full_name, record_id, state, tuple(missing)))
        out[c.pk] = ClassCompleteness(c.pk, c.name, tuple(students))
    return out


def _class_sheets(
    school_class: SchoolClass, subjects: list[Subject], parts: dict[tuple[int, int], list]
) -> dict[int, list[tuple[Subject, str, list]]]:
    """{term: [(subject, part name, required columns)]}: the sheets of the class's record books, part by part."""
    out: dict[int, list[tuple[Subject, str, list]]] = {1: [], 2: []}
    for subject in subjects:
        if subject.level != school_class.level or school_class.grade not in subject.grades:
            continue
        for term in (1, 2):
            required = required_columns(subject, school_class, term)
            for part, columns in part_columns(required, parts.get((school_class.pk, subject.pk), [])):
                if columns:
                    out[term].append((subject, part, columns))
    return out


def _filled(year: SchoolYear, student_ids: list[int] | None) -> dict[int, dict[tuple[int, int], frozenset]]:
    """{student: {(subject, term): {(kind, seq)}}}: the cells that hold a value, in one query."""
    where, params = "year_id = %s", [year.pk]
    if student_ids is not None:
        where += " AND student_id = ANY(%s)"
        params.append(student_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT student_id, subject_id, term, array_agg(kind), array_agg(seq)"
            f" FROM {Assessment._meta.db_table} WHERE {where} GROUP BY 1, 2, 3",
            params,
        )
        rows = cursor.fetchall()
    out: dict[int, dict[tuple[int, int], frozenset]] = defaultdict(dict)
    for sid, subject_id, term, kinds, seqs in rows:
        out[sid][(subject_id, term)] = frozenset(zip(kinds, seqs, strict=True))
    return out
