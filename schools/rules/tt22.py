"""TT22/2021/TT-BGDĐT — assessment of lower and upper secondary students (THCS, THPT).

Every threshold lives in ``TT22Rules`` (one frozen instance, ``RULES``): a corrected circular is a new
instance with changed data plus a test. Functions take ``rules=`` and default to ``RULES``.

Missing data is not an error: a function returns ``None`` ("not computed yet") when an assessment it
needs is simply absent. ``RuleInputError`` is raised only for values that are invalid.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from .common import (
    Conduct,
    Exemption,
    Grading,
    LabelledEnum,
    LearningResult,
    OrderedLevel,
    PassFail,
    RuleInputError,
    check_exemption,
    round1_ratio,
    validate_score,
)

_C, _L = Conduct, LearningResult
GRADINGS = (Grading.SCORE, Grading.COMMENT)  # TT22 grades a subject by scores or by comments


class Title(OrderedLevel):
    """Year title (danh hiệu, Điều 15). ``NONE`` is "computed: no title", unlike ``None``."""

    NONE = ("none", 0, "Không có danh hiệu", "No title")
    GIOI = ("hoc_sinh_gioi", 1, "Học sinh Giỏi", "Very good student")
    XUAT_SAC = ("hoc_sinh_xuat_sac", 2, "Học sinh Xuất sắc", "Excellent student")


class PromotionOutcome(LabelledEnum):
    PROMOTED = ("len_lop", "Được lên lớp", "Promoted")
    RETEST = ("kiem_tra_lai", "Kiểm tra lại", "Re-test")
    CONDUCT_TRAINING = ("ren_luyen_he", "Rèn luyện trong kì nghỉ hè", "Summer conduct training")
    HELD_BACK = ("o_lai_lop", "Ở lại lớp", "Held back")


@dataclass(frozen=True)
class LearningCriteria:
    """One rung of Điều 9: at most ``max_comment_fails`` comment subjects Chưa đạt, every scored
    subject ≥ ``every_min`` and at least ``high_count`` scored subjects ≥ ``high_min``."""

    level: LearningResult
    max_comment_fails: int
    every_min: Decimal
    high_min: Decimal
    high_count: int


@dataclass(frozen=True)
class TT22Rules:
    code: str = "TT22/2021"
    title_vi: str = "Thông tư 22/2021/TT-BGDĐT quy định về đánh giá học sinh THCS và THPT"
    levels: tuple[str, ...] = ("lower_secondary", "upper_secondary")
    # Subjects graded by comment only (Đạt / Chưa đạt); every other subject: comment and score.
    comment_graded_subjects: tuple[tuple[str, str], ...] = (
        ("giao_duc_the_chat", "Giáo dục thể chất"),
        ("am_nhac", "Âm nhạc"),
        ("mi_thuat", "Mĩ thuật"),
        ("hoat_dong_trai_nghiem_huong_nghiep", "Hoạt động trải nghiệm, hướng nghiệp"),
        ("noi_dung_giao_duc_dia_phuong", "Nội dung giáo dục địa phương"),
    )
    # (periods a year up to and including, regular assessments per semester); None = no upper bound.
    regular_assessment_bands: tuple[tuple[int | None, int], ...] = ((35, 2), (70, 3), (None, 4))
    regular_weight: int = 1
    midterm_weight: int = 2
    final_weight: int = 3
    semester_i_weight: int = 1
    semester_ii_weight: int = 2
    # Learning result rungs, best first; anything below the last rung is Chưa đạt.
    learning_criteria: tuple[LearningCriteria, ...] = (
        LearningCriteria(_L.TOT, 0, Decimal("6.5"), Decimal("8.0"), 6),
        LearningCriteria(_L.KHA, 0, Decimal("5.0"), Decimal("6.5"), 6),
        LearningCriteria(_L.DAT, 1, Decimal("3.5"), Decimal("5.0"), 6),
    )
    # Điều 9 adjustment: a single subject dragging the result this many levels (or more) below one
    # of these levels raises it by one level.
    adjustment_targets: tuple[LearningResult, ...] = (_L.TOT, _L.KHA)
    adjustment_min_drop: int = 2
    # Year conduct, (semester I, semester II) → year, all 16 combinations (Điều 8).
    conduct_year_table: tuple[tuple[Conduct, Conduct, Conduct], ...] = (
        (_C.TOT, _C.TOT, _C.TOT),
        (_C.KHA, _C.TOT, _C.TOT),
        (_C.DAT, _C.TOT, _C.KHA),
        (_C.CHUA_DAT, _C.TOT, _C.KHA),
        (_C.TOT, _C.KHA, _C.KHA),
        (_C.KHA, _C.KHA, _C.KHA),
        (_C.DAT, _C.KHA, _C.KHA),
        (_C.CHUA_DAT, _C.KHA, _C.DAT),
        (_C.TOT, _C.DAT, _C.KHA),
        (_C.KHA, _C.DAT, _C.DAT),
        (_C.DAT, _C.DAT, _C.DAT),
        (_C.CHUA_DAT, _C.DAT, _C.DAT),
        (_C.TOT, _C.CHUA_DAT, _C.CHUA_DAT),
        (_C.KHA, _C.CHUA_DAT, _C.CHUA_DAT),
        (_C.DAT, _C.CHUA_DAT, _C.CHUA_DAT),
        (_C.CHUA_DAT, _C.CHUA_DAT, _C.CHUA_DAT),
    )
    # Promotion (Điều 12).
    promotion_min_conduct: Conduct = _C.DAT
    promotion_min_learning: LearningResult = _L.DAT
    promotion_max_absences: int = 45  # excused or not, in the year
    retest_below: Decimal = Decimal("5.0")  # ĐTBmcn below this (or Chưa đạt) → re-test candidate
    # Titles (Điều 15).
    title_conduct: Conduct = _C.TOT
    title_learning: LearningResult = _L.TOT
    excellent_min_average: Decimal = Decimal("9.0")
    excellent_min_count: int = 6
    # Art. 10: the principal may exempt a student from the practical part of these subjects (their assessments are
    # then on theory); any subject may be exempted whole (a disabled student's exemptions under art. 11).
    practical_exemption_subjects: tuple[str, ...] = ("giao_duc_the_chat", "giao_duc_quoc_phong_an_ninh")

    # -- convenience: the rule set carries its functions, so a registry lookup is enough -------
    def semester_average(self, scores: SubjectScores, *, periods_per_year: int) -> Decimal | None:
        return semester_average(scores, periods_per_year=periods_per_year, rules=self)

    def year_average(self, semester_i: Decimal | None, semester_ii: Decimal | None) -> Decimal | None:
        return year_average(semester_i, semester_ii, rules=self)

    def learning_result(self, subjects: Sequence[SubjectResult]) -> LearningResult | None:
        return learning_result(subjects, rules=self)

    def year_conduct(self, semester_i: Conduct | None, semester_ii: Conduct | None) -> Conduct | None:
        return year_conduct(semester_i, semester_ii, rules=self)

    def check_exemption(self, exemption: Exemption) -> Exemption:
        return check_exemption(exemption, practical_subjects=self.practical_exemption_subjects)

    def grading_of(self, subject: str) -> Grading:
        codes = {code for code, _ in self.comment_graded_subjects}
        return Grading.COMMENT if subject in codes else Grading.SCORE


RULES = TT22Rules()


# ------------------------------------------------------------------------------------------ inputs


def _optional_score(value: object, field: str) -> Decimal | None:
    return None if value is None else validate_score(value, field=field)


@dataclass(frozen=True)
class SubjectScores:
    """One semester of a scored subject. Values are validated (0–10, ≤ 1 decimal) and normalised
    to ``Decimal`` with one place; a missing mid-term/end-of-term is ``None``, missing regular
    assessments are simply not in ``regular``."""

    regular: tuple[Decimal, ...] = ()
    midterm: Decimal | None = None
    final: Decimal | None = None

    def __post_init__(self) -> None:
        regular = tuple(validate_score(v, field=f"regular[{i}]") for i, v in enumerate(self.regular))
        object.__setattr__(self, "regular", regular)
        object.__setattr__(self, "midterm", _optional_score(self.midterm, "midterm"))
        object.__setattr__(self, "final", _optional_score(self.final, "final"))


@dataclass(frozen=True)
class CommentAssessments:
    """One semester of a comment-graded subject: each assessment Đạt / Chưa đạt."""

    regular: tuple[PassFail, ...] = ()
    midterm: PassFail | None = None
    final: PassFail | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "regular", tuple(self.regular))
        for value in (*self.regular, self.midterm, self.final):
            if value is not None and not isinstance(value, PassFail):
                raise RuleInputError(
                    "comment_invalid",
                    f"Đánh giá {value!r} phải là Đạt hoặc Chưa đạt.",
                    f"Assessment {value!r} must be Đạt or Chưa đạt (PassFail).",
                )


@dataclass(frozen=True)
class SubjectResult:
    """A subject's semester or year result, the input to the learning result, titles and promotion.
    Scored subjects carry ``average`` (ĐTBmhk or ĐTBmcn), comment subjects ``comment``; ``None``
    means not computed yet. Build with ``SubjectResult.scored`` / ``SubjectResult.commented``."""

    subject: str
    grading: Grading
    average: Decimal | None = None
    comment: PassFail | None = None

    def __post_init__(self) -> None:
        if not (self.grading is Grading.SCORE or self.grading is Grading.COMMENT):
            raise RuleInputError(
                "grading_invalid",
                f"Môn {self.subject}: Thông tư 22 đánh giá bằng điểm số hoặc bằng nhận xét.",
                f"Subject {self.subject}: TT22 grades by scores or by comments, not {self.grading!r}.",
                field=self.subject,
            )
        if self.grading is Grading.SCORE and self.comment is not None:
            raise RuleInputError(
                "result_kind_mismatch",
                f"Môn {self.subject} đánh giá bằng điểm số không có kết quả Đạt/Chưa đạt.",
                f"Scored subject {self.subject} cannot carry a Đạt/Chưa đạt result.",
                field=self.subject,
            )
        if self.grading is Grading.COMMENT and self.average is not None:
            raise RuleInputError(
                "result_kind_mismatch",
                f"Môn {self.subject} đánh giá bằng nhận xét không có điểm trung bình.",
                f"Comment-graded subject {self.subject} cannot carry an average.",
                field=self.subject,
            )
        if self.comment is not None and not isinstance(self.comment, PassFail):
            raise RuleInputError(
                "comment_invalid",
                f"Kết quả {self.comment!r} phải là Đạt hoặc Chưa đạt.",
                f"Result {self.comment!r} must be Đạt or Chưa đạt (PassFail).",
                field=self.subject,
            )
        object.__setattr__(self, "average", _optional_score(self.average, self.subject))

    @classmethod
    def scored(cls, subject: str, average: Decimal | int | str | None) -> SubjectResult:
        return cls(subject, Grading.SCORE, average=average)  # type: ignore[arg-type]

    @classmethod
    def commented(cls, subject: str, comment: PassFail | None) -> SubjectResult:
        return cls(subject, Grading.COMMENT, comment=comment)

    @property
    def is_complete(self) -> bool:
        return (self.average if self.grading is Grading.SCORE else self.comment) is not None


@dataclass(frozen=True)
class LearningAssessment:
    """The learning result with its explanation: ``unadjusted`` is the plain Điều 9 level; when the
    adjustment applied, ``adjusted_for`` names the single subject and ``would_be`` the level the
    student would have reached without it."""

    result: LearningResult
    unadjusted: LearningResult
    adjusted_for: str | None = None
    would_be: LearningResult | None = None


@dataclass(frozen=True)
class PromotionDecision:
    outcome: PromotionOutcome
    retest_subjects: tuple[str, ...] = ()
    too_many_absences: bool = False


# ----------------------------------------------------------------------------------- per subject


def regular_assessment_count(periods_per_year: int, *, rules: TT22Rules = RULES) -> int:
    """Regular assessments (ĐĐGtx) per semester: ≤ 35 periods a year → 2, 36–70 → 3, > 70 → 4."""
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int) or periods_per_year < 1:
        raise RuleInputError(
            "periods_invalid",
            f"Số tiết/năm {periods_per_year!r} phải là số nguyên dương.",
            f"Periods per year {periods_per_year!r} must be a positive integer.",
            field="periods_per_year",
        )
    for up_to, count in rules.regular_assessment_bands:
        if up_to is None or periods_per_year <= up_to:
            return count
    raise AssertionError("regular_assessment_bands must end with an open band (None)")


def semester_average(scores: SubjectScores, *, periods_per_year: int, rules: TT22Rules = RULES) -> Decimal | None:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (n_tx + 5), one place, half up.

    ``None`` while the mid-term, the end-of-term or any of the required regular assessments is
    missing. More regular assessments than the circular requires is an input error (reading: the
    counts are exact, not minimums).
    """
    required = regular_assessment_count(periods_per_year, rules=rules)
    if len(scores.regular) > required:
        raise RuleInputError(
            "too_many_regular",
            f"Có {len(scores.regular)} điểm đánh giá thường xuyên, quy định là {required}.",
            f"{len(scores.regular)} regular assessments given, the circular requires {required}.",
            field="regular",
        )
    if len(scores.regular) < required or scores.midterm is None or scores.final is None:
        return None
    total = (
        rules.regular_weight * sum(scores.regular, Decimal(0))
        + rules.midterm_weight * scores.midterm
        + rules.final_weight * scores.final
    )
    weight = rules.regular_weight * required + rules.midterm_weight + rules.final_weight
    return round1_ratio(total, weight)


