"""TT22/2021 (secondary) — one table per clause of DOMAIN.md. No database, no Django."""

import dataclasses
from decimal import Decimal

import pytest

from schools.rules import tt22
from schools.rules.common import RuleInputError
from schools.rules.tt22 import (
    RULES,
    CommentAssessments,
    Conduct,
    Grading,
    LearningResult,
    PassFail,
    PromotionOutcome,
    SubjectResult,
    SubjectScores,
    Title,
    assess_learning,
    comment_semester_result,
    comment_year_result,
    learning_result,
    promotion_after_summer,
    promotion_decision,
    regular_assessment_count,
    semester_average,
    year_average,
    year_conduct,
    year_title,
)

D = Decimal
T, K, DA, CD = LearningResult.TOT, LearningResult.KHA, LearningResult.DAT, LearningResult.CHUA_DAT
DAT, CHUA = PassFail.DAT, PassFail.CHUA_DAT


def subjects(averages, comments=(DAT, DAT, DAT, DAT)):
    """Scored subjects s1..sn with the given averages plus comment subjects c1..cm."""
    scored = [SubjectResult.scored(f"s{i}", D(str(a))) for i, a in enumerate(averages, start=1)]
    commented = [SubjectResult.commented(f"c{i}", grade) for i, grade in enumerate(comments, start=1)]
    return scored + commented


# ------------------------------------------------------------------ regular assessments, averages


@pytest.mark.parametrize(
    ("periods", "count"),
    [(1, 2), (35, 2), (36, 3), (52, 3), (70, 3), (71, 4), (105, 4), (140, 4)],
)
def test_regular_assessment_count_by_periods_per_year(periods, count):
    assert regular_assessment_count(periods) == count


@pytest.mark.parametrize("periods", [0, -35, True, "70", 70.0])
def test_regular_assessment_count_rejects_bad_periods(periods):
    with pytest.raises(RuleInputError) as caught:
        regular_assessment_count(periods)
    assert caught.value.code == "periods_invalid"


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "periods", "expected"),
    [
        # (7 + 8 + 2·6 + 3·9) / 7 = 54/7 = 7.714…
        (("7", "8"), "6", "9", 35, D("7.7")),
        # (6.8·3 + 2·5 + 3·6) / 8 = 48.4/8 = 6.05 exactly → 6.1 (half up)
        (("6.8", "6.8", "6.8"), "5", "6", 70, D("6.1")),
        # (8 + 9 + 7 + 10 + 2·8.5 + 3·7.5) / 9 = 73.5/9 = 8.166…
        (("8", "9", "7", "10"), "8.5", "7.5", 105, D("8.2")),
        (("10", "10"), "10", "10", 35, D("10.0")),
        (("0", "0"), "0", "0", 35, D("0.0")),
    ],
)
def test_semester_average_formula(regular, midterm, final, periods, expected):
    scores = SubjectScores(tuple(D(v) for v in regular), D(midterm), D(final))
    result = semester_average(scores, periods_per_year=periods)
    assert result == expected
    assert result.as_tuple().exponent == -1
    assert RULES.semester_average(scores, periods_per_year=periods) == expected


@pytest.mark.parametrize(
    "scores",
    [
        SubjectScores((D(7), D(8)), None, D(9)),  # no mid-term yet
        SubjectScores((D(7), D(8)), D(6), None),  # no end-of-term yet
        SubjectScores((D(7),), D(6), D(9)),  # one regular assessment still missing
        SubjectScores(),
    ],
)
def test_semester_average_is_none_while_incomplete(scores):
    assert semester_average(scores, periods_per_year=35) is None


def test_semester_average_rejects_more_regular_assessments_than_required():
    scores = SubjectScores((D(7), D(8), D(9)), D(6), D(9))
    with pytest.raises(RuleInputError) as caught:
        semester_average(scores, periods_per_year=35)
    assert caught.value.code == "too_many_regular"


@pytest.mark.parametrize(
    ("semester_i", "semester_ii", "expected"),
    [
        ("6.0", "7.0", D("6.7")),  # 20/3 = 6.666…
        ("8.5", "5.2", D("6.3")),  # 18.9/3
        ("7.0", "8.0", D("7.7")),  # 23/3 = 7.666…
        ("9.0", "9.0", D("9.0")),
        ("4.9", "5.1", D("5.0")),  # 15.1/3 = 5.033…
    ],
)
def test_year_average_weights_semester_two_double(semester_i, semester_ii, expected):
    assert year_average(D(semester_i), D(semester_ii)) == expected


