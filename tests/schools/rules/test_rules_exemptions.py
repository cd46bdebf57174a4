"""Exemptions (miễn học, miễn học phần thực hành) in the rules — TT22 art. 10 and 11, TT27. The exemption is an
argument of each rule; no database, no Django."""

from decimal import Decimal

import pytest

from schools.rules import tt22, tt27
from schools.rules.common import (
    YEAR,
    Exemption,
    ExemptionPart,
    PassFail,
    QualityLevel,
    RuleInputError,
    SubjectLevel,
    YearEvaluation,
    check_exemption,
    exempt_subjects,
    exempt_terms,
)
from schools.rules.tt22 import Conduct, LearningResult, PromotionOutcome, SubjectResult, Title

D = Decimal
DAT, CHUA = PassFail.DAT, PassFail.CHUA_DAT
SUBJECT, PRACTICAL = ExemptionPart.SUBJECT, ExemptionPart.PRACTICAL
GDTC = "giao_duc_the_chat"


def secondary(averages, gdtc=None, comments=(DAT, DAT)):
    """Scored subjects s1..sn, then GDTC (a comment subject, ``None``: no result) and other comment subjects."""
    return [
        *(SubjectResult.scored(f"s{i}", D(str(a))) for i, a in enumerate(averages, start=1)),
        SubjectResult.commented(GDTC, gdtc),
        *(SubjectResult.commented(f"c{i}", c) for i, c in enumerate(comments, start=1)),
    ]


# ------------------------------------------------------------------------------ the decisions


@pytest.mark.parametrize(
    ("decisions", "term", "expected"),
    [
        ([Exemption(GDTC)], 1, {GDTC}),  # whole year: both terms and the year
        ([Exemption(GDTC)], 2, {GDTC}),
        ([Exemption(GDTC)], YEAR, {GDTC}),
        ([Exemption(GDTC, term=1)], 1, {GDTC}),
        ([Exemption(GDTC, term=1)], 2, set()),
        ([Exemption(GDTC, term=1)], YEAR, set()),  # one term only: the year is assessed on the other
        ([Exemption(GDTC, term=1), Exemption(GDTC, term=2)], YEAR, {GDTC}),  # both terms: the year too
        ([Exemption(GDTC, PRACTICAL)], 1, set()),  # the practical part only: still assessed
        ([Exemption(GDTC, PRACTICAL)], YEAR, set()),
        ([], YEAR, set()),
    ],
)
def test_which_subjects_are_exempt_in_a_term_or_the_year(decisions, term, expected):
    assert exempt_subjects(decisions, term) == expected


@pytest.mark.parametrize(
    ("decisions", "part", "expected"),
    [
        ([Exemption(GDTC)], SUBJECT, {1, 2}),
        ([Exemption(GDTC, term=2)], SUBJECT, {2}),
        ([Exemption(GDTC, PRACTICAL, 1)], SUBJECT, set()),
        ([Exemption(GDTC, PRACTICAL, 1)], PRACTICAL, {1}),
        ([Exemption("toan")], SUBJECT, set()),  # another subject's decision
    ],
)
def test_the_terms_a_subject_is_exempt_in(decisions, part, expected):
    assert exempt_terms(decisions, GDTC, part) == expected


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"term": 3}, "exemption_term_invalid"),
        ({"term": True}, "exemption_term_invalid"),
        ({"part": "half"}, "exemption_part_invalid"),
    ],
)
def test_an_invalid_decision_is_refused_in_both_languages(fields, code):
    with pytest.raises(RuleInputError) as caught:
        Exemption(GDTC, **fields)
    assert caught.value.code == code and caught.value.message_vi and caught.value.message_en


def test_a_part_given_as_its_stored_code_is_read():
    assert Exemption(GDTC, "practical", 2).part is PRACTICAL


@pytest.mark.parametrize(
    ("rules", "subject", "part", "allowed"),
    [
        (tt22.RULES, GDTC, PRACTICAL, True),  # TT22 art. 10: GDTC and GDQP-AN have a practical part
        (tt22.RULES, "giao_duc_quoc_phong_an_ninh", PRACTICAL, True),
        (tt22.RULES, "toan", PRACTICAL, False),
        (tt22.RULES, "toan", SUBJECT, True),  # any subject whole (a disabled student, art. 11)
        (tt27.RULES, GDTC, PRACTICAL, False),  # primary: no practical-part exemption
        (tt27.RULES, GDTC, SUBJECT, True),
    ],
)
def test_which_exemptions_a_rule_set_allows(rules, subject, part, allowed):
    decision = Exemption(subject, part)
    if allowed:
        assert rules.check_exemption(decision) is decision
    else:
        with pytest.raises(RuleInputError, match="exemption_no_practical_part"):
            rules.check_exemption(decision)