def year_average(
    semester_i: Decimal | None,
    semester_ii: Decimal | None,
    *,
    exempt_terms: Collection[int] = frozenset(),
    rules: TT22Rules = RULES,
) -> Decimal | None:
    """ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3, one place, half up, from the (already rounded)
    semester averages. ``None`` while either semester is missing.

    A student exempted from the subject in one term (``exempt_terms``) has the other term's average as the year's
    (reading: only the assessed term can count); exempted in both, the subject has no year result (``None``, and it
    is left out of the learning result: see ``assess_learning``'s ``exempt``)."""
    first = _optional_score(semester_i, "semester_i")
    second = _optional_score(semester_ii, "semester_ii")
    if exempt_terms:
        if 1 in exempt_terms and 2 in exempt_terms:
            return None
        return second if 1 in exempt_terms else first
    if first is None or second is None:
        return None
    total = rules.semester_i_weight * first + rules.semester_ii_weight * second
    return round1_ratio(total, rules.semester_i_weight + rules.semester_ii_weight)


def comment_semester_result(
    assessments: CommentAssessments, *, periods_per_year: int, rules: TT22Rules = RULES
) -> PassFail | None:
    """Đạt when every required assessment (the regular ones, mid-term, end-of-term) is Đạt.

    ``None`` while any required assessment is missing — even if one given is already Chưa đạt
    (reading: nothing is recorded for a semester until it is complete)."""
    required = regular_assessment_count(periods_per_year, rules=rules)
    if len(assessments.regular) > required:
        raise RuleInputError(
            "too_many_regular",
            f"Có {len(assessments.regular)} lần đánh giá thường xuyên, quy định là {required}.",
            f"{len(assessments.regular)} regular assessments given, the circular requires {required}.",
            field="regular",
        )
    if len(assessments.regular) < required or assessments.midterm is None or assessments.final is None:
        return None
    every = (*assessments.regular, assessments.midterm, assessments.final)
    return PassFail.DAT if all(a is PassFail.DAT for a in every) else PassFail.CHUA_DAT