def test_year_average_none_while_a_semester_is_missing():
    assert year_average(None, D("7.0")) is None
    assert year_average(D("7.0"), None) is None


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("final", 11, "score_out_of_range"),
        ("final", -1, "score_out_of_range"),
        ("midterm", D("8.555"), "score_too_many_decimals"),
        ("midterm", D("7.25"), "score_too_many_decimals"),
        ("regular", (D(7), D("10.5")), "score_out_of_range"),
        ("regular", (8.5,), "not_a_decimal"),
    ],
)
def test_subject_scores_validation(field, value, code):
    with pytest.raises(RuleInputError) as caught:
        SubjectScores(**{field: value})
    assert caught.value.code == code


def test_subject_scores_normalised_to_decimal_one_place():
    scores = SubjectScores([7, "8,5"], D("6.50"), "9")
    assert scores.regular == (D("7.0"), D("8.5"))
    assert scores.midterm == D("6.5") and scores.final == D("9.0")
    assert isinstance(scores.regular, tuple)


def test_year_average_validates_its_inputs():
    with pytest.raises(RuleInputError):
        year_average(D("11"), D("7"))
    with pytest.raises(RuleInputError):
        year_average(D("7.55"), D("7"))


# --------------------------------------------------------------------- comment-graded subjects


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "expected"),
    [
        ((DAT, DAT), DAT, DAT, DAT),
        ((DAT, CHUA), DAT, DAT, CHUA),
        ((DAT, DAT), CHUA, DAT, CHUA),
        ((DAT, DAT), DAT, CHUA, CHUA),
        ((DAT,), DAT, DAT, None),  # a required regular assessment is missing
        ((DAT, DAT), None, DAT, None),
        ((DAT, DAT), DAT, None, None),
        ((CHUA,), DAT, None, None),  # not computed until complete
    ],
)
def test_comment_semester_result(regular, midterm, final, expected):
    result = comment_semester_result(CommentAssessments(regular, midterm, final), periods_per_year=35)
    assert result is expected


def test_comment_semester_needs_three_regular_for_36_to_70_periods():
    two = CommentAssessments((DAT, DAT), DAT, DAT)
    assert comment_semester_result(two, periods_per_year=70) is None
    three = CommentAssessments((DAT, DAT, DAT), DAT, DAT)
    assert comment_semester_result(three, periods_per_year=70) is DAT
    with pytest.raises(RuleInputError):
        comment_semester_result(three, periods_per_year=35)


def test_comment_assessments_reject_non_pass_fail():
    with pytest.raises(RuleInputError) as caught:
        CommentAssessments(("Đạt",), DAT, DAT)
    assert caught.value.code == "comment_invalid"


@pytest.mark.parametrize(("semester_ii", "expected"), [(DAT, DAT), (CHUA, CHUA), (None, None)])
def test_comment_year_equals_semester_two(semester_ii, expected):
    assert comment_year_result(semester_ii=semester_ii) is expected


def test_comment_graded_subjects_are_data():
    for code in (
        "giao_duc_the_chat",
        "am_nhac",
        "mi_thuat",
        "hoat_dong_trai_nghiem_huong_nghiep",
        "noi_dung_giao_duc_dia_phuong",
    ):
        assert RULES.grading_of(code) is Grading.COMMENT
    assert RULES.grading_of("toan") is Grading.SCORE


def test_subject_result_kind_is_checked():
    with pytest.raises(RuleInputError):
        SubjectResult("toan", Grading.SCORE, average=D(7), comment=DAT)
    with pytest.raises(RuleInputError):
        SubjectResult("am_nhac", Grading.COMMENT, average=D(7))
    with pytest.raises(RuleInputError) as caught:
        SubjectResult("toan", Grading.LEVEL)
    assert caught.value.code == "grading_invalid"
    with pytest.raises(RuleInputError) as caught:
        SubjectResult.scored("toan", D("10.5"))
    assert caught.value.code == "score_out_of_range"


