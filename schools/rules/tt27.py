"""TT27/2020/TT-BGDĐT — assessment of primary pupils (tiểu học, grades 1–5).

Every list and threshold lives in ``TT27Rules`` (one frozen instance, ``RULES``): a corrected circular
is a new instance with changed data plus a test. Items DOMAIN.md marks "(unconfirmed)" — which grades
take the Khoa học / Lịch sử và Địa lí / Ngoại ngữ 1 / Tin học và Công nghệ tests, and the end-of-year
thresholds 9/7/5 — are flagged in the data (``confirmed=False`` / ``evaluation_confirmed``).

Missing data returns ``None`` ("not computed yet"); ``RuleInputError`` is only for invalid values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from .common import (
    Exemption,
    LabelledEnum,
    OrderedLevel,
    QualityLevel,
    RuleInputError,
    SubjectLevel,
    YearEvaluation,
    check_exemption,
    to_decimal,
)

_S, _Q, _E = SubjectLevel, QualityLevel, YearEvaluation


class AssessmentPoint(OrderedLevel):
    """The four periodic assessment points of a school year, in chronological order."""

    MID_TERM_I = ("giua_hoc_ki_1", 0, "Giữa học kì I", "Mid-term I")
    END_OF_TERM_I = ("cuoi_hoc_ki_1", 1, "Cuối học kì I", "End of term I")
    MID_TERM_II = ("giua_hoc_ki_2", 2, "Giữa học kì II", "Mid-term II")
    END_OF_YEAR = ("cuoi_nam_hoc", 3, "Cuối năm học", "End of year")


_P = AssessmentPoint


class Commendation(LabelledEnum):
    HOC_SINH_XUAT_SAC = ("hoc_sinh_xuat_sac", "Học sinh Xuất sắc", "Excellent pupil")
    HOC_SINH_TIEU_BIEU = (
        "hoc_sinh_tieu_bieu",
        "Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện",
        "Exemplary pupil, completed learning and training well",
    )
    DOT_XUAT = ("khen_thuong_dot_xuat", "Khen thưởng đột xuất", "Ad-hoc commendation by the principal")


@dataclass(frozen=True)
class Named:
    code: str
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class PeriodicTestEntry:
    """``subject`` has a periodic test at each of ``points`` in each of ``grades``."""

    subject: str
    grades: tuple[int, ...]
    points: tuple[AssessmentPoint, ...]
    confirmed: bool = True


@dataclass(frozen=True)
class EvaluationCriteria:
    """Every subject ≥ ``min_subject``, every quality and competency ≥ ``min_quality`` and every
    end-of-year periodic test ≥ ``min_test``."""

    level: YearEvaluation
    min_subject: SubjectLevel
    min_quality: QualityLevel
    min_test: int


@dataclass(frozen=True)
class TT27Rules:
    code: str = "TT27/2020"
    title_vi: str = "Thông tư 27/2020/TT-BGDĐT ban hành Quy định đánh giá học sinh tiểu học"
    levels: tuple[str, ...] = ("primary",)
    grades: tuple[int, ...] = (1, 2, 3, 4, 5)
    qualities: tuple[Named, ...] = (
        Named("yeu_nuoc", "Yêu nước", "Patriotism"),
        Named("nhan_ai", "Nhân ái", "Kindness"),
        Named("cham_chi", "Chăm chỉ", "Diligence"),
        Named("trung_thuc", "Trung thực", "Honesty"),
        Named("trach_nhiem", "Trách nhiệm", "Responsibility"),
    )
    general_competencies: tuple[Named, ...] = (
        Named("tu_chu_va_tu_hoc", "Tự chủ và tự học", "Self-reliance and self-study"),
        Named("giao_tiep_va_hop_tac", "Giao tiếp và hợp tác", "Communication and collaboration"),
        Named("giai_quyet_van_de_va_sang_tao", "Giải quyết vấn đề và sáng tạo", "Problem solving and creativity"),
    )
    specific_competencies: tuple[Named, ...] = (
        Named("ngon_ngu", "Ngôn ngữ", "Language"),
        Named("tinh_toan", "Tính toán", "Numeracy"),
        Named("khoa_hoc", "Khoa học", "Science"),
        Named("cong_nghe", "Công nghệ", "Technology"),
        Named("tin_hoc", "Tin học", "Computing"),
        Named("tham_mi", "Thẩm mĩ", "Aesthetics"),
        Named("the_chat", "Thể chất", "Physical"),
    )
    tested_subjects: tuple[Named, ...] = (
        Named("tieng_viet", "Tiếng Việt", "Vietnamese"),
        Named("toan", "Toán", "Mathematics"),
        Named("khoa_hoc", "Khoa học", "Science"),
        Named("lich_su_va_dia_li", "Lịch sử và Địa lí", "History and Geography"),
        Named("ngoai_ngu_1", "Ngoại ngữ 1", "Foreign language 1"),
        Named("tin_hoc_va_cong_nghe", "Tin học và Công nghệ", "Informatics and Technology"),
    )
    test_schedule: tuple[PeriodicTestEntry, ...] = (
        PeriodicTestEntry("tieng_viet", (1, 2, 3, 4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR)),
        PeriodicTestEntry("tieng_viet", (4, 5), (_P.MID_TERM_I, _P.MID_TERM_II)),
        PeriodicTestEntry("toan", (1, 2, 3, 4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR)),
        PeriodicTestEntry("toan", (4, 5), (_P.MID_TERM_I, _P.MID_TERM_II)),
        # (unconfirmed) which grades: those in which GDPT 2018 makes the subject compulsory —
        # Khoa học and Lịch sử và Địa lí from grade 4, Ngoại ngữ 1 and Tin học và Công nghệ from grade 3.
        PeriodicTestEntry("khoa_hoc", (4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR), confirmed=False),
        PeriodicTestEntry("lich_su_va_dia_li", (4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR), confirmed=False),
        PeriodicTestEntry("ngoai_ngu_1", (3, 4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR), confirmed=False),
        PeriodicTestEntry("tin_hoc_va_cong_nghe", (3, 4, 5), (_P.END_OF_TERM_I, _P.END_OF_YEAR), confirmed=False),
    )
    test_score_max: int = 10  # integer scores 0–10, no decimals
    # End-of-year evaluation, best rung first; anything below the last rung is Chưa hoàn thành.
    # (unconfirmed) thresholds 9 / 7 / 5.
    evaluation_criteria: tuple[EvaluationCriteria, ...] = (
        EvaluationCriteria(_E.HOAN_THANH_XUAT_SAC, _S.HOAN_THANH_TOT, _Q.TOT, 9),
        EvaluationCriteria(_E.HOAN_THANH_TOT, _S.HOAN_THANH_TOT, _Q.TOT, 7),
        EvaluationCriteria(_E.HOAN_THANH, _S.HOAN_THANH, _Q.DAT, 5),
    )
    evaluation_confirmed: bool = False
    # Commendations (reading, see ``commendations``).
    excellent_commendation_for: YearEvaluation = _E.HOAN_THANH_XUAT_SAC
    exemplary_commendation_for: YearEvaluation = _E.HOAN_THANH_TOT
    # A class (and, in the last grade, the primary programme) is completed from this evaluation up.
    completion_min: YearEvaluation = _E.HOAN_THANH
    last_grade: int = 5
    # No practical-part exemption in primary school: a pupil is exempted from a subject whole, or not at all.
    practical_exemption_subjects: tuple[str, ...] = ()

    @property
    def competencies(self) -> tuple[Named, ...]:
        return self.general_competencies + self.specific_competencies

    def periodic_tests_for(self, grade: int) -> dict[str, tuple[AssessmentPoint, ...]]:
        return periodic_test_schedule(grade, rules=self)

    def year_evaluation(
        self, record: PrimaryYearRecord, *, exempt: Collection[str] = frozenset()
    ) -> YearEvaluation | None:
        return year_evaluation(record, exempt=exempt, rules=self)

    def check_exemption(self, exemption: Exemption) -> Exemption:
        return check_exemption(exemption, practical_subjects=self.practical_exemption_subjects)


RULES = TT27Rules()


# ------------------------------------------------------------------------------------------ inputs


def validate_test_score(value: object, *, field: str = "test", rules: TT27Rules = RULES) -> int:
    """A periodic test score: an integer 0–10. ``7`` and ``Decimal("7.0")`` are 7; ``7.5`` is
    refused with code ``test_score_not_integer``, ``11`` with ``score_out_of_range``."""
    number = to_decimal(value, field=field)
    if not 0 <= number <= rules.test_score_max:
        raise RuleInputError(
            "score_out_of_range",
            f"Điểm kiểm tra định kì {number} ({field}) nằm ngoài thang điểm 0–{rules.test_score_max}.",
            f"Periodic test score {number} ({field}) is outside the 0–{rules.test_score_max} range.",
            field=field,
        )
    if number != number.to_integral_value():
        raise RuleInputError(
            "test_score_not_integer",
            f"Điểm kiểm tra định kì {number} ({field}) phải là số nguyên, không cho điểm thập phân.",
            f"Periodic test score {number} ({field}) must be a whole number, no decimals.",
            field=field,
        )
    return int(number)


def _pairs(value: Mapping | Iterable, kind: type | None, name: str) -> tuple:
    items = tuple(value.items()) if isinstance(value, Mapping) else tuple(tuple(p) for p in value)
    seen: set[str] = set()
    for code, level in items:
        if code in seen:
            raise RuleInputError(
                "duplicate_code",
                f"Mục {code} ({name}) xuất hiện hai lần.",
                f"{code} ({name}) appears twice.",
                field=code,
            )
        seen.add(code)
        if kind is not None and level is not None and not isinstance(level, kind):
            raise RuleInputError(
                "level_invalid",
                f"Mức {level!r} của {code} ({name}) không hợp lệ.",
                f"Level {level!r} of {code} ({name}) is not a {kind.__name__}.",
                field=code,
            )
    return items


@dataclass(frozen=True)
class PrimaryYearRecord:
    """A pupil's end-of-year assessment. Mappings (or pairs) code → level; ``None`` or an absent
    code means not assessed yet. ``subjects`` holds every subject and educational activity taught,
    ``tests`` the end-of-year periodic test scores by subject code."""

    grade: int
    subjects: tuple[tuple[str, SubjectLevel | None], ...] = ()
    qualities: tuple[tuple[str, QualityLevel | None], ...] = ()
    competencies: tuple[tuple[str, QualityLevel | None], ...] = ()
    tests: tuple[tuple[str, int | None], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.grade, bool) or not isinstance(self.grade, int):
            raise RuleInputError(
                "grade_invalid",
                f"Lớp {self.grade!r} không hợp lệ.",
                f"Grade {self.grade!r} is invalid.",
                field="grade",
            )
        object.__setattr__(self, "subjects", _pairs(self.subjects, SubjectLevel, "subjects"))
        object.__setattr__(self, "qualities", _pairs(self.qualities, QualityLevel, "qualities"))
        object.__setattr__(self, "competencies", _pairs(self.competencies, QualityLevel, "competencies"))
        tests = tuple(
            (code, None if score is None else validate_test_score(score, field=code))
            for code, score in _pairs(self.tests, None, "tests")
        )
        object.__setattr__(self, "tests", tests)


# --------------------------------------------------------------------------------------- schedule


def _check_grade(grade: int, rules: TT27Rules) -> None:
    if isinstance(grade, bool) or grade not in rules.grades:
        raise RuleInputError(
            "grade_invalid",
            f"Lớp {grade!r} không thuộc cấp tiểu học ({rules.grades[0]}–{rules.grades[-1]}).",
            f"Grade {grade!r} is not a primary grade ({rules.grades[0]}–{rules.grades[-1]}).",
            field="grade",
        )


def periodic_test_schedule(grade: int, *, rules: TT27Rules = RULES) -> dict[str, tuple[AssessmentPoint, ...]]:
    """Periodic tests of a grade: subject code → assessment points, chronological, subjects in the
    order of ``rules.tested_subjects``."""
    _check_grade(grade, rules)
    points: dict[str, set[AssessmentPoint]] = {}
    for entry in rules.test_schedule:
        if grade in entry.grades:
            points.setdefault(entry.subject, set()).update(entry.points)
    order = [named.code for named in rules.tested_subjects]
    return {
        subject: tuple(sorted(points[subject]))
        for subject in sorted(points, key=lambda s: order.index(s) if s in order else len(order))
    }


def has_periodic_test(grade: int, subject: str, point: AssessmentPoint, *, rules: TT27Rules = RULES) -> bool:
    return point in periodic_test_schedule(grade, rules=rules).get(subject, ())


# ------------------------------------------------------------------------------------ evaluation


def _check_codes(given: tuple, expected: tuple[Named, ...], name: str) -> None:
    known = {named.code for named in expected}
    for code, _ in given:
        if code not in known:
            raise RuleInputError(
                f"unknown_{name}",
                f"Không có mục {code} ({name}).",
                f"Unknown {name} code {code}.",
                field=code,
            )


def year_evaluation(
    record: PrimaryYearRecord, *, exempt: Collection[str] = frozenset(), rules: TT27Rules = RULES
) -> YearEvaluation | None:
    """End-of-year evaluation (thresholds unconfirmed, see ``rules.evaluation_criteria``):

    - Hoàn thành xuất sắc: every subject T, every quality and competency Tốt, every end-of-year test ≥ 9;
    - Hoàn thành tốt: every subject T, every quality and competency Tốt, every test ≥ 7;
    - Hoàn thành: every subject T or H, every quality and competency Tốt or Đạt, every test ≥ 5;
    - Chưa hoàn thành: otherwise.

    "Every quality and competency" = the 5 qualities and all 10 competencies (3 general + 7
    specific). The tests that count are the end-of-year tests the grade's schedule has for the
    subjects in ``record.subjects``; a test score for a subject without an end-of-year test in that
    grade is an input error. ``None`` while any subject level, quality, competency or required test
    is missing.

    ``exempt``: the subjects the pupil is exempted from for the year (miễn học, the principal's decision): not
    evaluated, so neither their level nor their test is required, and neither counts.
    """
    _check_grade(record.grade, rules)
    _check_codes(record.qualities, rules.qualities, "quality")
    _check_codes(record.competencies, rules.competencies, "competency")
    schedule = periodic_test_schedule(record.grade, rules=rules)
    for code, _ in record.tests:
        if AssessmentPoint.END_OF_YEAR not in schedule.get(code, ()):
            raise RuleInputError(
                "test_not_scheduled",
                f"Lớp {record.grade} không có bài kiểm tra định kì cuối năm môn {code}.",
                f"Grade {record.grade} has no end-of-year periodic test in {code}.",
                field=code,
            )
    subjects = {code: level for code, level in record.subjects if code not in exempt}
    qualities = dict(record.qualities)
    competencies = dict(record.competencies)
    tests = {code: score for code, score in record.tests if code not in exempt}
    required_tests = [s for s in subjects if AssessmentPoint.END_OF_YEAR in schedule.get(s, ())]
    if (
        not subjects
        or any(level is None for level in subjects.values())
        or any(qualities.get(q.code) is None for q in rules.qualities)
        or any(competencies.get(c.code) is None for c in rules.competencies)
        or any(tests.get(s) is None for s in required_tests)
    ):
        return None
    traits = [*qualities.values(), *competencies.values()]
    scores = [score for score in tests.values() if score is not None]
    for criteria in rules.evaluation_criteria:
        if (
            all(level >= criteria.min_subject for level in subjects.values())
            and all(level >= criteria.min_quality for level in traits)
            and all(score >= criteria.min_test for score in scores)
        ):
            return criteria.level
    return YearEvaluation.CHUA_HOAN_THANH


def commendations(
    evaluation: YearEvaluation | None,
    *,
    exemplary_recognised: bool = False,
    principal_adhoc: bool = False,
    rules: TT27Rules = RULES,
) -> tuple[Commendation, ...] | None:
    """Commendations at the end of the year (reading; DOMAIN.md names them without criteria):

    - "Học sinh Xuất sắc" for a pupil evaluated Hoàn thành xuất sắc;
    - "Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện" for a pupil evaluated Hoàn thành
      tốt whom the class recognises for an outstanding achievement in a subject or clear progress in
      a quality or competency — a human judgement passed in as ``exemplary_recognised``;
    - an ad-hoc commendation by the principal (``principal_adhoc``) at any evaluation.
    ``None`` while the evaluation is not computed.
    """
    if evaluation is None:
        return None
    awarded: list[Commendation] = []
    if evaluation == rules.excellent_commendation_for:
        awarded.append(Commendation.HOC_SINH_XUAT_SAC)
    elif evaluation == rules.exemplary_commendation_for and exemplary_recognised:
        awarded.append(Commendation.HOC_SINH_TIEU_BIEU)
    if principal_adhoc:
        awarded.append(Commendation.DOT_XUAT)
    return tuple(awarded)


def class_completed(evaluation: YearEvaluation | None, *, rules: TT27Rules = RULES) -> bool | None:
    """The pupil completed the grade's programme (Hoàn thành or better)."""
    return None if evaluation is None else evaluation >= rules.completion_min


def primary_programme_completed(
    grade: int, evaluation: YearEvaluation | None, *, rules: TT27Rules = RULES
) -> bool | None:
    """Completing grade 5 completes the primary programme, written in the record book."""
    _check_grade(grade, rules)
    if evaluation is None:
        return None
    return grade == rules.last_grade and evaluation >= rules.completion_min


# --------------------------------------------------------------------- follow-up over the summer


class FollowUpDecision(LabelledEnum):
    """The principal's decision for a pupil who, helped over the summer, still has not completed the grade."""

    PROMOTE = ("len_lop", "Lên lớp", "Promoted")
    REPEAT = ("o_lai_lop", "Ở lại lớp", "Held back")


@dataclass(frozen=True)
class FollowUpOutcome:
    """What a pupil's end-of-year evaluation and summer follow-up decide.

    ``items`` are the codes of what held the pupil back (subjects and activities Chưa hoàn thành or whose
    end-of-year test is below the completion mark, qualities and competencies Cần cố gắng), empty when the
    grade was completed; ``evaluation_after`` the supplementary evaluation (Hoàn thành or Chưa hoàn thành,
    ``None`` while an item has no follow-up level); ``completed`` whether the grade's programme is completed
    (after the follow-up); ``promoted`` whether the pupil moves up (completed, or the principal's decision);
    ``pending`` what is still to record: "followup" (levels), "decision" (the principal)."""

    evaluation: YearEvaluation
    items: tuple[str, ...] = ()
    evaluation_after: YearEvaluation | None = None
    completed: bool | None = None
    promoted: bool | None = None
    decision: FollowUpDecision | None = None
    pending: tuple[str, ...] = ()


def _completion_criteria(rules: TT27Rules) -> EvaluationCriteria:
    return next(c for c in rules.evaluation_criteria if c.level == rules.completion_min)


def followup_items(record: PrimaryYearRecord, *, rules: TT27Rules = RULES) -> tuple[str, ...]:
    """The subjects, qualities and competencies below the completion rung (see ``FollowUpOutcome.items``),
    subjects first in the record's order, then qualities and competencies."""
    criteria = _completion_criteria(rules)
    tests = dict(record.tests)
    items = [
        code
        for code, level in record.subjects
        if (level is not None and level < criteria.min_subject)
        or (tests.get(code) is not None and tests[code] < criteria.min_test)  # type: ignore[operator]
    ]
    items += [
        code
        for code, score in record.tests
        if code not in items and code not in dict(record.subjects) and score is not None and score < criteria.min_test
    ]
    items += [
        code
        for code, level in (*record.qualities, *record.competencies)
        if level is not None and level < criteria.min_quality
    ]
    return tuple(items)


def year_end_completion(
    record: PrimaryYearRecord,
    *,
    followup: Mapping[str, SubjectLevel | QualityLevel | None] | None = None,
    decision: FollowUpDecision | None = None,
    rules: TT27Rules = RULES,
) -> FollowUpOutcome | None:
    """Completion of the grade's programme with the summer follow-up (reading of TT27 art. 11 on completing
    the grade's programme, unconfirmed against the official text):

    - evaluated Hoàn thành or better: completed, moves up;
    - Chưa hoàn thành: the teacher plans help over the summer and evaluates again each item that held the
      pupil back (``followup``: a subject level T/H/C for a subject, a quality level for a quality or
      competency); with every item at the completion rung (a subject Hoàn thành or better — its end-of-year
      test is then superseded —, a quality or competency Đạt or better) the grade is completed (Hoàn thành)
      and the pupil moves up;
    - still not completed: the principal decides (``decision``) whether the pupil moves up or repeats.

    A follow-up level for something that did not hold the pupil back, or of the wrong kind, is an input
    error. ``None`` while the end-of-year evaluation cannot be computed."""
    evaluation = year_evaluation(record, rules=rules)
    if evaluation is None:
        return None
    if evaluation >= rules.completion_min:
        return FollowUpOutcome(evaluation, completed=True, promoted=True)
    items = followup_items(record, rules=rules)
    subjects = {code for code, _level in (*record.subjects, *record.tests)}
    given = dict(followup or {})
    for code, level in given.items():
        if code not in items:
            raise RuleInputError(
                "followup_not_needed",
                f"{code} không thuộc các nội dung phải đánh giá bổ sung.",
                f"{code} is not one of the items to evaluate again after the summer.",
                field=code,
            )
        kind = SubjectLevel if code in subjects else QualityLevel
        if level is not None and not isinstance(level, kind):
            raise RuleInputError(
                "level_invalid",
                f"Mức {level!r} của {code} không hợp lệ.",
                f"Level {level!r} of {code} is not a {kind.__name__}.",
                field=code,
            )
    if any(given.get(code) is None for code in items):
        return FollowUpOutcome(evaluation, items, pending=("followup",))
    criteria = _completion_criteria(rules)
    reached = all(
        given[code] >= (criteria.min_subject if code in subjects else criteria.min_quality)  # type: ignore[operator]
        for code in items
    )
    if reached:
        return FollowUpOutcome(evaluation, items, rules.completion_min, completed=True, promoted=True)
    after = YearEvaluation.CHUA_HOAN_THANH
    if decision is None:
        return FollowUpOutcome(evaluation, items, after, completed=False, pending=("decision",))
    return FollowUpOutcome(
        evaluation, items, after, completed=False, promoted=decision is FollowUpDecision.PROMOTE, decision=decision
    )
