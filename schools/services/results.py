"""Results of the record book, computed by the rule engines from what was entered.

One place turns stored rows into the rules' immutable inputs; the rules decide. A class's results
take a constant number of queries (subjects, assessments, conduct, absences, qualities).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import get_language, gettext

from ..models import (
    Absence,
    Assessment,
    Conduct,
    Grading,
    QualityAssessment,
    RecordBook,
    SchoolClass,
    Subject,
)
from ..rules import rules_for, tt22, tt27
from ..rules.common import YEAR, ExemptionPart, PassFail, QualityLevel, RuleInputError, SubjectLevel, exempt_subjects
from ..rules.common import Conduct as ConductLevel
from ..rules.common import exempt_terms as exempt_terms_of
from .exemptions import exemptions_by_student

PF = {"D": PassFail.DAT, "CD": PassFail.CHUA_DAT}
CONDUCT = {"T": ConductLevel.TOT, "K": ConductLevel.KHA, "D": ConductLevel.DAT, "CD": ConductLevel.CHUA_DAT}
LEVEL = {"T": SubjectLevel.HOAN_THANH_TOT, "H": SubjectLevel.HOAN_THANH, "C": SubjectLevel.CHUA_HOAN_THANH}
QUALITY = {"T": QualityLevel.TOT, "D": QualityLevel.DAT, "C": QualityLevel.CAN_CO_GANG}


def fmt_score(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


def fmt_level(value: Any) -> str:
    """A rule level's label in the active language."""
    if value is None:
        return ""
    return value.label_en if get_language() == "en" else value.label_vi


def subject_term_results(
    subject: Subject, rows: list[dict], exempt_terms: frozenset[int] = frozenset()
) -> dict[int, Any]:
    """{1: result, 2: result, 0: year} for a TT22 subject from one student's rows of it; a term the student is
    exempted from the subject in (``exempt_terms``) has no result, and the year is the other term's."""
    terms: dict[int, dict[str, list]] = {1: {"tx": [], "gk": [], "ck": []}, 2: {"tx": [], "gk": [], "ck": []}}
    field = "score" if subject.grading == Grading.SCORE else "verdict"
    for r in rows:
        kind = r["kind"]
        if kind in ("tx", "gk", "ck"):
            terms[r["term"]][kind].append((r["seq"], r[field]))
    for t in terms.values():  # regular assessments in their order (a sum, but kept in order all the same)
        for kind, values in t.items():
            t[kind] = [v for _seq, v in sorted(values)] if len(values) > 1 else [v for _seq, v in values]
    out: dict[int, Any] = {}
    for t, v in terms.items():
        try:
            if subject.grading == Grading.SCORE:
                scores = tt22.SubjectScores(
                    tuple(v["tx"]), v["gk"][0] if v["gk"] else None, v["ck"][0] if v["ck"] else None
                )
                out[t] = tt22.semester_average(scores, periods_per_year=subject.periods_per_year)
            else:
                ca = tt22.CommentAssessments(
                    tuple(PF[x] for x in v["tx"] if x in PF),
                    PF.get(v["gk"][0]) if v["gk"] else None,
                    PF.get(v["ck"][0]) if v["ck"] else None,
                )
                out[t] = tt22.comment_semester_result(ca, periods_per_year=subject.periods_per_year)
        except RuleInputError:
            out[t] = None
        if t in exempt_terms:
            out[t] = None
    out[0] = (
        tt22.year_average(out[1], out[2], exempt_terms=exempt_terms)
        if subject.grading == Grading.SCORE
        else tt22.comment_year_result(semester_ii=out[2], semester_i=out[1], exempt_terms=exempt_terms)
    )
    return out


@dataclass
class SubjectLine:
    subject_id: int
    code: str
    name: str
    grading: str
    term1: str = ""
    term2: str = ""
    year: str = ""
    comments: dict[int, str] = field(default_factory=dict)
    exempt: list[int] = field(default_factory=list)  # terms (1, 2; 0: the year) exempted from the subject: "Miễn học"
    practical_exempt: list[int] = field(default_factory=list)  # terms exempted from its practical part only