def test_check_exemption_takes_the_subjects_explicitly():
    assert check_exemption(Exemption("x", PRACTICAL), practical_subjects=("x",)).subject == "x"


# ------------------------------------------------------------------------ TT22: a subject's year


@pytest.mark.parametrize(
    ("first", "second", "exempt", "expected"),
    [
        ("6.0", "9.0", (), "8.0"),  # (6 + 18) / 3
        ("6.0", "9.0", (1,), "9.0"),  # exempt in term I: the year is term II's
        ("6.0", "9.0", (2,), "6.0"),
        (None, "9.0", (1,), "9.0"),  # no term I average needed
        ("6.0", "9.0", (1, 2), None),  # exempt all year: no year average
    ],
)
def test_year_average_with_an_exempt_term(first, second, exempt, expected):
    result = tt22.year_average(first and D(first), second and D(second), exempt_terms=frozenset(exempt))
    assert result == (None if expected is None else D(expected))


@pytest.mark.parametrize(
    ("first", "second", "exempt", "expected"),
    [
        (CHUA, DAT, (), DAT),
        (DAT, None, (2,), DAT),  # exempt in term II: the year is term I's
        (None, CHUA, (1,), CHUA),
        (DAT, DAT, (1, 2), None),
    ],
)
def test_comment_year_result_with_an_exempt_term(first, second, exempt, expected):
    assert tt22.comment_year_result(semester_i=first, semester_ii=second, exempt_terms=frozenset(exempt)) is expected


# ------------------------------------------------------------------- TT22: learning, titles, promotion


@pytest.mark.parametrize(
    ("subjects", "exempt", "expected"),
    [
        # the case: GDTC exempt, its cell blank — the learning result is computed without it
        (secondary([8, 8, 8, 8, 8, 8, 7], gdtc=None), {GDTC}, LearningResult.TOT),
        (secondary([8, 8, 8, 8, 8, 8, 7], gdtc=None), set(), None),  # without the exemption: not computed
        # a GDTC Chưa đạt recorded before the decision no longer counts
        (secondary([8, 8, 8, 8, 8, 8, 7], gdtc=CHUA), {GDTC}, LearningResult.TOT),
        (secondary([8, 8, 8, 8, 8, 8, 7], gdtc=CHUA), set(), LearningResult.KHA),  # Đạt, adjusted for GDTC
        # an exempt scored subject: its low average no longer caps the result
        (secondary([8, 8, 8, 8, 8, 8, 3], gdtc=DAT), {"s7"}, LearningResult.TOT),
        (secondary([8, 8, 8, 8, 8, 8, 3], gdtc=DAT), set(), LearningResult.DAT),  # Chưa đạt, adjusted for s7
        # the counts stay: 6 subjects ≥ 8.0 are still needed among those assessed
        (secondary([8, 8, 8, 8, 8, 7, 7], gdtc=DAT), {"s1"}, LearningResult.KHA),
        # every subject exempt: nothing to assess
        ([SubjectResult.commented(GDTC, None)], {GDTC}, None),
    ],
)
def test_learning_result_leaves_exempt_subjects_out(subjects, exempt, expected):
    assert tt22.learning_result(subjects, exempt=frozenset(exempt)) is expected


@pytest.mark.parametrize(
    ("averages", "exempt", "expected"),
    [
        ([9, 9, 9, 9, 9, 9, 8], set(), Title.XUAT_SAC),
        ([9, 9, 9, 9, 9, 9, 8], {GDTC}, Title.XUAT_SAC),  # GDTC blank: still computed
        ([9, 9, 9, 9, 9, 8, 8], {"s1"}, Title.GIOI),  # an exempt 9.0 no longer counts towards the six
    ],
)
def test_titles_leave_exempt_subjects_out(averages, exempt, expected):
    subjects = secondary(averages, gdtc=None if GDTC in exempt else DAT)
    assert (
        tt22.year_title(conduct=Conduct.TOT, learning=LearningResult.TOT, subjects=subjects, exempt=exempt) is expected
    )


def test_titles_wait_for_a_subject_that_is_not_exempt():
    subjects = secondary([9, 9, 9, 9, 9, 9, 8], gdtc=None)
    assert tt22.year_title(conduct=Conduct.TOT, learning=LearningResult.TOT, subjects=subjects) is None


