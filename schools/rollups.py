"""This school's rollups: the figures recomputed from its own tables (reconciliation), and the one way the school's
services add their deltas (``rollup_add``): into the public row in the same transaction (``HOCBA_ROLLUP_MODE=inline``)
or into the school's outbox, drained by a worker within seconds (``outbox``, docs/operations.md §9.4)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Q
from django_tenants.utils import get_public_schema_name
from hocba.kernel import ethnicity, recordstates

from reporting.models import DocumentKind, DocumentState, RecordDocument
from tenants import rollups as public_rollups

from . import onroll
from .models import (
    Absence,
    Assessment,
    Conduct,
    Enrolment,
    RecordBook,
    RollupOutbox,
    SchoolClass,
    SchoolYear,
    Student,
)
from .rules import tt22, tt27
from .rules.common import Conduct as ConductLevel
from .rules.common import LearningResult, YearEvaluation
from .services.common import take_chain_lock

OUTBOX_TABLE = RollupOutbox._meta.db_table
FIELDS = (*public_rollups.FIELDS, *public_rollups.KEPT_ELSEWHERE)  # what ``school_figures`` recomputes
OUTBOX_FIELDS = public_rollups.OUTBOX_FIELDS
DERIVED_FIELDS = public_rollups.DERIVED_FIELDS
CLASS_FIELDS = public_rollups.CLASS_FIELDS


def school_figures(year: SchoolYear, today: dt.date | None = None) -> dict[str, int]:
    """The year's figures recomputed from the school's tables; ``students``: those on the roll of a class of the year
    today (``schools.onroll``), the school's day unless ``today`` is given."""
    day = today or onroll.school_today()
    by_term = dict(Assessment.objects.filter(year=year).values_list("term").annotate(n=Count("id")))
    by_state = RecordBook.objects.filter(year=year).values_list("state")
    by_state = by_state.annotate(n=Count("id"), reopened=Count("id", filter=~Q(reopened_reason="")))
    states = {state: n for state, n, _reopened in by_state}
    return {
        "students": Enrolment.objects.filter(onroll.on_roll(day), school_class__year=year).count(),
        **{f"records_{state}": states.get(state, 0) for state in recordstates.STATES},
        "entries": sum(by_term.values()),
        "entries_term1": by_term.get(1, 0),
        "entries_term2": by_term.get(2, 0),
        "conduct_entries": Conduct.objects.filter(year=year).count(),
        "absences": Absence.objects.filter(year=year).count(),
        "classes": SchoolClass.objects.filter(year=year).count(),
        "records_reopened": sum(reopened for _state, _n, reopened in by_state),
        # the record books whose current document is in the archive store (reporting.services.archive)
        "records_archived": RecordDocument.objects.filter(
            year=year, kind=DocumentKind.RECORD_BOOK, state=DocumentState.ARCHIVED
        ).count(),
    }


def rollup_add(*, school_id: int, year_start: int, **deltas: int) -> None:
    """Add ``deltas`` to the school's rollup row for the year, in the caller's transaction: one statement either way.

    ``outbox``: one row appended to this school's outbox (same schema, same node: all-or-nothing with the write,
    no second node in the commit); once the transaction commits the school is named for the next drain. A write
    that rolls back leaves neither row nor signal. The figures without an outbox column
    (``tenants.rollups.INLINE_FIELDS``) go straight into the public row in both modes (one more statement)."""
    if not public_rollups.outbox_mode():
        public_rollups.rollup_add(school_id=school_id, year_start=year_start, **deltas)
        return
    deltas = public_rollups.clean_deltas(deltas)
    inline_fields = (*public_rollups.INLINE_FIELDS, *public_rollups.KEPT_ELSEWHERE)
    inline = {k: deltas.pop(k) for k in inline_fields if k in deltas}
    if inline:  # no outbox column: into the public row now (``tenants.rollups.INLINE_FIELDS``)
        public_rollups.rollup_add(school_id=school_id, year_start=year_start, **inline)
    if not deltas:
        return
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("rollup_add in outbox mode must run inside the school's schema")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OUTBOX_TABLE} (year_start, {', '.join(deltas)}, created_at)"
            f" VALUES (%s, {', '.join(['%s'] * len(deltas))}, clock_timestamp())",
            [year_start, *deltas.values()],
        )
    transaction.on_commit(functools.partial(public_rollups.outbox_signal, school_id), robust=True)