@dataclass
class YearResults:
    student_id: int
    rules: str
    subjects: list[SubjectLine]
    learning: dict[str, str] = field(default_factory=dict)
    adjusted_for: str = ""
    conduct: dict[str, str] = field(default_factory=dict)
    absences: dict[str, int] = field(default_factory=dict)
    title: str = ""
    promotion: str = ""
    retest_subjects: list[str] = field(default_factory=list)
    evaluation: str = ""
    commendations: list[str] = field(default_factory=list)
    qualities: dict[str, str] = field(default_factory=dict)
    # The homeroom teacher's comments by term ("term1", "term2"): TT22 conduct (rèn luyện), from the conduct page;
    # TT27 qualities and competencies at the end of each term ({"term1": {code: text}, …}), from the qualities page.
    conduct_comments: dict[str, str] = field(default_factory=dict)
    quality_comments: dict[str, dict[str, str]] = field(default_factory=dict)
    # Year-end steps (TT22): the final outcome once the re-test / summer training are recorded.
    promotion_final: str = ""
    promotion_final_code: str = ""
    promotion_code: str = ""
    yearend_pending: list[str] = field(default_factory=list)
    retest_candidates: list[dict[str, str]] = field(default_factory=list)
    retest_results: dict[str, str] = field(default_factory=dict)
    learning_after_retest: str = ""
    retest_passed: bool | None = None
    summer_training: str = ""  # "passed" / "failed" / "" (not recorded)
    retest_chosen: list[str] = field(default_factory=list)  # the subjects chosen for the re-test (codes)
    retest_choice_recorded: bool = False  # False: no choice recorded, every candidate counts as chosen
    # TT27: the summer follow-up of a pupil who has not completed the grade (art. 11).
    followup_items: list[dict[str, str]] = field(default_factory=list)
    followup_plan: str = ""
    evaluation_after_followup: str = ""
    followup_decision: str = ""
    followup_decision_code: str = ""
    completion: str = ""
    # TT27: the principal's decisions behind the commendations.
    exemplary_recognised: bool = False
    adhoc_commendation: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def class_subjects(school_class: SchoolClass) -> list[Subject]:
    return list(
        Subject.objects.filter(level=school_class.level, grades__contains=[school_class.grade]).order_by(
            "order", "name"
        )
    )


def class_results(
    school_class: SchoolClass, student_ids: list[int], *, decisions: dict[int, dict] | None = None
) -> dict[int, YearResults]:
    """Every result of the year for these students of the class (constant queries). ``decisions`` replaces the
    stored year-end decisions of the record books (re-test, training, commendations), e.g. before saving them."""
    subjects = class_subjects(school_class)
    rows = list(
        Assessment.objects.filter(
            year_id=school_class.year_id, student_id__in=student_ids, subject__in=subjects
        ).values("student_id", "subject_id", "term", "kind", "seq", "score", "verdict", "text")
    )
    by_student: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_student[r["student_id"]][r["subject_id"]].append(r)
    absences = {
        r["student_id"]: r
        for r in Absence.objects.filter(year_id=school_class.year_id, student_id__in=student_ids)
        .values("student_id")
        .annotate(n_excused=Count("id", filter=Q(excused=True)), n_unexcused=Count("id", filter=Q(excused=False)))
    }
    rules = rules_for(school_class.level, school_class.year.start_year)
    exemptions = exemptions_by_student(school_class.year_id, student_ids)
    if decisions is None:
        decisions = {
            r["student_id"]: r
            for r in RecordBook.objects.filter(year_id=school_class.year_id, student_id__in=student_ids).values(
                "student_id",
                "retest_scores",
                "retest_chosen",
                "summer_training_passed",
                "exemplary_recognised",
                "adhoc_commendation",
                "followup_plan",
                "followup_levels",
                "followup_decision",
            )
        }
    out = {}
    if isinstance(rules, tt27.TT27Rules):
        qualities: dict[int, dict[str, str]] = defaultdict(dict)
        quality_texts: dict[int, dict[str, dict[str, str]]] = defaultdict(lambda: {"term1": {}, "term2": {}})
        for q in QualityAssessment.objects.filter(
            year_id=school_class.year_id, student_id__in=student_ids, term__in=(1, 2), checkpoint="end"
        ).order_by("term", "pk"):
            if q.term == 2:
                qualities[q.student_id][q.code] = q.level
            if q.text.strip():
                quality_texts[q.student_id][f"term{q.term}"][q.code] = q.text.strip()
        for sid in student_ids:
            out[sid] = _primary(
                school_class,
                subjects,
                by_student[sid],
                qualities[sid],
                absences.get(sid),
                rules,
                decisions.get(sid) or {},
                exemptions=exemptions.get(sid, ()),
            )
            out[sid].quality_comments = quality_texts[sid] if sid in quality_texts else {}
        return out
    conduct: dict[int, dict[int, str]] = defaultdict(dict)
    conduct_texts: dict[int, dict[str, str]] = defaultdict(dict)
    for c in Conduct.objects.filter(year_id=school_class.year_id, student_id__in=student_ids):
        conduct[c.student_id][c.term] = c.level
        if c.text.strip():
            conduct_texts[c.student_id][f"term{c.term}"] = c.text.strip()
    for sid in student_ids:
        out[sid] = _secondary(
            subjects,
            by_student[sid],
            conduct[sid],
            absences.get(sid),
            rules,
            decisions.get(sid) or {},
            exemptions=exemptions.get(sid, ()),
        )
        out[sid].conduct_comments = conduct_texts.get(sid, {})
    return out