@pytest.mark.parametrize(
    ("averages", "gdtc", "exempt", "outcome", "retest"),
    [
        ([8, 8, 8, 8, 8, 8, 7], None, {GDTC}, PromotionOutcome.PROMOTED, ()),
        ([8, 8, 8, 8, 8, 8, 7], None, set(), None, None),  # GDTC missing, not exempt: not decided yet
        # an exempt subject is never a re-test candidate
        ([3, 3, 8, 8, 8, 8, 8], CHUA, {GDTC}, PromotionOutcome.RETEST, ("s1", "s2")),
        ([3, 3, 8, 8, 8, 8, 8], CHUA, set(), PromotionOutcome.RETEST, ("s1", "s2", GDTC)),
    ],
)
def test_promotion_leaves_exempt_subjects_out(averages, gdtc, exempt, outcome, retest):
    subjects = secondary(averages, gdtc=gdtc)
    learning = tt22.learning_result(subjects, exempt=exempt)
    decision = tt22.promotion_decision(
        conduct=Conduct.TOT, learning=learning, absences=0, subjects=subjects, exempt=exempt
    )
    if outcome is None:
        assert decision is None
    else:
        assert (decision.outcome, decision.retest_subjects) == (outcome, retest)


def test_year_end_outcome_leaves_exempt_subjects_out():
    subjects = secondary([8, 8, 8, 8, 8, 8, 7], gdtc=None)
    outcome = tt22.year_end_outcome(
        conduct=Conduct.TOT, learning=LearningResult.TOT, absences=0, subjects=subjects, exempt={GDTC}
    )
    assert outcome.final.outcome is PromotionOutcome.PROMOTED
    assert (
        tt22.year_end_outcome(conduct=Conduct.TOT, learning=LearningResult.TOT, absences=0, subjects=subjects) is None
    )


# ------------------------------------------------------------------------------- TT27 (primary)

SUBJECTS4 = ("tieng_viet", "toan", "khoa_hoc", GDTC)
QUALITIES = ("yeu_nuoc", "nhan_ai", "cham_chi", "trung_thuc", "trach_nhiem")
COMPETENCIES = tuple(c.code for c in tt27.RULES.competencies)


def primary(subjects, tests):
    return tt27.PrimaryYearRecord(
        4,
        subjects,
        {q: QualityLevel.TOT for q in QUALITIES},
        {c: QualityLevel.TOT for c in COMPETENCIES},
        tests,
    )


@pytest.mark.parametrize(
    ("subjects", "tests", "exempt", "expected"),
    [
        # GDTC exempt, no level: evaluated without it
        (
            {"tieng_viet": SubjectLevel.HOAN_THANH_TOT, "toan": SubjectLevel.HOAN_THANH_TOT, GDTC: None},
            {"tieng_viet": 9, "toan": 10},
            {GDTC},
            YearEvaluation.HOAN_THANH_XUAT_SAC,
        ),
        (
            {"tieng_viet": SubjectLevel.HOAN_THANH_TOT, "toan": SubjectLevel.HOAN_THANH_TOT, GDTC: None},
            {"tieng_viet": 9, "toan": 10},
            set(),
            None,
        ),
        # a tested subject exempt: neither its level nor its test is required, nor counts
        (
            {"tieng_viet": SubjectLevel.HOAN_THANH_TOT, "toan": SubjectLevel.HOAN_THANH_TOT, "khoa_hoc": None},
            {"tieng_viet": 9, "toan": 9, "khoa_hoc": None},
            {"khoa_hoc"},
            YearEvaluation.HOAN_THANH_XUAT_SAC,
        ),
        (
            {"tieng_viet": SubjectLevel.HOAN_THANH_TOT, "toan": SubjectLevel.HOAN_THANH_TOT, "khoa_hoc": None},
            {"tieng_viet": 9, "toan": 9, "khoa_hoc": 4},
            {"khoa_hoc"},
            YearEvaluation.HOAN_THANH_XUAT_SAC,
        ),
        (
            {"tieng_viet": SubjectLevel.HOAN_THANH_TOT, "toan": SubjectLevel.CHUA_HOAN_THANH, GDTC: None},
            {"tieng_viet": 9, "toan": 9},
            {GDTC},
            YearEvaluation.CHUA_HOAN_THANH,
        ),
    ],
)
def test_primary_evaluation_leaves_exempt_subjects_out(subjects, tests, exempt, expected):
    record = primary(subjects, tests)
    assert tt27.year_evaluation(record, exempt=frozenset(exempt)) is expected
    assert tt27.RULES.year_evaluation(record, exempt=frozenset(exempt)) is expected
