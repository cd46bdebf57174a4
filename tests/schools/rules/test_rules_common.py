"""schools.rules.common: rounding, score validation, ordered levels. No database, no Django."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schools.rules.common import (
    Conduct,
    LearningResult,
    PassFail,
    QualityLevel,
    RuleInputError,
    SubjectLevel,
    YearEvaluation,
    decimal_places_ok,
    round1,
    validate_score,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("8.45"), D("8.5")),  # half up, not half even
        (D("8.25"), D("8.3")),
        (D("8.35"), D("8.4")),
        (D("8.44"), D("8.4")),
        (D("8.449999"), D("8.4")),
        (D("0.05"), D("0.1")),
        (D("9.95"), D("10.0")),
        (D("7"), D("7.0")),
        (0, D("0.0")),
        (Fraction(1, 3), D("0.3")),
        (Fraction(2, 3), D("0.7")),
        (Fraction(121, 20), D("6.1")),  # 6.05 exactly
        (D("-0.05"), D("-0.1")),  # away from zero
    ],
)
def test_round1_half_up_to_one_place(value, expected):
    result = round1(value)
    assert result == expected
    assert result.as_tuple().exponent == -1


def test_round1_refuses_float():
    with pytest.raises(TypeError):
        round1(0.1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0"), D("0.0")),
        (D("10"), D("10.0")),
        (D("10.0"), D("10.0")),
        (7, D("7.0")),
        (D("8.50"), D("8.5")),  # trailing zero is not a second decimal
        ("6.5", D("6.5")),
        ("6,5", D("6.5")),  # Vietnamese decimal comma
        (" 9.1 ", D("9.1")),
    ],
)
def test_validate_score_accepts_and_normalises(value, expected):
    result = validate_score(value)
    assert result == expected
    assert result.as_tuple().exponent == -1


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (11, "score_out_of_range"),
        (D("10.1"), "score_out_of_range"),
        (-1, "score_out_of_range"),
        (D("-0.1"), "score_out_of_range"),
        (D("8.555"), "score_too_many_decimals"),
        (D("8.55"), "score_too_many_decimals"),
        ("7.25", "score_too_many_decimals"),
        (8.5, "not_a_decimal"),  # float refused
        (True, "not_a_decimal"),
        (None, "not_a_decimal"),
        ("abc", "not_a_number"),
        (D("NaN"), "not_a_number"),
        (D("Infinity"), "not_a_number"),
    ],
)
def test_validate_score_rejects(value, code):
    with pytest.raises(RuleInputError) as caught:
        validate_score(value, field="toan")
    error = caught.value
    assert error.code == code
    assert error.message_vi and error.message_en
    assert error.field == "toan"
    assert isinstance(error, ValueError)


def test_levels_are_ordered_low_to_high():
    assert LearningResult.CHUA_DAT < LearningResult.DAT < LearningResult.KHA < LearningResult.TOT
    assert Conduct.CHUA_DAT < Conduct.DAT < Conduct.KHA < Conduct.TOT
    assert PassFail.CHUA_DAT < PassFail.DAT
    assert SubjectLevel.CHUA_HOAN_THANH < SubjectLevel.HOAN_THANH < SubjectLevel.HOAN_THANH_TOT
    assert QualityLevel.CAN_CO_GANG < QualityLevel.DAT < QualityLevel.TOT
    assert (
        YearEvaluation.CHUA_HOAN_THANH
        < YearEvaluation.HOAN_THANH
        < YearEvaluation.HOAN_THANH_TOT
        < YearEvaluation.HOAN_THANH_XUAT_SAC
    )
    assert max(LearningResult) is LearningResult.TOT
    assert LearningResult.ordered()[0] is LearningResult.CHUA_DAT


def test_levels_of_different_kinds_do_not_compare():
    with pytest.raises(TypeError):
        _ = LearningResult.TOT > Conduct.KHA
    assert LearningResult.TOT != Conduct.TOT


def test_labels_and_codes():
    assert LearningResult.KHA.label_vi == "Khá"
    assert LearningResult.KHA.label_en == "Fairly good"
    assert str(LearningResult.CHUA_DAT) == "Chưa đạt"
    assert LearningResult("tot") is LearningResult.TOT
    assert SubjectLevel("T") is SubjectLevel.HOAN_THANH_TOT
    assert SubjectLevel.HOAN_THANH.code == "H"
    assert QualityLevel.CAN_CO_GANG.label_vi == "Cần cố gắng"


def test_raised_and_levels_below():
    assert LearningResult.CHUA_DAT.raised() is LearningResult.DAT
    assert LearningResult.DAT.raised() is LearningResult.KHA
    assert LearningResult.TOT.raised() is LearningResult.TOT  # capped
    assert LearningResult.DAT.levels_below(LearningResult.TOT) == 2
    assert LearningResult.TOT.levels_below(LearningResult.DAT) == -2


@pytest.mark.parametrize(
    "text,places,ok",
    [
        ("8", 1, True),
        ("8.50", 1, True),
        ("8.5000000", 1, True),
        ("8.05", 1, False),
        ("0.00", 1, True),
        ("1E+1", 1, True),
        ("7.125", 2, False),
        ("7.12", 2, True),
        ("1.00000000000000000000000000001", 1, False),
        ("-3.10", 1, True),
    ],
)
def test_decimal_places_ok_is_exact(text, places, ok):
    assert decimal_places_ok(Decimal(text), places) is ok


@given(st.decimals(allow_nan=False, allow_infinity=False), st.integers(min_value=0, max_value=4))
def test_decimal_places_ok_agrees_with_exact_fractions(value, places):
    assert decimal_places_ok(value, places) is ((Fraction(value) * 10**places).denominator == 1)


@given(st.decimals(min_value=-1000, max_value=1000, places=3), st.integers(min_value=1, max_value=40))
def test_round1_ratio_is_round1_of_the_exact_quotient(total, weight):
    from schools.rules.common import round1_ratio

    assert round1_ratio(total, weight) == round1(Fraction(total) / weight)
    assert round1_ratio(total, weight).as_tuple().exponent == -1


@given(st.decimals(min_value=0, max_value=10, places=1))
def test_a_one_place_score_comes_back_as_it_is(score):
    assert validate_score(score) == score and validate_score(score).as_tuple().exponent == -1