def _absences(row: dict | None) -> dict[str, int]:
    excused, unexcused = (row["n_excused"], row["n_unexcused"]) if row else (0, 0)
    return {"excused": excused, "unexcused": unexcused, "total": excused + unexcused}


def _secondary(
    subjects: list[Subject],
    rows: dict[int, list[dict]],
    conduct: dict[int, str],
    absence_row,
    rules,
    decided: dict | None = None,
    exemptions: tuple = (),
) -> YearResults:
    lines, per_term = [], {1: [], 2: [], 0: []}
    exempt = {t: exempt_subjects(exemptions, t) for t in (1, 2, YEAR)}
    for subject in subjects:
        terms = exempt_terms_of(exemptions, subject.code)
        results = subject_term_results(subject, rows.get(subject.pk, []), terms)
        fmt = fmt_score if subject.grading == Grading.SCORE else fmt_level
        line = SubjectLine(
            subject.pk, subject.code, subject.name, subject.grading, fmt(results[1]), fmt(results[2]), fmt(results[0])
        )
        line.comments = {r["term"]: r["text"] for r in rows.get(subject.pk, []) if r["kind"] == "nx"}
        _mark_exempt(line, exemptions, exempt)
        lines.append(line)
        for t in (1, 2, 0):
            per_term[t].append(
                tt22.SubjectResult.scored(subject.code, results[t])
                if subject.grading == Grading.SCORE
                else tt22.SubjectResult.commented(subject.code, results[t])
            )
    res = YearResults(0, rules.code, lines, absences=_absences(absence_row))
    learning = {}
    for t, key in ((1, "term1"), (2, "term2"), (0, "year")):
        assessment = tt22.assess_learning(per_term[t], exempt=exempt[t], rules=rules)
        learning[t] = assessment.result if assessment else None
        res.learning[key] = fmt_level(learning[t])
        if t == 0 and assessment and assessment.adjusted_for:
            res.adjusted_for = assessment.adjusted_for
    c1, c2 = CONDUCT.get(conduct.get(1)), CONDUCT.get(conduct.get(2))
    year_conduct = tt22.year_conduct(c1, c2, rules=rules)
    res.conduct = {"term1": fmt_level(c1), "term2": fmt_level(c2), "year": fmt_level(year_conduct)}
    title = tt22.year_title(
        conduct=year_conduct, learning=learning[0], subjects=per_term[0], exempt=exempt[YEAR], rules=rules
    )
    res.title = "" if title is None or title is tt22.Title.NONE else str(title)
    decided = decided or {}
    training = decided.get("summer_training_passed")
    res.summer_training = "" if training is None else ("passed" if training else "failed")
    retest = {k: v for k, v in (decided.get("retest_scores") or {}).items() if v not in (None, "")}
    chosen = decided.get("retest_chosen")
    decision = tt22.promotion_decision(
        conduct=year_conduct,
        learning=learning[0],
        absences=res.absences["total"],
        subjects=per_term[0],
        exempt=exempt[YEAR],
        rules=rules,
    )
    if decision is not None:
        res.promotion = str(decision.outcome)
        res.promotion_code = decision.outcome.code
        names = {s.code: s.name for s in subjects}
        res.retest_subjects = [names.get(code, code) for code in decision.retest_subjects]
        gradings = {s.code: s.grading for s in subjects}
        # A stored choice keeps only today's candidates; a result counts only for a chosen subject.
        picked = decision.retest_subjects if chosen is None else [c for c in decision.retest_subjects if c in chosen]
        res.retest_chosen = list(picked)
        res.retest_choice_recorded = chosen is not None
        res.retest_candidates = [
            {
                "code": code,
                "name": names.get(code, code),
                "grading": gradings.get(code, Grading.SCORE),
                "chosen": code in picked,
            }
            for code in decision.retest_subjects
        ]
        res.retest_results = {code: _fmt_retest(retest[code]) for code in picked if code in retest}
        try:
            outcome = tt22.year_end_outcome(
                conduct=year_conduct,
                learning=learning[0],
                absences=res.absences["total"],
                subjects=per_term[0],
                exempt=exempt[YEAR],
                training_passed=training,
                retest={k: v for k, v in retest.items() if k in picked},
                chosen=picked,
                rules=rules,
            )
        except RuleInputError:
            outcome = None
        if outcome is not None:
            res.yearend_pending = list(outcome.pending)
            res.learning_after_retest = fmt_level(outcome.learning_after_retest)
            if outcome.learning_after_retest is not None:
                res.retest_passed = outcome.learning_after_retest >= rules.promotion_min_learning
            if outcome.final is not None:
                res.promotion_final = str(outcome.final.outcome)
                res.promotion_final_code = outcome.final.outcome.code
    return res


