"""Hypothesis properties of the rules: monotonicity, bounds, one decimal place, name ordering."""

import unicodedata
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from schools.rules.common import Conduct, PassFail, QualityLevel, SubjectLevel, round1, validate_score
from schools.rules.names import vietnamese_sort_key, vietnamese_sort_string
from schools.rules.tt22 import (
    SubjectResult,
    SubjectScores,
    assess_learning,
    learning_result,
    regular_assessment_count,
    semester_average,
    year_average,
    year_conduct,
)
from schools.rules.tt27 import PrimaryYearRecord, year_evaluation

# per-test settings: a global profile would leak into the rest of the suite
rules_settings = settings(max_examples=200, deadline=None)

scores = st.integers(min_value=0, max_value=100).map(lambda tenths: Decimal(tenths).scaleb(-1))
periods = st.sampled_from([18, 35, 52, 70, 105, 140])


@st.composite
def semester(draw):
    periods_per_year = draw(periods)
    n = regular_assessment_count(periods_per_year)
    regular = draw(st.lists(scores, min_size=n, max_size=n))
    return periods_per_year, SubjectScores(tuple(regular), draw(scores), draw(scores))


def raise_one(draw, values):
    """Pick one position of ``values`` and raise it to a higher (or equal) valid score."""
    index = draw(st.integers(min_value=0, max_value=len(values) - 1))
    tenths = draw(st.integers(min_value=int(values[index] * 10), max_value=100))
    raised = list(values)
    raised[index] = Decimal(tenths).scaleb(-1)
    return raised


def one_place(value):
    return value.as_tuple().exponent == -1


# ---------------------------------------------------------------------------------- averages


@rules_settings
@given(semester())
def test_semester_average_lies_between_min_and_max_with_one_place(case):
    periods_per_year, sem = case
    average = semester_average(sem, periods_per_year=periods_per_year)
    values = (*sem.regular, sem.midterm, sem.final)
    assert min(values) <= average <= max(values)
    assert one_place(average)


@rules_settings
@given(semester(), st.data())
def test_raising_one_score_never_lowers_the_semester_average(case, data):
    periods_per_year, sem = case
    values = [*sem.regular, sem.midterm, sem.final]
    raised = raise_one(data.draw, values)
    better = SubjectScores(tuple(raised[:-2]), raised[-2], raised[-1])
    before = semester_average(sem, periods_per_year=periods_per_year)
    after = semester_average(better, periods_per_year=periods_per_year)
    assert after >= before


@rules_settings
@given(scores, scores)
def test_year_average_bounds_and_one_place(first, second):
    average = year_average(first, second)
    assert min(first, second) <= average <= max(first, second)
    assert one_place(average)


@rules_settings
@given(scores, scores, st.data())
def test_raising_a_semester_never_lowers_the_year_average(first, second, data):
    raised = raise_one(data.draw, [first, second])
    assert year_average(*raised) >= year_average(first, second)


@rules_settings
@given(st.fractions(min_value=0, max_value=10))
def test_round1_is_within_half_a_tenth_and_idempotent(value):
    rounded = round1(value)
    assert one_place(rounded)
    assert abs(rounded - Decimal(value.numerator) / Decimal(value.denominator)) <= Decimal("0.05")
    assert round1(rounded) == rounded


@rules_settings
@given(scores)
def test_every_one_place_score_is_valid(value):
    assert validate_score(value) == value


# --------------------------------------------------------------------------- learning result


@st.composite
def year_subjects(draw):
    averages = draw(st.lists(scores, min_size=1, max_size=12))
    comments = draw(st.lists(st.sampled_from(list(PassFail)), max_size=5))
    return averages, comments


def build(averages, comments):
    return [SubjectResult.scored(f"s{i}", a) for i, a in enumerate(averages)] + [
        SubjectResult.commented(f"c{i}", c) for i, c in enumerate(comments)
    ]


@rules_settings
@given(year_subjects(), st.data())
def test_raising_one_score_never_lowers_the_learning_result(case, data):
    averages, comments = case
    before = learning_result(build(averages, comments))
    if comments and data.draw(st.booleans()):
        index = data.draw(st.integers(min_value=0, max_value=len(comments) - 1))
        better_comments = list(comments)
        better_comments[index] = PassFail.DAT
        after = learning_result(build(averages, better_comments))
    else:
        after = learning_result(build(raise_one(data.draw, averages), comments))
    assert after >= before


@rules_settings
@given(year_subjects())
def test_adjustment_raises_at_most_one_level(case):
    assessment = assess_learning(build(*case))
    assert assessment.unadjusted.rank <= assessment.result.rank <= assessment.unadjusted.rank + 1
    assert (assessment.adjusted_for is None) == (assessment.result is assessment.unadjusted)


def test_year_conduct_is_monotone_in_both_semesters():
    for first in Conduct:
        for second in Conduct:
            for better_first in (c for c in Conduct if c >= first):
                for better_second in (c for c in Conduct if c >= second):
                    assert year_conduct(better_first, better_second) >= year_conduct(first, second)