def _take(where: str = "", params: tuple = ()) -> dict:
    sums = ", ".join(f"sum({f})::integer" for f in OUTBOX_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH taken AS (DELETE FROM {OUTBOX_TABLE} {where} RETURNING *)"
            f" SELECT year_start, count(*), extract(epoch FROM clock_timestamp() - min(created_at))::float, {sums}"
            " FROM taken GROUP BY year_start ORDER BY year_start",
            params,
        )
        found = cursor.fetchall()
    return {
        "years": {year: dict(zip(OUTBOX_FIELDS, values, strict=True)) for year, _n, _lag, *values in found},
        "rows": sum(n for _year, n, *_rest in found),
        "lag": max((lag for _year, _n, lag, *_rest in found), default=None),
    }


def outbox_take() -> dict:
    """Delete this school's outbox rows and return their sums per school year (``years``), their number (``rows``)
    and the age in seconds of the oldest (``lag``). One statement: a concurrent drain waits on the rows' locks and
    then finds them gone, so each row is summed exactly once; rows of writes not committed yet stay for the next."""
    return _take()


def figures_clearing_outbox() -> dict:
    """The school's figures per school year recomputed from its tables (``figures``) and, as of the same moment, the
    outbox rows of those years taken (``years``, ``rows``, ``lag`` as ``outbox_take``). In the caller's transaction
    (``tenants.rollup_outbox.reconcile_school``), which holds both locks until it has overwritten the public rows:

    * the school's chain lock first, the lock every school write takes before its first row and its ``rollup_add``
      (``services.common.school_write``): no write can commit between the figures read and the public rows
      overwritten (in the inline mode its delta would be lost under the overwrite); writers queue on it and add their
      deltas on top of the new figures. Taken in the writers' order — chain lock, then the public rows — so a
      writer and the reconciliation wait for each other but never deadlock;
    * then the outbox (EXCLUSIVE: reads go on, drains wait at their DELETE, and they take no chain lock), so every
      row taken is a write the figures include, and every write they miss keeps its row for the next drain."""
    take_chain_lock()
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {OUTBOX_TABLE} IN EXCLUSIVE MODE")
    figures = {year.start_year: school_figures(year) for year in SchoolYear.objects.all()}
    return {"figures": figures, **_take("WHERE year_start = ANY(%s)", (list(figures),))}


# --- per class, and the figures no write knows the change of (``tenants.rollups.DERIVED_FIELDS``) --------------


def class_rollup_add(*, school_id: int, school_class: SchoolClass, stale: bool = False, **deltas: int) -> None:
    """Add ``deltas`` (students, records per state) to the class's public row in the caller's transaction, and mark
    it stale when the write may have changed its sheets' or its students' completeness (``stale``). One statement,
    in both rollup modes."""
    classes_changed(school_id=school_id, classes=[(school_class, deltas)], stale=stale)


def classes_changed(*, school_id: int, classes: Iterable[tuple[SchoolClass, dict[str, int]]], stale: bool) -> None:
    """``class_rollup_add`` for several classes (of any years): one statement per school year."""
    by_year: dict[int, list[tuple]] = {}
    for school_class, deltas in classes:
        by_year.setdefault(school_class.year.start_year, []).append(
            (school_class.pk, school_class.name, school_class.grade, deltas)
        )
    for year_start, rows in by_year.items():
        public_rollups.class_rollup_add(school_id=school_id, year_start=year_start, classes=rows, stale=stale)


def class_stale(*, school_id: int, class_ids: Iterable[int]) -> None:
    """Mark these classes stale (a write changed what their sheets require or hold, or their students' profiles or
    conduct): the drain recomputes them within seconds. One query for the classes, one statement per year."""
    ids = set(class_ids)
    if ids:
        found = SchoolClass.objects.filter(pk__in=ids).select_related("year")
        classes_changed(school_id=school_id, classes=[(c, {}) for c in found], stale=True)