# ----------------------------------------------------------------------------- learning result


LEARNING_TABLE = [
    # Tốt: all comment Đạt, every scored ≥ 6.5, at least 6 ≥ 8.0 (boundaries exactly)
    ("tot_at_boundaries", [8.0] * 6 + [6.5] * 2, (DAT,) * 4, T),
    ("tot_all_high", [9.5] * 10, (DAT,) * 4, T),
    ("tot_fails_one_at_6_4_gives_kha", [8.0] * 6 + [6.5, 6.4], (DAT,) * 4, K),
    ("tot_fails_only_five_at_8_gives_kha", [8.0] * 5 + [7.9] * 3, (DAT,) * 4, K),
    # Khá: all comment Đạt, every scored ≥ 5.0, at least 6 ≥ 6.5
    ("kha_at_boundaries", [6.5] * 6 + [5.0] * 2, (DAT,) * 4, K),
    ("kha_fails_one_at_4_9_gives_dat", [6.5] * 6 + [5.0, 4.9], (DAT,) * 4, DA),
    ("kha_fails_only_five_at_6_5_gives_dat", [6.5] * 5 + [6.4] * 3, (DAT,) * 4, DA),
    ("kha_level_scores_one_comment_fail_gives_dat", [7.0] * 8, (DAT, DAT, DAT, CHUA), DA),
    # Đạt: at most one comment Chưa đạt, at least 6 ≥ 5.0, none < 3.5
    ("dat_at_boundaries", [5.0] * 6 + [3.5] * 2, (DAT,) * 4, DA),
    ("dat_fails_one_at_3_4", [5.0] * 6 + [3.5, 3.4], (DAT,) * 4, CD),
    ("dat_fails_only_five_at_5_0", [5.0] * 5 + [4.9] * 3, (DAT,) * 4, CD),
    ("dat_fails_two_comment_fails", [5.0] * 8, (DAT, DAT, CHUA, CHUA), CD),
    ("chua_dat_everything_low", [2.0] * 8, (CHUA,) * 4, CD),
    # fewer than six scored subjects can never reach the "at least 6" counts
    ("five_subjects_all_ten", [10.0] * 5, (DAT,) * 4, CD),
]


@pytest.mark.parametrize(
    ("averages", "comments", "expected"),
    [row[1:] for row in LEARNING_TABLE],
    ids=[row[0] for row in LEARNING_TABLE],
)
def test_learning_result_levels_and_boundaries(averages, comments, expected):
    assert learning_result(subjects(averages, comments)) is expected


ADJUSTMENT_TABLE = [
    # (id, averages, comments, plain level, adjusted level, subject that dragged it)
    # Tốt → Đạt only because of s8 (4.0 < 5.0): raised to Khá
    ("tot_dragged_to_dat", [8.0] * 6 + [7.0, 4.0], (DAT,) * 4, DA, K, "s8"),
    # Tốt → Chưa đạt only because of s8 (3.0 < 3.5): raised to Đạt
    ("tot_dragged_to_chua_dat", [8.0] * 6 + [7.0, 3.0], (DAT,) * 4, CD, DA, "s8"),
    # Khá → Chưa đạt only because of s8: raised to Đạt
    ("kha_dragged_to_chua_dat", [6.5] * 6 + [5.0, 3.0], (DAT,) * 4, CD, DA, "s8"),
    # Tốt → Đạt only because of one comment subject Chưa đạt: raised to Khá
    ("tot_dragged_by_comment_subject", [9.0] * 8, (DAT, CHUA, DAT, DAT), DA, K, "c2"),
    # no 8.0s but all ≥ 6.5 except s8: Khá → Chưa đạt, raised to Đạt via the Khá rung
    ("count_met_by_others_only_for_kha", [8.0] * 5 + [7.9, 7.9, 3.0], (DAT,) * 4, CD, DA, "s8"),
]


@pytest.mark.parametrize(
    ("averages", "comments", "plain", "adjusted", "culprit"),
    [row[1:] for row in ADJUSTMENT_TABLE],
    ids=[row[0] for row in ADJUSTMENT_TABLE],
)
def test_learning_adjustment_raises_one_level(averages, comments, plain, adjusted, culprit):
    assessment = assess_learning(subjects(averages, comments))
    assert assessment.unadjusted is plain
    assert assessment.result is adjusted
    assert assessment.adjusted_for == culprit
    assert assessment.would_be >= LearningResult.KHA