def comment_year_result(
    *, semester_ii: PassFail | None, semester_i: PassFail | None = None, exempt_terms: Collection[int] = frozenset()
) -> PassFail | None:
    """A comment-graded subject's year result is its semester II result; a student exempted from the subject in
    term II only has their term I result (reading, as ``year_average``), exempted in both terms none."""
    if 2 in exempt_terms:
        return None if 1 in exempt_terms else semester_i
    return semester_ii


# ------------------------------------------------------------------------------ learning result


def _check_subjects(subjects: Sequence[SubjectResult]) -> bool:
    """Validate the list; True when it is complete enough to compute."""
    seen: set[str] = set()
    for result in subjects:
        if not isinstance(result, SubjectResult):
            raise TypeError(f"expected SubjectResult, got {type(result).__name__}")
        if result.subject in seen:
            raise RuleInputError(
                "duplicate_subject",
                f"Môn {result.subject} xuất hiện hai lần.",
                f"Subject {result.subject} appears twice.",
                field=result.subject,
            )
        seen.add(result.subject)
    return bool(subjects) and all(result.is_complete for result in subjects)


def _meets(criteria: LearningCriteria, averages: Sequence[Decimal], comment_fails: int) -> bool:
    return (
        comment_fails <= criteria.max_comment_fails
        and all(a >= criteria.every_min for a in averages)
        and sum(1 for a in averages if a >= criteria.high_min) >= criteria.high_count
    )


