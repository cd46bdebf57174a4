"""What the open/lock window jobs need to know inside one school (run through tenants.perschool.run_in_school).

Plain data in, plain data out: no public table is read or written here.

* ``required_columns`` / ``part_columns``: THE definition of a finished sheet (class × subject × term): every
  required column — a sheet's columns (``sheets.sheet_columns``) except the free comment — has a value for every
  student who is not exempt from the subject in that term; a subject shared by several teachers is one sheet whose
  parts (``TeachingAssignment.columns``) are each finished the same way. The reminders below and the record books'
  completeness (``selectors.completeness``) both judge by it.
* ``unfinished_sheets``: the grade sheets that have fewer filled cells than active students (less those exempt from
  the subject in the term) × required columns, for the reminders before a lock. ``teacher_ids`` names the teachers
  whose columns are unfinished (``teacher_id``: the first of them). A constant number of queries per school.
* ``ready_to_sign``: the records of a year by state, per class, for the start of the year-end flow.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.db import connection, models
from django.db.models import Count, Q
from hocba.kernel.levels import level_of_grade

from . import onroll
from .models import (
    Conduct,
    Enrolment,
    ExemptionPart,
    QualityAssessment,
    RecordBook,
    RecordState,
    SchoolClass,
    SchoolYear,
    Student,
    Subject,
    TeachingAssignment,
)
from .rules import rules_for, tt27
from .services.sheets import Column, sheet_columns
from .services.yearend import trait_codes

# Which sheets a window's category covers: the terms whose score sheets must be complete at its lock.
CATEGORY_TERMS = {"scores_1": (1,), "scores_2": (2,), "whole_year": (1, 2)}
OPTIONAL_COLUMNS = frozenset({"text"})  # the comment column is not required to call a sheet finished


def required_columns(subject: Subject, school_class: SchoolClass, term: int) -> list[Column]:
    """The columns of the sheet (class × subject × term) that must hold a value for the sheet to be finished."""
    return [c for c in sheet_columns(subject, school_class, term) if c.value_type not in OPTIONAL_COLUMNS]


def part_columns(required: list[Column], parts: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, list[Column]]]:
    """The required columns split by the teaching parts of a shared subject, ``[(part name, columns)]``; one
    part named "" with every column for a subject taught whole (``parts``: ``(part, columns)`` of its teaching
    assignments; none, or one with no columns: taught whole). A required column no part names (an incomplete
    split) is counted in a part named "" after the others, so that it is never forgotten."""
    split = [(name, cols) for name, cols in parts if cols]
    if not split or len(split) < len(parts):
        return [("", list(required))]
    out, named = [], set()
    for name, cols in split:
        mine = [c for c in required if c.key in cols]
        named.update(c.key for c in mine)
        if mine:
            out.append((name, mine))
    rest = [c for c in required if c.key not in named]
    if rest:
        out.append(("", rest))
    return out


def _year(year_start: int) -> SchoolYear | None:
    return SchoolYear.objects.filter(start_year=year_start).first()


def _sheets(year: SchoolYear, terms: tuple[int, ...], grades: list[int] | tuple[int, ...] = ()) -> Iterator[dict]:
    """Every sheet (class × subject × term) of the year in ``terms`` that someone must fill (students not exempt in
    the term): its teaching parts, ``filled`` and ``required`` cells and the keys of its ``short`` columns. THE
    count behind a finished sheet (``filled == required``); a constant number of queries, whatever the classes."""
    assignments = list(
        TeachingAssignment.objects.filter(school_class__year=year)
        .filter(**({"school_class__grade__in": list(grades)} if grades else {}))
        .select_related("school_class", "subject")
        .order_by("school_class__grade", "school_class__name", "subject__order", "pk")
    )
    if not assignments:
        return
    students = dict(
        Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True)
        .values_list("school_class_id")
        .annotate(n=Count("student_id", distinct=True))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.school_class_id, a.subject_id, a.term, a.kind, a.seq, count(DISTINCT a.student_id)
              FROM schools_assessment a
              JOIN schools_enrolment e ON e.student_id = a.student_id AND e.ends_on IS NULL
              JOIN schools_schoolclass c ON c.id = e.school_class_id AND c.year_id = a.year_id
             WHERE a.year_id = %s AND a.term = ANY (%s)
               AND NOT EXISTS (SELECT 1 FROM schools_exemption x
                                WHERE x.student_id = a.student_id AND x.subject_id = a.subject_id
                                  AND x.year_id = a.year_id AND x.part = %s AND (x.term IS NULL OR x.term = a.term))
             GROUP BY 1, 2, 3, 4, 5
            """,
            [year.pk, list(terms), ExemptionPart.SUBJECT],
        )
        filled_by: dict[tuple[int, int, int], dict[tuple[str, int], int]] = defaultdict(dict)
        for class_id, subject_id, term, kind, seq, n in cursor.fetchall():
            filled_by[(class_id, subject_id, term)][(kind, seq)] = n
        # Students exempt from a subject in a term (the whole subject) have nothing to enter there.
        cursor.execute(
            """
            SELECT e.school_class_id, x.subject_id, t.term, count(DISTINCT x.student_id)
              FROM schools_exemption x
              JOIN schools_enrolment e ON e.student_id = x.student_id AND e.ends_on IS NULL
              JOIN schools_schoolclass c ON c.id = e.school_class_id AND c.year_id = x.year_id
             CROSS JOIN unnest(%s::int[]) AS t(term)
             WHERE x.year_id = %s AND x.part = %s AND (x.term IS NULL OR x.term = t.term)
             GROUP BY 1, 2, 3
            """,
            [list(terms), year.pk, ExemptionPart.SUBJECT],
        )
        exempt = {(class_id, subject_id, term): n for class_id, subject_id, term, n in cursor.fetchall()}
    sheets: dict[tuple[int, int], list[TeachingAssignment]] = {}
    for a in assignments:  # one sheet per class × subject, whoever enters its columns
        sheets.setdefault((a.school_class_id, a.subject_id), []).append(a)
    for parts in sheets.values():
        a = parts[0]
        for term in terms:
            n_students = students.get(a.school_class_id, 0) - exempt.get((a.school_class_id, a.subject_id, term), 0)
            if n_students <= 0:
                continue
            required = required_columns(a.subject, a.school_class, term)
            cells = filled_by.get((a.school_class_id, a.subject_id, term), {})
            yield {
                "parts": parts,
                "term": term,
                "short": {c.key for c in required if cells.get((c.kind, c.seq), 0) < n_students},
                "filled": sum(min(cells.get((c.kind, c.seq), 0), n_students) for c in required),
                "required": n_students * len(required),
            }