NO_ADJUSTMENT_TABLE = [
    # Khá → Đạt is only one level below: not adjusted
    ("kha_to_dat_is_one_level", [6.5] * 6 + [5.0, 4.0], (DAT,) * 4, DA),
    # two subjects drag it down: not "one single subject"
    ("two_low_subjects", [8.0] * 6 + [3.0, 3.0], (DAT,) * 4, CD),
    ("two_comment_fails", [9.0] * 8, (DAT, CHUA, CHUA, DAT), CD),
    ("one_low_one_comment_fail", [8.0] * 7 + [3.0], (DAT, CHUA, DAT, DAT), CD),
    # reading: the culprit is neutralised to the rung's floor, it never counts towards "at least 6":
    # with only five others ≥ 8.0 (and nothing else) neither Tốt nor Khá is reachable
    ("culprit_does_not_fill_the_count", [8.0] * 5 + [3.0], (DAT,) * 4, CD),
    ("already_tot", [8.0] * 8, (DAT,) * 4, T),
]


@pytest.mark.parametrize(
    ("averages", "comments", "expected"),
    [row[1:] for row in NO_ADJUSTMENT_TABLE],
    ids=[row[0] for row in NO_ADJUSTMENT_TABLE],
)
def test_learning_adjustment_does_not_apply(averages, comments, expected):
    assessment = assess_learning(subjects(averages, comments))
    assert assessment.result is expected
    assert assessment.unadjusted is expected
    assert assessment.adjusted_for is None


def test_learning_result_is_the_same_rule_for_the_year():
    year_subjects = [SubjectResult.scored(f"s{i}", year_average(D("9.0"), D("8.0"))) for i in range(6)] + [
        SubjectResult.scored("s7", year_average(D("3.0"), D("4.5")))
    ]  # 4.0
    assert learning_result(year_subjects) is K  # Tốt dragged to Đạt by s7 alone


def test_learning_result_none_while_incomplete():
    incomplete = subjects([8.0] * 8) + [SubjectResult.scored("toan", None)]
    assert learning_result(incomplete) is None
    assert learning_result(subjects([8.0] * 8) + [SubjectResult.commented("am_nhac", None)]) is None
    assert learning_result([]) is None


def test_learning_result_rejects_duplicate_subjects():
    with pytest.raises(RuleInputError) as caught:
        learning_result(subjects([8.0] * 8) + [SubjectResult.scored("s1", D(8))])
    assert caught.value.code == "duplicate_subject"


# ------------------------------------------------------------------------------------ conduct

Ct, Ck, Cd, Cc = Conduct.TOT, Conduct.KHA, Conduct.DAT, Conduct.CHUA_DAT

CONDUCT_TABLE = [
    # (semester I, semester II, year)
    (Ct, Ct, Ct), (Ck, Ct, Ct), (Cd, Ct, Ck), (Cc, Ct, Ck),
    (Ct, Ck, Ck), (Ck, Ck, Ck), (Cd, Ck, Ck), (Cc, Ck, Cd),
    (Ct, Cd, Ck), (Ck, Cd, Cd), (Cd, Cd, Cd), (Cc, Cd, Cd),
    (Ct, Cc, Cc), (Ck, Cc, Cc), (Cd, Cc, Cc), (Cc, Cc, Cc),
]  # fmt: skip


@pytest.mark.parametrize(
    ("semester_i", "semester_ii", "expected"),
    CONDUCT_TABLE,
    ids=[f"I={i.code}-II={ii.code}" for i, ii, _ in CONDUCT_TABLE],
)
def test_year_conduct_all_sixteen_combinations(semester_i, semester_ii, expected):
    assert year_conduct(semester_i, semester_ii) is expected
    assert RULES.year_conduct(semester_i, semester_ii) is expected


def _domain_clauses(i, ii):
    """DOMAIN.md's wording, transcribed independently of the rule table."""
    if ii is Ct and i >= Ck:
        return Ct
    if (ii is Ck and i >= Cd) or (ii is Cd and i is Ct) or (ii is Ct and i in (Cd, Cc)):
        return Ck
    if (ii is Cd and i in (Ck, Cd, Cc)) or (ii is Ck and i is Cc):
        return Cd
    return Cc