def _plain_level(subjects: Sequence[SubjectResult], rules: TT22Rules) -> LearningResult:
    averages = [s.average for s in subjects if s.grading is Grading.SCORE]
    comment_fails = sum(1 for s in subjects if s.comment is PassFail.CHUA_DAT)
    for criteria in rules.learning_criteria:
        if _meets(criteria, averages, comment_fails):  # type: ignore[arg-type]
            return criteria.level
    return LearningResult.CHUA_DAT


def _neutralised(result: SubjectResult, criteria: LearningCriteria) -> SubjectResult:
    if result.grading is Grading.COMMENT:
        return replace(result, comment=PassFail.DAT)
    return replace(result, average=max(result.average, criteria.every_min))  # type: ignore[type-var]


def assessed(subjects: Sequence[SubjectResult], exempt: Collection[str]) -> list[SubjectResult]:
    """The subjects the student is assessed in: those exempted whole (``exempt``, subject codes) are left out."""
    return [s for s in subjects if s.subject not in exempt] if exempt else list(subjects)


def assess_learning(
    subjects: Sequence[SubjectResult], *, exempt: Collection[str] = frozenset(), rules: TT22Rules = RULES
) -> LearningAssessment | None:
    """Learning result of a semester or of the year (Điều 9), with the adjustment, explained.

    Plain level, best rung first: Tốt, Khá, Đạt (see ``rules.learning_criteria``), else Chưa đạt.

    Adjustment — reading of "if one single subject drags the result two or more levels below Tốt
    or Khá, raise it by one level": for a target level L in (Tốt, Khá) and each subject S, the
    subject is *neutralised* for L — a scored subject below L's per-subject floor (6.5 for Tốt,
    5.0 for Khá) is lifted exactly to that floor, a comment subject Chưa đạt becomes Đạt; every
    other subject is unchanged. If the plain level of that neutralised list is ≥ L while the actual
    plain level is at least two levels below L, the result is the actual level raised by one. So
    S must be the *only* obstacle, and only by being too low: neutralising never lets S count
    towards "at least 6 subjects ≥ 8.0 / ≥ 6.5", which the other subjects must satisfy on their own.
    Cases: Tốt→Đạt becomes Khá, Tốt→Chưa đạt becomes Đạt, Khá→Chưa đạt becomes Đạt; Khá→Đạt
    (one level) is not adjusted. The adjustment is applied once and never reaches Tốt.

    ``exempt``: the codes of the subjects the student is exempted from for the period (miễn học): they are not
    assessed and left out of every count above (their result, missing, does not hold the result back).

    ``None`` if the list is empty or any subject result is missing.
    """
    subjects = assessed(subjects, exempt)
    if not _check_subjects(subjects):
        return None
    plain = _plain_level(subjects, rules)
    for criteria in rules.learning_criteria:
        if criteria.level not in rules.adjustment_targets:
            continue
        if plain.levels_below(criteria.level) < rules.adjustment_min_drop:
            continue
        for index, subject in enumerate(subjects):
            trial = list(subjects)
            trial[index] = _neutralised(subject, criteria)
            would_be = _plain_level(trial, rules)
            if would_be >= criteria.level:
                return LearningAssessment(plain.raised(), plain, subject.subject, would_be)
    return LearningAssessment(plain, plain)


