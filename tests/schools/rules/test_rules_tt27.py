"""TT27/2020 (primary) — one table per clause of DOMAIN.md. No database, no Django."""

import dataclasses
from decimal import Decimal

import pytest

from schools.rules.common import QualityLevel, RuleInputError, SubjectLevel, YearEvaluation
from schools.rules.tt27 import (
    RULES,
    AssessmentPoint,
    Commendation,
    PrimaryYearRecord,
    class_completed,
    commendations,
    has_periodic_test,
    periodic_test_schedule,
    primary_programme_completed,
    validate_test_score,
    year_evaluation,
)

D = Decimal
ST, SH, SC = SubjectLevel.HOAN_THANH_TOT, SubjectLevel.HOAN_THANH, SubjectLevel.CHUA_HOAN_THANH
QT, QD, QC = QualityLevel.TOT, QualityLevel.DAT, QualityLevel.CAN_CO_GANG
MID_I, END_I, MID_II, END_Y = (
    AssessmentPoint.MID_TERM_I,
    AssessmentPoint.END_OF_TERM_I,
    AssessmentPoint.MID_TERM_II,
    AssessmentPoint.END_OF_YEAR,
)
HTXS, HTT, HT, CHT = (
    YearEvaluation.HOAN_THANH_XUAT_SAC,
    YearEvaluation.HOAN_THANH_TOT,
    YearEvaluation.HOAN_THANH,
    YearEvaluation.CHUA_HOAN_THANH,
)

QUALITY_CODES = ("yeu_nuoc", "nhan_ai", "cham_chi", "trung_thuc", "trach_nhiem")
COMPETENCY_CODES = (
    "tu_chu_va_tu_hoc", "giao_tiep_va_hop_tac", "giai_quyet_van_de_va_sang_tao",
    "ngon_ngu", "tinh_toan", "khoa_hoc", "cong_nghe", "tin_hoc", "tham_mi", "the_chat",
)  # fmt: skip
GRADE_4_SUBJECTS = (
    "tieng_viet", "toan", "ngoai_ngu_1", "dao_duc", "khoa_hoc", "lich_su_va_dia_li",
    "tin_hoc_va_cong_nghe", "giao_duc_the_chat", "am_nhac", "mi_thuat", "hoat_dong_trai_nghiem",
)  # fmt: skip
GRADE_4_TESTED = (
    "tieng_viet",
    "toan",
    "ngoai_ngu_1",
    "khoa_hoc",
    "lich_su_va_dia_li",
    "tin_hoc_va_cong_nghe",
)


def record(
    *,
    subject=ST,
    trait=QT,
    test=10,
    grade=4,
    subjects_override=None,
    traits_override=None,
    tests_override=None,
):
    """A grade-4 record: every subject ``subject``, every quality/competency ``trait``, every
    end-of-year test ``test``; the overrides replace single entries (value None = missing)."""
    subjects = {code: subject for code in GRADE_4_SUBJECTS}
    subjects.update(subjects_override or {})
    qualities = {code: trait for code in QUALITY_CODES}
    competencies = {code: trait for code in COMPETENCY_CODES}
    for code, level in (traits_override or {}).items():
        (qualities if code in QUALITY_CODES else competencies)[code] = level
    tests = {code: test for code in GRADE_4_TESTED}
    tests.update(tests_override or {})
    return PrimaryYearRecord(grade, subjects, qualities, competencies, tests)


# ---------------------------------------------------------------------------------- test scores


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (10, 10), (7, 7), ("7", 7), (D("7.0"), 7), (D(9), 9)])
def test_periodic_test_scores_are_integers_0_to_10(value, expected):
    result = validate_test_score(value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (D("7.5"), "test_score_not_integer"),
        ("8,5", "test_score_not_integer"),
        (D("9.25"), "test_score_not_integer"),
        (11, "score_out_of_range"),
        (-1, "score_out_of_range"),
        (D("10.5"), "score_out_of_range"),
        (7.0, "not_a_decimal"),
        (True, "not_a_decimal"),
    ],
)
def test_periodic_test_scores_reject_decimals_and_out_of_range(value, code):
    with pytest.raises(RuleInputError) as caught:
        validate_test_score(value, field="toan")
    assert caught.value.code == code
    assert caught.value.message_vi and caught.value.message_en


def test_record_validates_test_scores():
    with pytest.raises(RuleInputError) as caught:
        record(tests_override={"toan": D("8.5")})
    assert caught.value.code == "test_score_not_integer"


# ------------------------------------------------------------------------------- test schedule