# --- result distributions: the results frozen at approval, counted by grade, gender and ethnic group -----------

NONE = "none"  # no result of the measure in the frozen results (not assessed; no title; no commendation)
OTHER = "other"  # a result that names no known level (never expected: the rules write these labels)


def _codes(members: Iterable) -> dict[str, str]:
    """A level's code by any way the frozen results wrote it: its code, its Vietnamese or its English label (the
    results hold labels in the approver's language)."""
    out: dict[str, str] = {}
    for m in members:
        out.update({m.code: m.code, m.label_vi: m.code, m.label_en: m.code})
    return out


LEARNING, CONDUCT, TITLES, EVALUATIONS = (
    _codes(LearningResult),
    _codes(ConductLevel),
    _codes(tt22.Title),
    _codes(YearEvaluation),
)
COMMENDATIONS = tuple(
    (label, c.code) for c in tt27.Commendation for label in (c.label_vi, c.label_en)
)  # an ad-hoc commendation is written "<label>: <what for>"
PROMOTIONS = (*(o.code for o in tt22.PromotionOutcome), NONE)

# Each measure and its values, in the order boards list them. TT22 (lower and upper secondary): the year's learning
# and conduct, the title, the promotion decided at the end of the year and the final outcome once the re-test and
# summer training are recorded. TT27 (primary): the end-of-year evaluation, the commendations (a pupil may hold two:
# this measure counts commendations, not pupils) and the final outcome after the summer follow-up.
MEASURES: dict[str, tuple[str, ...]] = {
    "learning": (*(m.code for m in reversed(LearningResult.ordered())), NONE),
    "conduct": (*(m.code for m in reversed(ConductLevel.ordered())), NONE),
    "title": (*(t.code for t in reversed(tt22.Title.ordered()) if t is not tt22.Title.NONE), NONE),
    "promotion": PROMOTIONS,
    "promotion_final": PROMOTIONS,
    "evaluation": (*(m.code for m in reversed(YearEvaluation.ordered())), NONE),
    "commendation": (*(c.code for c in tt27.Commendation), NONE),
}
TT22_MEASURES = ("learning", "conduct", "title", "promotion", "promotion_final")
TT27_MEASURES = ("evaluation", "commendation", "promotion_final")

# The keys of the frozen results the measures read (``RecordBook.results``, ``services.results.YearResults``).
RESULT_KEYS = {
    "rules": "results__rules",
    "learning": "results__learning__year",
    "conduct": "results__conduct__year",
    "title": "results__title",
    "promotion": "results__promotion_code",
    "promotion_final": "results__promotion_final_code",
    "evaluation": "results__evaluation",
    "commendations": "results__commendations",
}


def _level(codes: dict[str, str], label: object) -> str:
    if not label:
        return NONE
    return codes.get(str(label), OTHER)


def _commendation(text: str) -> str:
    for label, code in COMMENDATIONS:
        if text == label or text.startswith(f"{label}:"):
            return code
    return OTHER


def frozen_keys(results: dict) -> dict:
    """The keys of ``RESULT_KEYS`` read from a record's frozen results, as the recompute's query reads them."""
    out = {}
    for name, path in RESULT_KEYS.items():
        value: object = results
        for part in path.split("__")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        out[name] = value
    return out


def result_values(flat: dict) -> list[tuple[str, str]]:
    """(measure, value) of one approved record's frozen results (``flat``: the keys of ``RESULT_KEYS``, see
    ``frozen_keys``): one per measure of its rules, one per commendation."""
    final = flat.get("promotion_final") or NONE
    if str(flat.get("rules") or "").startswith("TT27"):
        commendations = [_commendation(str(c)) for c in flat.get("commendations") or []] or [NONE]
        return [
            ("evaluation", _level(EVALUATIONS, flat.get("evaluation"))),
            *(("commendation", c) for c in commendations),
            ("promotion_final", final),
        ]
    return [
        ("learning", _level(LEARNING, flat.get("learning"))),
        ("conduct", _level(CONDUCT, flat.get("conduct"))),
        ("title", _level(TITLES, flat.get("title"))),
        ("promotion", flat.get("promotion") or NONE),
        ("promotion_final", final),
    ]