def learning_result(
    subjects: Sequence[SubjectResult], *, exempt: Collection[str] = frozenset(), rules: TT22Rules = RULES
) -> LearningResult | None:
    """The (adjusted) learning result; see ``assess_learning``."""
    assessment = assess_learning(subjects, exempt=exempt, rules=rules)
    return None if assessment is None else assessment.result


# ------------------------------------------------------------------------------ conduct, titles


def year_conduct(
    semester_i: Conduct | None, semester_ii: Conduct | None, *, rules: TT22Rules = RULES
) -> Conduct | None:
    """Year conduct from the two semesters, looked up in ``rules.conduct_year_table``."""
    if semester_i is None or semester_ii is None:
        return None
    for first, second, year in rules.conduct_year_table:
        if first is semester_i and second is semester_ii:
            return year
    raise RuleInputError(
        "conduct_invalid",
        f"Kết quả rèn luyện {semester_i!r}/{semester_ii!r} không hợp lệ.",
        f"Conduct {semester_i!r}/{semester_ii!r} is not a valid pair of Conduct levels.",
    )


def year_title(
    *,
    conduct: Conduct | None,
    learning: LearningResult | None,
    subjects: Sequence[SubjectResult],
    exempt: Collection[str] = frozenset(),
    rules: TT22Rules = RULES,
) -> Title | None:
    """Học sinh Xuất sắc: year conduct Tốt, year learning Tốt and at least 6 subjects with
    ĐTBmcn ≥ 9.0; Học sinh Giỏi: conduct Tốt and learning Tốt; otherwise ``Title.NONE``.
    ``None`` while conduct, learning or a subject's year result is missing. Subjects exempted for the year
    (``exempt``) are left out."""
    subjects = assessed(subjects, exempt)
    if conduct is None or learning is None or not _check_subjects(subjects):
        return None
    if conduct < rules.title_conduct or learning < rules.title_learning:
        return Title.NONE
    high = sum(
        1
        for s in subjects
        if s.grading is Grading.SCORE and s.average >= rules.excellent_min_average  # type: ignore[operator]
    )
    return Title.XUAT_SAC if high >= rules.excellent_min_count else Title.GIOI