def test_conduct_table_matches_domain_wording_and_is_complete():
    assert len(CONDUCT_TABLE) == 16
    assert {(i, ii) for i, ii, _ in RULES.conduct_year_table} == {(i, ii) for i in Conduct for ii in Conduct}
    for i in Conduct:
        for ii in Conduct:
            assert year_conduct(i, ii) is _domain_clauses(i, ii)


def test_year_conduct_none_while_a_semester_is_missing():
    assert year_conduct(None, Ct) is None
    assert year_conduct(Ct, None) is None


def test_year_conduct_rejects_non_conduct_values():
    with pytest.raises(RuleInputError):
        year_conduct(LearningResult.TOT, Ct)


# ------------------------------------------------------------------------------------- titles


def year_subjects(high_count, other="8.5", comments=(DAT, DAT, DAT, DAT)):
    return subjects([9.0] * high_count + [other] * (8 - high_count), comments)


@pytest.mark.parametrize(
    ("conduct", "learning", "high_count", "expected"),
    [
        (Ct, T, 6, Title.XUAT_SAC),  # exactly 6 subjects at 9.0
        (Ct, T, 8, Title.XUAT_SAC),
        (Ct, T, 5, Title.GIOI),
        (Ct, T, 0, Title.GIOI),
        (Ck, T, 8, Title.NONE),  # conduct not Tốt
        (Ct, K, 8, Title.NONE),  # learning not Tốt
        (Cd, DA, 0, Title.NONE),
    ],
)
def test_titles(conduct, learning, high_count, expected):
    assert year_title(conduct=conduct, learning=learning, subjects=year_subjects(high_count)) is expected


def test_title_counts_averages_at_or_above_9_0_only():
    five_and_8_9 = subjects([9.0] * 5 + [8.9] * 3)
    assert year_title(conduct=Ct, learning=T, subjects=five_and_8_9) is Title.GIOI
    assert Title.XUAT_SAC.label_vi == "Học sinh Xuất sắc" and Title.GIOI.label_vi == "Học sinh Giỏi"


def test_title_none_while_incomplete():
    assert year_title(conduct=None, learning=T, subjects=year_subjects(8)) is None
    assert year_title(conduct=Ct, learning=None, subjects=year_subjects(8)) is None
    missing = year_subjects(8) + [SubjectResult.scored("toan", None)]
    assert year_title(conduct=Ct, learning=T, subjects=missing) is None


# ---------------------------------------------------------------------------------- promotion


def promote(conduct, learning, absences, subject_list=None):
    return promotion_decision(
        conduct=conduct,
        learning=learning,
        absences=absences,
        subjects=subject_list if subject_list is not None else subjects([7.0] * 8),
    )


@pytest.mark.parametrize(
    ("conduct", "learning", "absences", "outcome"),
    [
        (Cd, DA, 0, PromotionOutcome.PROMOTED),
        (Cd, DA, 45, PromotionOutcome.PROMOTED),  # at most 45 absences
        (Ct, T, 45, PromotionOutcome.PROMOTED),
        (Cd, DA, 46, PromotionOutcome.HELD_BACK),  # 46 is too many
        (Ct, T, 46, PromotionOutcome.HELD_BACK),
        (Ct, CD, 46, PromotionOutcome.HELD_BACK),
        (Ct, CD, 10, PromotionOutcome.RETEST),
        (Cd, CD, 45, PromotionOutcome.RETEST),
        (Cc, T, 0, PromotionOutcome.CONDUCT_TRAINING),
        (Cc, CD, 0, PromotionOutcome.CONDUCT_TRAINING),
    ],
)
def test_promotion_outcomes(conduct, learning, absences, outcome):
    decision = promote(conduct, learning, absences)
    assert decision.outcome is outcome
    assert decision.too_many_absences is (absences > 45)