def distribution_cells(grade: int, student: Student, results: dict) -> list[tuple[tuple, int]]:
    """The cells one approved record counts in: ((grade, gender, ethnic group, measure, value), 1)."""
    if not results:
        return []
    group = ethnicity.group_of(student.ethnicity)
    return [
        ((grade, student.gender, group, measure, value), 1) for measure, value in result_values(frozen_keys(results))
    ]


def distribution_add(*, school_id: int, year_start: int, grade: int, records: Iterable[RecordBook], sign: int) -> None:
    """Count (``sign`` 1: approved) or withdraw (``sign`` -1: reopened) these records' frozen results in the school's
    distributions, in the caller's transaction: one statement. Written straight into the public rows in both rollup
    modes (a school's cells are its own: no other school waits on them)."""
    cells: Counter = Counter()
    for record in records:
        for key, n in distribution_cells(grade, record.student, record.results):
            cells[key] += sign * n
    public_rollups.distribution_add(school_id=school_id, year_start=year_start, cells=list(cells.items()))


def school_distributions(year: SchoolYear) -> dict[tuple, int]:
    """The year's distribution cells recomputed from the results frozen in its approved, signed and locked records
    (reconciliation): {(grade, gender, ethnic group, measure, value): count}. One query."""
    rows = RecordBook.objects.filter(year=year, state__in=recordstates.FINAL).values(
        "school_class__grade", "student__gender", "student__ethnicity", *RESULT_KEYS.values()
    )
    cells: Counter = Counter()
    for row in rows:
        group = ethnicity.group_of(row["student__ethnicity"])
        for measure, value in result_values({k: row[path] for k, path in RESULT_KEYS.items()}):
            cells[(row["school_class__grade"], row["student__gender"], group, measure, value)] += 1
    return dict(cells)


def unmapped_ethnicities() -> dict[str, int]:
    """The ethnicity values of the school's students that name none of the 54 groups: raw value → students. One
    query (the distinct values and their counts; the mapping runs on those)."""
    values = Student.objects.values_list("ethnicity").annotate(n=Count("id"))
    return {raw: n for raw, n in values if ethnicity.group_of(raw) == ethnicity.OTHER}


def distributions_recomputed() -> dict:
    """Every school year's distribution cells recomputed (``years``: {start_year: {cell: count}}) and the unmapped
    ethnicity values (``unmapped``), for the reconciliation, in the caller's transaction. The school's chain lock is
    taken first, as every approval and reopen takes it before its first row: no approval can commit between the
    figures read and the public rows overwritten; those queued add their deltas on top of the new figures."""
    take_chain_lock()
    return {
        "years": {year.start_year: school_distributions(year) for year in SchoolYear.objects.all()},
        "unmapped": unmapped_ethnicities(),
    }


def distribution_profile_change(*, school_id: int, student: Student, before: tuple[str, str]) -> None:
    """A student's gender or ethnicity corrected (``before``: the gender and ethnicity as they were): the results
    of their approved, signed and locked records move from the old cells to the new ones, in the caller's
    transaction. Nothing when the gender and the ethnic group are unchanged ("Mèo" corrected to "Mông"); otherwise
    one query and one statement per school year concerned."""
    old_gender, old_typed = before
    old_group, new_group = ethnicity.group_of(old_typed), ethnicity.group_of(student.ethnicity)
    if (old_gender, old_group) == (student.gender, new_group):
        return
    was = Student(gender=old_gender, ethnicity=old_typed)
    records = RecordBook.objects.filter(student=student, state__in=recordstates.FINAL).select_related(
        "school_class", "year"
    )
    for record in records:
        grade = record.school_class.grade
        cells = [(key, -n) for key, n in distribution_cells(grade, was, record.results)]
        cells += distribution_cells(grade, student, record.results)
        public_rollups.distribution_add(school_id=school_id, year_start=record.year.start_year, cells=cells)