# ------------------------------------------------------------------------------------ promotion


def _check_absences(absences: int, rules: TT22Rules) -> None:
    if isinstance(absences, bool) or not isinstance(absences, int) or absences < 0:
        raise RuleInputError(
            "absences_invalid",
            f"Số buổi nghỉ {absences!r} phải là số nguyên không âm.",
            f"Absences {absences!r} must be a non-negative integer.",
            field="absences",
        )


def promotion_decision(
    *,
    conduct: Conduct | None,
    learning: LearningResult | None,
    absences: int | None,
    subjects: Sequence[SubjectResult],
    exempt: Collection[str] = frozenset(),
    rules: TT22Rules = RULES,
) -> PromotionDecision | None:
    """End-of-year promotion (Điều 12) from the year conduct, year learning result, absences
    (excused or not) and the year subject results.

    - promoted: conduct ≥ Đạt, learning ≥ Đạt and absences ≤ 45;
    - absences > 45: held back outright (reading: a re-test or summer training cannot make up for
      absences; DOMAIN.md is silent, the circular lists it as a separate reason to repeat the year);
    - conduct Chưa đạt: summer conduct training; if learning is also below Đạt, ``retest_subjects``
      already lists the subjects to re-test should the training lift conduct to Đạt (a re-test
      requires conduct ≥ Đạt);
    - otherwise (conduct ≥ Đạt, learning Chưa đạt): re-test, ``retest_subjects`` = scored subjects
      with ĐTBmcn < 5.0 and comment subjects Chưa đạt, in input order (the candidates from which
      the student's re-test subjects are chosen).

    Subjects exempted for the year (``exempt``) are left out: never re-tested, never blocking.

    The results after re-test / training decide: see ``promotion_after_summer``.
    """
    subjects = assessed(subjects, exempt)
    if absences is not None:
        _check_absences(absences, rules)
    if conduct is None or learning is None or absences is None or not _check_subjects(subjects):
        return None
    if absences > rules.promotion_max_absences:
        return PromotionDecision(PromotionOutcome.HELD_BACK, too_many_absences=True)
    if conduct >= rules.promotion_min_conduct and learning >= rules.promotion_min_learning:
        return PromotionDecision(PromotionOutcome.PROMOTED)
    retest: tuple[str, ...] = ()
    if learning < rules.promotion_min_learning:
        retest = tuple(
            s.subject
            for s in subjects
            if s.comment is PassFail.CHUA_DAT or (s.grading is Grading.SCORE and s.average < rules.retest_below)  # type: ignore[operator]
        )
    if conduct < rules.promotion_min_conduct:
        return PromotionDecision(PromotionOutcome.CONDUCT_TRAINING, retest)
    return PromotionDecision(PromotionOutcome.RETEST, retest)