def test_retest_lists_subjects_below_5_0_and_comment_fails():
    year = [
        SubjectResult.scored("toan", D("4.9")),
        SubjectResult.scored("ngu_van", D("5.0")),  # 5.0 is not below 5.0
        SubjectResult.scored("tieng_anh", D("3.0")),
        SubjectResult.scored("lich_su", D("8.0")),
        SubjectResult.commented("giao_duc_the_chat", CHUA),
        SubjectResult.commented("am_nhac", DAT),
    ]
    decision = promote(Ck, CD, 3, year)
    assert decision.outcome is PromotionOutcome.RETEST
    assert decision.retest_subjects == ("toan", "tieng_anh", "giao_duc_the_chat")


def test_summer_training_when_conduct_chua_dat():
    year = [SubjectResult.scored("toan", D("4.0")), SubjectResult.scored("ngu_van", D("8.0"))]
    training_only = promote(Cc, DA, 0, year)
    assert training_only.outcome is PromotionOutcome.CONDUCT_TRAINING
    assert training_only.retest_subjects == ()  # learning is Đạt: nothing to re-test
    both = promote(Cc, CD, 0, year)
    assert both.outcome is PromotionOutcome.CONDUCT_TRAINING
    assert both.retest_subjects == ("toan",)  # to re-test once training lifts conduct to Đạt


def test_promoted_with_learning_dat_keeps_no_retest_list():
    year = [SubjectResult.scored("toan", D("4.0"))] + subjects([7.0] * 7)
    decision = promote(Ct, DA, 0, year)
    assert decision.outcome is PromotionOutcome.PROMOTED
    assert decision.retest_subjects == ()


def test_promotion_none_while_incomplete_and_rejects_bad_absences():
    assert promote(None, DA, 0) is None
    assert promote(Cd, None, 0) is None
    assert promote(Cd, DA, None) is None
    for bad in (-1, True, "3", 2.0):
        with pytest.raises(RuleInputError) as caught:
            promote(Cd, DA, bad)
        assert caught.value.code == "absences_invalid"


@pytest.mark.parametrize(
    ("conduct", "learning", "absences", "outcome"),
    [
        (Cd, DA, 45, PromotionOutcome.PROMOTED),
        (Cd, CD, 0, PromotionOutcome.HELD_BACK),  # still Chưa đạt after the re-test
        (Cc, DA, 0, PromotionOutcome.HELD_BACK),  # still Chưa đạt after training
        (Ct, T, 46, PromotionOutcome.HELD_BACK),
    ],
)
def test_results_after_retest_or_training_decide(conduct, learning, absences, outcome):
    decision = promotion_after_summer(conduct=conduct, learning=learning, absences=absences)
    assert decision.outcome is outcome
    assert promotion_after_summer(conduct=None, learning=learning, absences=absences) is None


def test_outcome_labels():
    assert PromotionOutcome.PROMOTED.label_vi == "Được lên lớp"
    assert PromotionOutcome.HELD_BACK.label_en == "Held back"


# ------------------------------------------------------------------------- thresholds as data


def test_thresholds_live_in_the_rule_set():
    tot, kha, dat = RULES.learning_criteria
    assert (tot.level, tot.every_min, tot.high_min, tot.high_count, tot.max_comment_fails) == (
        T,
        D("6.5"),
        D("8.0"),
        6,
        0,
    )
    assert (kha.level, kha.every_min, kha.high_min, kha.high_count, kha.max_comment_fails) == (
        K,
        D("5.0"),
        D("6.5"),
        6,
        0,
    )
    assert (dat.level, dat.every_min, dat.high_min, dat.high_count, dat.max_comment_fails) == (
        DA,
        D("3.5"),
        D("5.0"),
        6,
        1,
    )
    assert RULES.promotion_max_absences == 45
    assert RULES.excellent_min_average == D("9.0") and RULES.excellent_min_count == 6
    assert RULES.code == "TT22/2021"


def test_a_corrected_circular_is_a_new_instance_with_changed_data():
    corrected = dataclasses.replace(RULES, code="TT22/2021-sửa-đổi", promotion_max_absences=40)
    assert promote(Cd, DA, 41).outcome is PromotionOutcome.PROMOTED
    decision = tt22.promotion_decision(
        conduct=Cd, learning=DA, absences=41, subjects=subjects([7.0] * 8), rules=corrected
    )
    assert decision.outcome is PromotionOutcome.HELD_BACK
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES.promotion_max_absences = 50  # type: ignore[misc]