def _fmt_retest(value: Any) -> str:
    """A stored re-test result as a person reads it: "6,5" or Đạt / Chưa đạt."""
    text = str(value).strip()
    if text.upper() in ("D", "CD"):
        return fmt_level(PassFail.DAT if text.upper() == "D" else PassFail.CHUA_DAT)
    return text.replace(".", ",")


def _mark_exempt(line: SubjectLine, exemptions: tuple, exempt: dict[int, frozenset[str]]) -> None:
    """The subject's exempt terms and year on its line, whose results then read "Miễn học"."""
    line.exempt = [t for t in (1, 2, YEAR) if line.code in exempt[t]]
    line.practical_exempt = sorted(exempt_terms_of(exemptions, line.code, ExemptionPart.PRACTICAL))
    label = gettext("Miễn học")
    for t, name in ((1, "term1"), (2, "term2"), (YEAR, "year")):
        if t in line.exempt:
            setattr(line, name, label)


def _primary(
    school_class, subjects, rows, qualities, absence_row, rules, decided: dict | None = None, exemptions: tuple = ()
) -> YearResults:
    """A pupil's year (TT27). A subject the pupil is exempted from in term II (or the whole year) has no end-of-year
    level or test and is left out of the evaluation."""
    lines, levels, tests = [], [], []
    exempt = {t: exempt_subjects(exemptions, t) for t in (1, 2, YEAR)}
    exempt[YEAR] = exempt[2]
    for subject in subjects:
        r = rows.get(subject.pk, [])
        level = {x["term"]: x["verdict"] for x in r if x["kind"] == "mck"}
        test = {x["term"]: x["score"] for x in r if x["kind"] == "kck"}
        line = SubjectLine(
            subject.pk,
            subject.code,
            subject.name,
            subject.grading,
            fmt_level(LEVEL.get(level.get(1))),
            fmt_level(LEVEL.get(level.get(2))),
            fmt_level(LEVEL.get(level.get(2))),
        )
        line.comments = {x["term"]: x["text"] for x in r if x["kind"] == "nx"}
        if 2 in test:
            line.year = f"{line.year} ({int(test[2])})" if line.year else str(int(test[2]))
        _mark_exempt(line, exemptions, exempt)
        lines.append(line)
        if subject.code in exempt[YEAR]:
            continue
        levels.append((subject.code, LEVEL.get(level.get(2))))
        if tt27.has_periodic_test(school_class.grade, subject.code, tt27.AssessmentPoint.END_OF_YEAR):
            tests.append((subject.code, int(test[2]) if 2 in test else None))
    res = YearResults(0, rules.code, lines, absences=_absences(absence_row))
    res.qualities = {q.code: qualities.get(q.code, "") for q in (*rules.qualities, *rules.competencies)}
    try:
        record = tt27.PrimaryYearRecord(
            grade=school_class.grade,
            subjects=tuple(levels),
            qualities=tuple((q.code, QUALITY.get(qualities.get(q.code))) for q in rules.qualities),
            competencies=tuple((q.code, QUALITY.get(qualities.get(q.code))) for q in rules.competencies),
            tests=tuple(tests),
        )
        evaluation = tt27.year_evaluation(record, exempt=exempt[YEAR], rules=rules)
    except RuleInputError:
        evaluation = None
    res.evaluation = fmt_level(evaluation)
    decided = decided or {}
    res.exemplary_recognised = bool(decided.get("exemplary_recognised"))
    res.adhoc_commendation = decided.get("adhoc_commendation") or ""
    if evaluation is not None:
        awarded = (
            tt27.commendations(
                evaluation,
                exemplary_recognised=res.exemplary_recognised,
                principal_adhoc=bool(res.adhoc_commendation),
                rules=rules,
            )
            or ()
        )
        res.commendations = [
            f"{c}: {res.adhoc_commendation}" if c is tt27.Commendation.DOT_XUAT else str(c) for c in awarded
        ]
        _primary_followup(res, record, subjects, rules, school_class.grade, decided)
    return res