def unfinished_sheets(*, year_start: int, category: str, grades: list[int] | tuple[int, ...] = ()) -> list[dict]:
    """Unfinished sheets of the year for the category's terms, one dict per assignment × term, by teacher."""
    terms = CATEGORY_TERMS.get(category)
    year = _year(year_start)
    if not terms or year is None:
        return []
    out = []
    for sheet in _sheets(year, terms, grades):
        if sheet["filled"] >= sheet["required"]:
            continue
        parts, a = sheet["parts"], sheet["parts"][0]
        teacher_ids = [p.teacher_id for p in parts if not p.columns or sheet["short"] & set(p.columns)]
        out.append(
            {
                "teacher_id": teacher_ids[0] if teacher_ids else a.teacher_id,
                "teacher_ids": teacher_ids or [a.teacher_id],
                "class_id": a.school_class_id,
                "class_name": a.school_class.name,
                "grade": a.school_class.grade,
                "subject_id": a.subject_id,
                "subject_name": a.subject.name,
                "term": sheet["term"],
                "filled": sheet["filled"],
                "required": sheet["required"],
            }
        )
    return out


SHEET_FIGURES = ("sheets_required_term1", "sheets_done_term1", "sheets_required_term2", "sheets_done_term2")


def class_sheets(year: SchoolYear) -> dict[int, dict[str, int]]:
    """Per class of the year, its sheets to fill and those finished, per term (``SHEET_FIGURES``): the sheets of
    ``_sheets``, finished as the reminders judge them. Every class of the year is present. Constant queries."""
    out = {
        pk: dict.fromkeys(SHEET_FIGURES, 0) for pk in SchoolClass.objects.filter(year=year).values_list("pk", flat=True)
    }
    for sheet in _sheets(year, (1, 2)):
        figures = out.setdefault(sheet["parts"][0].school_class_id, dict.fromkeys(SHEET_FIGURES, 0))
        figures[f"sheets_required_term{sheet['term']}"] += 1
        figures[f"sheets_done_term{sheet['term']}"] += int(sheet["filled"] >= sheet["required"])
    return out