SCHEDULE_TABLE = {
    1: {"tieng_viet": (END_I, END_Y), "toan": (END_I, END_Y)},
    2: {"tieng_viet": (END_I, END_Y), "toan": (END_I, END_Y)},
    3: {
        "tieng_viet": (END_I, END_Y),
        "toan": (END_I, END_Y),
        "ngoai_ngu_1": (END_I, END_Y),
        "tin_hoc_va_cong_nghe": (END_I, END_Y),
    },
    4: {
        "tieng_viet": (MID_I, END_I, MID_II, END_Y),
        "toan": (MID_I, END_I, MID_II, END_Y),
        "khoa_hoc": (END_I, END_Y),
        "lich_su_va_dia_li": (END_I, END_Y),
        "ngoai_ngu_1": (END_I, END_Y),
        "tin_hoc_va_cong_nghe": (END_I, END_Y),
    },
}
SCHEDULE_TABLE[5] = SCHEDULE_TABLE[4]


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_periodic_test_schedule_per_grade(grade):
    assert periodic_test_schedule(grade) == SCHEDULE_TABLE[grade]
    assert RULES.periodic_tests_for(grade) == SCHEDULE_TABLE[grade]


@pytest.mark.parametrize(
    ("grade", "subject", "point", "expected"),
    [
        (1, "tieng_viet", MID_I, False),  # mid-term tests only in grades 4–5
        (3, "toan", MID_II, False),
        (4, "toan", MID_I, True),
        (5, "tieng_viet", MID_II, True),
        (4, "khoa_hoc", MID_I, False),  # the other subjects: end of term I and end of year only
        (5, "lich_su_va_dia_li", END_Y, True),
        (2, "khoa_hoc", END_Y, False),
        (4, "dao_duc", END_Y, False),  # no periodic test at all
    ],
)
def test_has_periodic_test(grade, subject, point, expected):
    assert has_periodic_test(grade, subject, point) is expected


@pytest.mark.parametrize("grade", [0, 6, -1, True])
def test_schedule_rejects_non_primary_grades(grade):
    with pytest.raises(RuleInputError) as caught:
        periodic_test_schedule(grade)
    assert caught.value.code == "grade_invalid"


def test_unconfirmed_items_are_flagged_in_the_data():
    unconfirmed = {entry.subject for entry in RULES.test_schedule if not entry.confirmed}
    assert unconfirmed == {"khoa_hoc", "lich_su_va_dia_li", "ngoai_ngu_1", "tin_hoc_va_cong_nghe"}
    assert RULES.evaluation_confirmed is False


# ----------------------------------------------------------------------- qualities, competencies


def test_five_qualities_three_general_seven_specific_competencies():
    assert tuple(q.code for q in RULES.qualities) == QUALITY_CODES
    assert [q.label_vi for q in RULES.qualities] == [
        "Yêu nước",
        "Nhân ái",
        "Chăm chỉ",
        "Trung thực",
        "Trách nhiệm",
    ]
    assert [c.label_vi for c in RULES.general_competencies] == [
        "Tự chủ và tự học",
        "Giao tiếp và hợp tác",
        "Giải quyết vấn đề và sáng tạo",
    ]
    assert [c.label_vi for c in RULES.specific_competencies] == [
        "Ngôn ngữ", "Tính toán", "Khoa học", "Công nghệ", "Tin học", "Thẩm mĩ", "Thể chất",
    ]  # fmt: skip
    assert tuple(c.code for c in RULES.competencies) == COMPETENCY_CODES


# ------------------------------------------------------------------------ end-of-year evaluation

EVALUATION_TABLE = [
    # (id, record kwargs, expected)
    ("xuat_sac_all_T_all_tot_tests_10", {}, HTXS),
    ("xuat_sac_boundary_test_9", {"tests_override": {"toan": 9}}, HTXS),
    ("tot_test_8", {"tests_override": {"toan": 8}}, HTT),
    ("tot_boundary_test_7", {"tests_override": {"khoa_hoc": 7}}, HTT),
    ("hoan_thanh_test_6", {"tests_override": {"toan": 6}}, HT),
    ("hoan_thanh_boundary_test_5", {"tests_override": {"ngoai_ngu_1": 5}}, HT),
    ("chua_hoan_thanh_test_4", {"tests_override": {"tieng_viet": 4}}, CHT),
    ("hoan_thanh_one_subject_H", {"subjects_override": {"am_nhac": SH}}, HT),
    ("hoan_thanh_one_quality_dat", {"traits_override": {"trung_thuc": QD}}, HT),
    ("hoan_thanh_one_competency_dat", {"traits_override": {"tin_hoc": QD}}, HT),
    ("hoan_thanh_all_H_all_dat_tests_5", {"subject": SH, "trait": QD, "test": 5}, HT),
    ("chua_hoan_thanh_one_subject_C", {"subjects_override": {"mi_thuat": SC}}, CHT),
    ("chua_hoan_thanh_one_quality_can_co_gang", {"traits_override": {"cham_chi": QC}}, CHT),
    ("chua_hoan_thanh_one_competency_can_co_gang", {"traits_override": {"the_chat": QC}}, CHT),
]