def promotion_after_summer(
    *,
    conduct: Conduct | None,
    learning: LearningResult | None,
    absences: int | None,
    rules: TT22Rules = RULES,
) -> PromotionDecision | None:
    """Final decision once the re-test and/or summer training that applied are recorded: the year
    conduct and learning recomputed with those results either both reach Đạt (with ≤ 45
    absences) — promoted — or the student is held back."""
    if absences is not None:
        _check_absences(absences, rules)
    if conduct is None or learning is None or absences is None:
        return None
    if absences > rules.promotion_max_absences:
        return PromotionDecision(PromotionOutcome.HELD_BACK, too_many_absences=True)
    if conduct >= rules.promotion_min_conduct and learning >= rules.promotion_min_learning:
        return PromotionDecision(PromotionOutcome.PROMOTED)
    return PromotionDecision(PromotionOutcome.HELD_BACK)


# ------------------------------------------------------------------- after re-test and training


@dataclass(frozen=True)
class YearEndOutcome:
    """The end-of-year decision and, once recorded, what the re-test and/or summer training decide.

    ``decision`` is Điều 12's decision from the year's results; ``final`` the decision once every
    step it calls for is recorded (``None`` while one is still ``pending``: "training", "retest");
    ``learning_after_retest`` the year learning recomputed with the re-test results."""

    decision: PromotionDecision
    final: PromotionDecision | None
    pending: tuple[str, ...] = ()
    learning_after_retest: LearningResult | None = None
    retest_chosen: tuple[str, ...] = ()


def validate_retest(
    subjects: Sequence[SubjectResult], retest: Mapping[str, object], *, candidates: Sequence[str]
) -> dict[str, Decimal | PassFail]:
    """Re-test results by subject code: a score 0–10 (one decimal) for a scored subject, ``PassFail``
    (or "D"/"CD") for a comment-graded one; only the re-test candidates may be given."""
    gradings = {s.subject: s.grading for s in subjects}
    out: dict[str, Decimal | PassFail] = {}
    for code, value in retest.items():
        if code not in candidates:
            raise RuleInputError(
                "retest_not_candidate",
                f"Môn {code} không thuộc các môn phải kiểm tra lại.",
                f"{code} is not one of the subjects to re-test.",
                field=code,
            )
        if gradings.get(code) is Grading.COMMENT:
            verdict = value if isinstance(value, PassFail) else _RETEST_VERDICTS.get(str(value).strip().upper())
            if verdict is None:
                raise RuleInputError(
                    "retest_verdict_invalid",
                    f"Kết quả kiểm tra lại môn {code} phải là Đạt (Đ) hoặc Chưa đạt (CĐ).",
                    f"The re-test result of {code} must be Đạt (D) or Chưa đạt (CD).",
                    field=code,
                )
            out[code] = verdict
        else:
            out[code] = validate_score(
                str(value).strip().replace(",", ".") if isinstance(value, str) else value, field=code
            )
    return out


_RETEST_VERDICTS = {
    "D": PassFail.DAT,
    "Đ": PassFail.DAT,
    "ĐẠT": PassFail.DAT,
    "DAT": PassFail.DAT,
    "CD": PassFail.CHUA_DAT,
    "CĐ": PassFail.CHUA_DAT,
    "CHƯA ĐẠT": PassFail.CHUA_DAT,
    "CHUA_DAT": PassFail.CHUA_DAT,
}


def learning_after_retest(
    subjects: Sequence[SubjectResult], retest: Mapping[str, Decimal | PassFail], *, rules: TT22Rules = RULES
) -> LearningAssessment | None:
    """The year learning result recomputed with the re-test results in place of the re-tested
    subjects' year results (ĐTBmcn, or Đạt/Chưa đạt for a comment-graded subject)."""
    replaced = [
        (
            replace(s, comment=retest[s.subject])
            if s.grading is Grading.COMMENT
            else replace(s, average=retest[s.subject])
        )
        if s.subject in retest
        else s
        for s in subjects
    ]
    return assess_learning(replaced, rules=rules)