# ---------------------------------------------------------------------------------------- TT27

QUALITIES = ("yeu_nuoc", "nhan_ai", "cham_chi", "trung_thuc", "trach_nhiem")
COMPETENCIES = (
    "tu_chu_va_tu_hoc", "giao_tiep_va_hop_tac", "giai_quyet_van_de_va_sang_tao",
    "ngon_ngu", "tinh_toan", "khoa_hoc", "cong_nghe", "tin_hoc", "tham_mi", "the_chat",
)  # fmt: skip


@rules_settings
@given(
    st.lists(st.sampled_from(list(SubjectLevel)), min_size=2, max_size=2),
    st.lists(st.sampled_from(list(QualityLevel)), min_size=15, max_size=15),
    st.lists(st.integers(min_value=0, max_value=10), min_size=2, max_size=2),
    st.data(),
)
def test_raising_a_primary_test_score_never_lowers_the_evaluation(subject_levels, traits, tests, data):
    def evaluate(test_scores):
        return year_evaluation(
            PrimaryYearRecord(
                1,
                dict(zip(("tieng_viet", "toan"), subject_levels, strict=True)),
                dict(zip(QUALITIES, traits[:5], strict=True)),
                dict(zip(COMPETENCIES, traits[5:], strict=True)),
                dict(zip(("tieng_viet", "toan"), test_scores, strict=True)),
            )
        )

    index = data.draw(st.integers(min_value=0, max_value=1))
    raised = list(tests)
    raised[index] = data.draw(st.integers(min_value=tests[index], max_value=10))
    assert evaluate(raised) >= evaluate(tests)


# --------------------------------------------------------------------------------------- names

_BASE = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
_VOWELS = set("aăâeêioôơuưy")


@st.composite
def vietnamese_word(draw):
    letters = draw(st.lists(st.sampled_from(_BASE), min_size=1, max_size=6))
    text = "".join(letters)
    vowel_positions = [i for i, ch in enumerate(text) if ch in _VOWELS]
    if vowel_positions:
        position = draw(st.sampled_from(vowel_positions))
        tone = draw(st.sampled_from(_TONES))
        text = unicodedata.normalize("NFC", text[: position + 1] + tone + text[position + 1 :])
    if draw(st.booleans()):
        text = text.capitalize()
    if draw(st.booleans()):
        text = text.upper()
    return text


names = st.lists(vietnamese_word(), min_size=1, max_size=4).map(" ".join)


@rules_settings
@given(names)
def test_name_key_is_stable_under_nfc_and_nfd(name):
    nfc, nfd = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    assert vietnamese_sort_key(nfc) == vietnamese_sort_key(nfd)
    assert vietnamese_sort_string(nfc) == vietnamese_sort_string(nfd)


@rules_settings
@given(names, names)
def test_name_keys_tie_only_for_the_same_name(first, second):
    same = unicodedata.normalize("NFC", first) == unicodedata.normalize("NFC", second)
    assert (vietnamese_sort_key(first) == vietnamese_sort_key(second)) is same


@rules_settings
@given(names)
def test_case_never_changes_letters_and_tones(name):
    assert vietnamese_sort_key(name.lower())[:3] == vietnamese_sort_key(name.upper())[:3]


@rules_settings
@given(names, names)
def test_sort_string_orders_like_the_key(first, second):
    by_key = (vietnamese_sort_key(first) > vietnamese_sort_key(second)) - (
        vietnamese_sort_key(first) < vietnamese_sort_key(second)
    )
    a, b = vietnamese_sort_string(first), vietnamese_sort_string(second)
    assert by_key == (a > b) - (a < b)
    # PostgreSQL COLLATE "C" compares UTF-8 bytes: same order as code points
    assert by_key == (a.encode() > b.encode()) - (a.encode() < b.encode())


@rules_settings
@given(st.lists(names, max_size=12), st.randoms(use_true_random=False))
def test_sorting_is_a_total_order_independent_of_input_order_and_form(batch, rnd):
    expected = sorted(batch, key=vietnamese_sort_key)
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    assert sorted(shuffled, key=vietnamese_sort_key) == expected
    as_nfd = sorted((unicodedata.normalize("NFD", n) for n in batch), key=vietnamese_sort_key)
    assert [unicodedata.normalize("NFC", n) for n in as_nfd] == [unicodedata.normalize("NFC", n) for n in expected]
    for earlier, later in zip(expected, expected[1:], strict=False):
        assert vietnamese_sort_key(earlier) <= vietnamese_sort_key(later)


@rules_settings
@given(st.text(max_size=30), st.text(max_size=30))
def test_any_text_gets_a_comparable_key(first, second):
    # never raises, always comparable, string form consistent
    key_order = (vietnamese_sort_key(first) > vietnamese_sort_key(second)) - (
        vietnamese_sort_key(first) < vietnamese_sort_key(second)
    )
    a, b = vietnamese_sort_string(first), vietnamese_sort_string(second)
    assert key_order == (a > b) - (a < b)