@pytest.mark.parametrize(
    ("kwargs", "expected"), [row[1:] for row in EVALUATION_TABLE], ids=[row[0] for row in EVALUATION_TABLE]
)
def test_year_evaluation_levels_and_thresholds(kwargs, expected):
    assert year_evaluation(record(**kwargs)) is expected


def test_year_evaluation_grade_1_only_needs_vietnamese_and_maths_tests():
    subjects = {"tieng_viet": ST, "toan": ST, "dao_duc": ST, "tu_nhien_va_xa_hoi": ST}
    traits = {code: QT for code in QUALITY_CODES}
    competencies = {code: QT for code in COMPETENCY_CODES}
    grade_1 = PrimaryYearRecord(1, subjects, traits, competencies, {"tieng_viet": 10, "toan": 9})
    assert year_evaluation(grade_1) is HTXS
    assert RULES.year_evaluation(grade_1) is HTXS
    with pytest.raises(RuleInputError) as caught:
        year_evaluation(dataclasses.replace(grade_1, tests={"tieng_viet": 10, "toan": 9, "khoa_hoc": 9}))
    assert caught.value.code == "test_not_scheduled"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subjects_override": {"am_nhac": None}},
        {"traits_override": {"nhan_ai": None}},
        {"traits_override": {"tham_mi": None}},
        {"tests_override": {"toan": None}},
    ],
)
def test_year_evaluation_none_while_incomplete(kwargs):
    assert year_evaluation(record(**kwargs)) is None


def test_year_evaluation_none_when_an_assessment_is_absent():
    full = record()
    assert year_evaluation(dataclasses.replace(full, subjects=())) is None
    assert year_evaluation(dataclasses.replace(full, qualities=full.qualities[:4])) is None
    assert year_evaluation(dataclasses.replace(full, competencies=full.competencies[1:])) is None
    assert year_evaluation(dataclasses.replace(full, tests=full.tests[1:])) is None


def test_year_evaluation_rejects_unknown_codes_and_levels():
    with pytest.raises(RuleInputError) as caught:
        year_evaluation(record(traits_override={"dung_cam": QT}))
    assert caught.value.code == "unknown_competency"
    with pytest.raises(RuleInputError) as caught:
        year_evaluation(dataclasses.replace(record(), qualities=(("dung_cam", QT),)))
    assert caught.value.code == "unknown_quality"
    with pytest.raises(RuleInputError) as caught:
        record(subjects_override={"toan": QT})  # a quality level for a subject
    assert caught.value.code == "level_invalid"
    with pytest.raises(RuleInputError):
        PrimaryYearRecord(4, [("toan", ST), ("toan", SH)])


def test_thresholds_are_data():
    assert [(c.level, c.min_subject, c.min_quality, c.min_test) for c in RULES.evaluation_criteria] == [
        (HTXS, ST, QT, 9),
        (HTT, ST, QT, 7),
        (HT, SH, QD, 5),
    ]
    corrected = dataclasses.replace(
        RULES,
        code="TT27/2020-corrected",
        evaluation_criteria=(dataclasses.replace(RULES.evaluation_criteria[0], min_test=10),)
        + RULES.evaluation_criteria[1:],
    )
    nine = record(tests_override={"toan": 9})
    assert year_evaluation(nine) is HTXS
    assert year_evaluation(nine, rules=corrected) is HTT


# ------------------------------------------------------------------------ commendations, completion


@pytest.mark.parametrize(
    ("evaluation", "recognised", "adhoc", "expected"),
    [
        (HTXS, False, False, (Commendation.HOC_SINH_XUAT_SAC,)),
        (HTXS, True, False, (Commendation.HOC_SINH_XUAT_SAC,)),
        (HTT, True, False, (Commendation.HOC_SINH_TIEU_BIEU,)),
        (HTT, False, False, ()),
        (HT, True, False, ()),
        (CHT, False, True, (Commendation.DOT_XUAT,)),
        (HTXS, False, True, (Commendation.HOC_SINH_XUAT_SAC, Commendation.DOT_XUAT)),
        (None, True, True, None),
    ],
)
def test_commendations(evaluation, recognised, adhoc, expected):
    assert commendations(evaluation, exemplary_recognised=recognised, principal_adhoc=adhoc) == expected


def test_commendation_labels():
    assert Commendation.HOC_SINH_XUAT_SAC.label_vi == "Học sinh Xuất sắc"
    assert Commendation.HOC_SINH_TIEU_BIEU.label_vi == "Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện"


@pytest.mark.parametrize(
    ("grade", "evaluation", "class_done", "programme_done"),
    [
        (5, HT, True, True),
        (5, HTXS, True, True),
        (5, CHT, False, False),
        (4, HTT, True, False),
        (1, CHT, False, False),
        (5, None, None, None),
    ],
)
def test_completion(grade, evaluation, class_done, programme_done):
    assert class_completed(evaluation) is class_done
    assert primary_programme_completed(grade, evaluation) is programme_done