def year_end_outcome(
    *,
    conduct: Conduct | None,
    learning: LearningResult | None,
    absences: int | None,
    subjects: Sequence[SubjectResult],
    training_passed: bool | None = None,
    retest: Mapping[str, object] | None = None,
    chosen: Sequence[str] | None = None,
    exempt: Collection[str] = frozenset(),
    rules: TT22Rules = RULES,
) -> YearEndOutcome | None:
    """Điều 12 decision, then what the recorded re-test and summer training decide.

    - promoted / held back for absences: final at once;
    - summer conduct training: not recorded → pending; failed → held back; passed → conduct counts
      as Đạt (reading: the training re-assesses conduct at Đạt), and if learning is still below Đạt
      the re-test follows;
    - re-test (Điều 12.1: the student chooses some of the failing subjects to re-test): ``chosen``
      names them (``None``: no choice recorded, every candidate counts as chosen); pending until
      every chosen subject has a result; an un-chosen subject keeps its year result; the learning
      result is then recomputed (``learning_after_retest``) and ``promotion_after_summer`` decides.
      None chosen decides at once on the year's results. A result for a subject not chosen is an
      input error. ``None`` while the Điều 12 decision cannot be computed.
    Subjects exempted for the year (``exempt``) are left out of every step."""
    subjects = assessed(subjects, exempt)
    decision = promotion_decision(conduct=conduct, learning=learning, absences=absences, subjects=subjects, rules=rules)
    if decision is None:
        return None
    if decision.outcome in (PromotionOutcome.PROMOTED, PromotionOutcome.HELD_BACK):
        return YearEndOutcome(decision, decision)
    assert conduct is not None and learning is not None and absences is not None
    conduct_after = conduct
    if decision.outcome is PromotionOutcome.CONDUCT_TRAINING:
        if training_passed is None:
            return YearEndOutcome(decision, None, ("training",) + (("retest",) if decision.retest_subjects else ()))
        if not training_passed:
            return YearEndOutcome(decision, PromotionDecision(PromotionOutcome.HELD_BACK, decision.retest_subjects))
        conduct_after = max(conduct, rules.promotion_min_conduct)
        if learning >= rules.promotion_min_learning:
            return YearEndOutcome(
                decision,
                promotion_after_summer(conduct=conduct_after, learning=learning, absences=absences, rules=rules),
            )
    if not decision.retest_subjects:  # nothing a re-test could change
        return YearEndOutcome(
            decision, promotion_after_summer(conduct=conduct_after, learning=learning, absences=absences, rules=rules)
        )
    picked = validate_retest_choice(chosen, candidates=decision.retest_subjects)
    results = validate_retest(subjects, retest or {}, candidates=decision.retest_subjects)
    for code in results:
        if code not in picked:
            raise RuleInputError(
                "retest_not_chosen",
                f"Môn {code} có kết quả kiểm tra lại nhưng không được chọn để kiểm tra lại.",
                f"{code} has a re-test result but was not chosen for the re-test.",
                field=code,
            )
    if any(code not in results for code in picked):
        return YearEndOutcome(decision, None, ("retest",), retest_chosen=picked)
    assessment = learning_after_retest(subjects, results, rules=rules)
    learning_after = assessment.result if assessment else None
    final = promotion_after_summer(conduct=conduct_after, learning=learning_after, absences=absences, rules=rules)
    if final is not None and final.outcome is PromotionOutcome.HELD_BACK:
        final = PromotionDecision(PromotionOutcome.HELD_BACK, decision.retest_subjects)
    return YearEndOutcome(decision, final, (), learning_after, picked)


def validate_retest_choice(chosen: Sequence[str] | None, *, candidates: Sequence[str]) -> tuple[str, ...]:
    """The subjects chosen for the re-test, in the candidates' order; ``None`` (no choice recorded) chooses
    every candidate. A subject that is not a candidate, or named twice, is an input error."""
    if chosen is None:
        return tuple(candidates)
    if isinstance(chosen, str) or len(set(chosen)) != len(chosen):
        raise RuleInputError(
            "retest_choice_invalid",
            "Danh sách môn chọn kiểm tra lại không hợp lệ (mỗi môn một lần).",
            "The subjects chosen for the re-test are not a list of distinct subject codes.",
            field="chosen",
        )
    for code in chosen:
        if code not in candidates:
            raise RuleInputError(
                "retest_not_candidate",
                f"Môn {code} không thuộc các môn phải kiểm tra lại.",
                f"{code} is not one of the subjects to re-test.",
                field=code,
            )
    return tuple(code for code in candidates if code in chosen)