FOLLOWUP_DECISIONS = {d.code: d for d in tt27.FollowUpDecision}


def _primary_followup(res: YearResults, record, subjects, rules, grade: int, decided: dict) -> None:
    """The summer follow-up of a pupil evaluated Chưa hoàn thành (TT27 art. 11), and the completion it decides."""
    names = {s.code: s.name for s in subjects}
    english = get_language() == "en"
    names |= {q.code: (q.label_en if english else q.label_vi) for q in (*rules.qualities, *rules.competencies)}
    subject_codes = {code for code, _level in (*record.subjects, *record.tests)}
    items = tt27.followup_items(record, rules=rules)
    stored = decided.get("followup_levels") or {}
    followup = {
        code: (LEVEL if code in subject_codes else QUALITY).get(stored.get(code)) for code in items if stored.get(code)
    }
    outcome = tt27.year_end_completion(
        record, followup=followup, decision=FOLLOWUP_DECISIONS.get(decided.get("followup_decision") or ""), rules=rules
    )
    if outcome is None:
        return
    levels = dict(record.subjects) | dict(record.qualities) | dict(record.competencies)
    tests = dict(record.tests)
    res.followup_items = [
        {
            "code": code,
            "name": names.get(code, code),
            "kind": "subject" if code in subject_codes else "quality",
            "level": fmt_level(levels.get(code)) + (f" ({tests[code]})" if tests.get(code) is not None else ""),
            "input": str(stored.get(code) or "") if code in followup else "",
            "after": fmt_level(followup.get(code)),
        }
        for code in outcome.items
    ]
    res.followup_plan = decided.get("followup_plan") or ""
    res.evaluation_after_followup = fmt_level(outcome.evaluation_after)
    res.followup_decision = fmt_level(outcome.decision)
    res.followup_decision_code = outcome.decision.code if outcome.decision else ""
    res.yearend_pending = list(outcome.pending)
    if outcome.promoted is not None:
        final = tt22.PromotionOutcome.PROMOTED if outcome.promoted else tt22.PromotionOutcome.HELD_BACK
        res.promotion_final = fmt_level(final)
        res.promotion_final_code = final.code
    if outcome.completed is not None:
        res.completion = _completion_text(outcome.completed, grade, rules)


def _completion_text(completed: bool, grade: int, rules) -> str:
    if not completed:
        return gettext("Chưa hoàn thành chương trình lớp học")
    if grade == rules.last_grade:
        return gettext("Hoàn thành chương trình tiểu học")
    return gettext("Hoàn thành chương trình lớp học")