# The record book's identity fields (the first page of the học bạ): a student counts in ``profile_complete`` when
# every one of them is filled. The boards' "profile completeness" reads this list only.
PROFILE_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "ethnicity",
    "nationality",
    "place_of_birth",
    "address",
    "personal_id",
    "guardians",
)


def profile_filled(prefix: str = "") -> Q:
    """The students (``prefix``: the path to them) whose ``PROFILE_FIELDS`` are all filled."""
    q = Q()
    for name in PROFILE_FIELDS:
        field = Student._meta.get_field(name)
        path = f"{prefix}{name}"
        if name == "guardians":
            q &= ~Q(**{path: []})
        elif isinstance(field, models.CharField):
            q &= Q(**{f"{path}__isnull": False}) & ~Q(**{path: ""})
        else:
            q &= Q(**{f"{path}__isnull": False})
    return q


def conduct_done(year: SchoolYear, day: dt.date) -> dict[int, int]:
    """Per term, the students on a class's roll of the year on ``day`` whose conduct for the term is entered: TT22
    (lower and upper secondary) a conduct level for the term; TT27 (primary) a level for every quality and
    competency of the rules at the term's end-of-term checkpoint (the one the record book keeps). Three queries."""
    on_roll = list(
        Enrolment.objects.filter(onroll.on_roll(day), school_class__year=year)
        .values_list("student_id", "school_class__grade")
        .distinct()
    )
    ids = [sid for sid, _grade in on_roll]
    conduct = set(
        Conduct.objects.filter(year=year, student_id__in=ids).exclude(level="").values_list("student_id", "term")
    )
    qualities = {
        (sid, term): n
        for sid, term, n in QualityAssessment.objects.filter(year=year, student_id__in=ids, checkpoint="end")
        .exclude(level="")
        .values_list("student_id", "term")
        .annotate(n=Count("code", distinct=True))
    }
    traits: dict[int, int | None] = {}
    out = {1: 0, 2: 0}
    for sid, grade in on_roll:
        if grade not in traits:
            rules = rules_for(level_of_grade(grade), year.start_year)
            traits[grade] = len(trait_codes(rules)) if isinstance(rules, tt27.TT27Rules) else None
        need = traits[grade]
        for term in (1, 2):
            if need is None:
                out[term] += int((sid, term) in conduct)
            else:
                out[term] += int(qualities.get((sid, term), 0) >= need)
    return out


def ready_to_sign(*, year_start: int, grades: list[int] | tuple[int, ...] = ()) -> dict:
    """Records of the year by state: approved ones are ready for signatures; per class as well."""
    year = _year(year_start)
    if year is None:
        return {"ready": 0, "not_ready": 0, "done": 0, "by_class": []}
    rows = (
        RecordBook.objects.filter(year=year)
        .filter(**({"school_class__grade__in": list(grades)} if grades else {}))
        .values_list("school_class_id", "school_class__name", "school_class__grade", "state")
        .annotate(n=Count("id"))
        .order_by("school_class__grade", "school_class__name")
    )
    classes: dict[int, dict] = {}
    for class_id, name, grade, state, n in rows:
        entry = classes.setdefault(
            class_id, {"class_id": class_id, "class_name": name, "grade": grade, "ready": 0, "not_ready": 0, "done": 0}
        )
        if state == RecordState.APPROVED:
            entry["ready"] += n
        elif state in (RecordState.SIGNED, RecordState.LOCKED):
            entry["done"] += n
        else:
            entry["not_ready"] += n
    by_class = list(classes.values())
    return {
        "ready": sum(c["ready"] for c in by_class),
        "not_ready": sum(c["not_ready"] for c in by_class),
        "done": sum(c["done"] for c in by_class),
        "by_class": by_class,
    }
