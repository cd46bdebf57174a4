"""After the year: the re-test of the subjects a student chose (TT22 Điều 12.1) and the primary summer follow-up
(TT27, completing the grade's programme). Pure tables, no database, no Django."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schools.rules import tt22, tt27
from schools.rules.common import Conduct, LearningResult, PassFail, QualityLevel, RuleInputError, SubjectLevel
from schools.rules.common import YearEvaluation as YE

PO = tt22.PromotionOutcome
FD = tt27.FollowUpDecision

# ------------------------------------------------------------------------------------ TT22 re-test

# Ngữ văn 3.0 and Toán 4.0 are below 5.0 (re-test candidates) and Ngữ văn below 3.5: learning Chưa đạt. Six
# other scored subjects at 8.0, so lifting Ngữ văn alone to 3.5 or more reaches Đạt while Toán keeps its 4.0.
YEAR = dict(
    ngu_van="3",
    toan="4",
    ngoai_ngu_1="8",
    lich_su_va_dia_li="8",
    khoa_hoc_tu_nhien="8",
    tin_hoc="8",
    cong_nghe="8",
    giao_duc_cong_dan="8",
)


def subjects(**averages):
    out = [tt22.SubjectResult.scored(code, Decimal(v)) for code, v in {**YEAR, **averages}.items()]
    return out + [tt22.SubjectResult.commented("giao_duc_the_chat", PassFail.DAT)]


def outcome(subs, *, conduct=Conduct.KHA, **kw):
    learning = tt22.learning_result(subs)
    return tt22.year_end_outcome(conduct=conduct, learning=learning, absences=3, subjects=subs, **kw)


def test_the_table_starts_from_a_retest_of_two_subjects():
    start = outcome(subjects())
    assert tt22.learning_result(subjects()) is LearningResult.CHUA_DAT
    assert start.decision.outcome is PO.RETEST and start.decision.retest_subjects == ("ngu_van", "toan")


@pytest.mark.parametrize(
    ("chosen", "retest", "final", "learning_after", "pending"),
    [
        # one of two chosen and passed: Toán keeps its 4.0 year average, Ngữ văn's 6.0 lifts learning to Đạt
        (["ngu_van"], {"ngu_van": "6"}, PO.PROMOTED, LearningResult.DAT, ()),
        # one of two chosen and failed: Ngữ văn still below 3.5
        (["ngu_van"], {"ngu_van": "3.4"}, PO.HELD_BACK, LearningResult.CHUA_DAT, ()),
        # the other one chosen: Toán re-tested at 4.5 while the un-chosen Ngữ văn keeps its 3.0
        (["toan"], {"toan": "4.5"}, PO.HELD_BACK, LearningResult.CHUA_DAT, ()),
        # none chosen: decided at once on the year's results
        ([], {}, PO.HELD_BACK, LearningResult.CHUA_DAT, ()),
        # chosen, no result yet: pending
        (["ngu_van"], {}, None, None, ("retest",)),
        # both chosen: pending until both have results, then decided
        (["ngu_van", "toan"], {"ngu_van": "6"}, None, None, ("retest",)),
        (["toan", "ngu_van"], {"ngu_van": "6", "toan": "2"}, PO.PROMOTED, LearningResult.DAT, ()),
        # no choice recorded: every candidate counts as chosen (the results decide once all are in)
        (None, {"ngu_van": "6"}, None, None, ("retest",)),
        (None, {"ngu_van": "6", "toan": "5"}, PO.PROMOTED, LearningResult.KHA, ()),
    ],
)
def test_chosen_retest(chosen, retest, final, learning_after, pending):
    result = outcome(subjects(), retest=retest, chosen=chosen)
    assert result.decision.outcome is PO.RETEST
    assert (result.final.outcome if result.final else None) is final
    assert result.learning_after_retest is learning_after
    assert result.pending == pending
    expected = ("ngu_van", "toan") if chosen is None else tuple(c for c in ("ngu_van", "toan") if c in chosen)
    assert result.retest_chosen == expected


def test_chosen_retest_after_summer_training():
    """Conduct Chưa đạt and learning Chưa đạt: training first, then only the chosen subject is re-tested."""
    subs = subjects()
    assert outcome(subs, conduct=Conduct.CHUA_DAT, chosen=["ngu_van"]).pending == ("training", "retest")
    done = outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=True, chosen=["ngu_van"], retest={"ngu_van": "7"})
    assert done.final.outcome is PO.PROMOTED
    nothing = outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=True, chosen=[])
    assert nothing.final.outcome is PO.HELD_BACK


@pytest.mark.parametrize(
    ("chosen", "retest", "code"),
    [
        (["ngu_van"], {"toan": "6"}, "retest_not_chosen"),  # a result for a subject not chosen
        (["tin_hoc"], {}, "retest_not_candidate"),  # tin_hoc is at 8.0: nothing to re-test
        (["ngu_van", "ngu_van"], {}, "retest_choice_invalid"),
        ("ngu_van", {}, "retest_choice_invalid"),  # a bare string is not a list of subjects
    ],
)
def test_chosen_retest_refuses(chosen, retest, code):
    with pytest.raises(RuleInputError) as info:
        outcome(subjects(), retest=retest, chosen=chosen)
    assert info.value.code == code and info.value.message_vi and info.value.message_en


def test_choice_has_no_effect_when_nothing_is_retested():
    promoted = subjects(ngu_van="8", toan="8")
    assert outcome(promoted, chosen=[]).final.outcome is PO.PROMOTED


# ---------------------------------------------------------------------------- TT27 summer follow-up

ST, SH, SC = SubjectLevel.HOAN_THANH_TOT, SubjectLevel.HOAN_THANH, SubjectLevel.CHUA_HOAN_THANH
QT, QD, QC = QualityLevel.TOT, QualityLevel.DAT, QualityLevel.CAN_CO_GANG
SUBJECTS = ("tieng_viet", "toan", "dao_duc", "tu_nhien_va_xa_hoi")


def pupil(*, levels=None, tests=None, traits=None, grade=2):
    levels = {code: ST for code in SUBJECTS} | (levels or {})
    tests = {"tieng_viet": 9, "toan": 9} | (tests or {})
    traits = traits or {}
    return tt27.PrimaryYearRecord(
        grade=grade,
        subjects=tuple(levels.items()),
        qualities=tuple((q.code, traits.get(q.code, QT)) for q in tt27.RULES.qualities),
        competencies=tuple((c.code, traits.get(c.code, QT)) for c in tt27.RULES.competencies),
        tests=tuple(tests.items()),
    )


@pytest.mark.parametrize(
    ("record", "followup", "decision", "items", "after", "completed", "promoted", "pending"),
    [
        # completed at the end of the year: nothing to follow up
        (pupil(), {}, None, (), None, True, True, ()),
        (pupil(levels={"toan": SH}, tests={"toan": 5}), {}, None, (), None, True, True, ()),
        # Toán Chưa hoàn thành: follow-up pending, then the supplementary evaluation decides
        (pupil(levels={"toan": SC}), {}, None, ("toan",), None, None, None, ("followup",)),
        (pupil(levels={"toan": SC}), {"toan": SH}, None, ("toan",), YE.HOAN_THANH, True, True, ()),
        (pupil(levels={"toan": SC}), {"toan": SC}, None, ("toan",), YE.CHUA_HOAN_THANH, False, None, ("decision",)),
        # still not completed: the principal decides
        (pupil(levels={"toan": SC}), {"toan": SC}, FD.PROMOTE, ("toan",), YE.CHUA_HOAN_THANH, False, True, ()),
        (pupil(levels={"toan": SC}), {"toan": SC}, FD.REPEAT, ("toan",), YE.CHUA_HOAN_THANH, False, False, ()),
        # a decision taken before the follow-up is complete does not decide
        (pupil(levels={"toan": SC}), {}, FD.PROMOTE, ("toan",), None, None, None, ("followup",)),
        # a decision is not needed once the follow-up completes the grade
        (pupil(levels={"toan": SC}), {"toan": ST}, FD.REPEAT, ("toan",), YE.HOAN_THANH, True, True, ()),
        # an end-of-year test below 5 holds back a subject at Hoàn thành; its follow-up supersedes the test
        (pupil(tests={"tieng_viet": 4}), {"tieng_viet": SH}, None, ("tieng_viet",), YE.HOAN_THANH, True, True, ()),
        # a quality at Cần cố gắng, and one subject: both must reach the completion rung
        (
            pupil(levels={"dao_duc": SC}, traits={"cham_chi": QC}),
            {"dao_duc": SH, "cham_chi": QC},
            None,
            ("dao_duc", "cham_chi"),
            YE.CHUA_HOAN_THANH,
            False,
            None,
            ("decision",),
        ),
        (
            pupil(levels={"dao_duc": SC}, traits={"cham_chi": QC}),
            {"dao_duc": SH, "cham_chi": QD},
            None,
            ("dao_duc", "cham_chi"),
            YE.HOAN_THANH,
            True,
            True,
            (),
        ),
        (
            pupil(levels={"dao_duc": SC}, traits={"cham_chi": QC}),
            {"cham_chi": QD},
            None,
            ("dao_duc", "cham_chi"),
            None,
            None,
            None,
            ("followup",),
        ),
    ],
)
def test_summer_followup(record, followup, decision, items, after, completed, promoted, pending):
    result = tt27.year_end_completion(record, followup=followup, decision=decision)
    assert result.items == items
    assert result.evaluation_after is after
    assert (result.completed, result.promoted, result.pending) == (completed, promoted, pending)
    assert result.decision is (decision if pending == () and completed is False else None)


def test_followup_keeps_the_end_of_year_evaluation():
    result = tt27.year_end_completion(pupil(levels={"toan": SC}), followup={"toan": SH})
    assert result.evaluation is YE.CHUA_HOAN_THANH and result.evaluation_after is YE.HOAN_THANH


def test_followup_waits_for_the_end_of_year_evaluation():
    incomplete = tt27.PrimaryYearRecord(grade=2, subjects=(("toan", None),))
    assert tt27.year_end_completion(incomplete) is None


@pytest.mark.parametrize(
    ("followup", "code"),
    [
        ({"tieng_viet": SH}, "followup_not_needed"),  # completed at the end of the year
        ({"toan": QD}, "level_invalid"),  # a quality level for a subject
        ({"toan": "H"}, "level_invalid"),
    ],
)
def test_followup_refuses(followup, code):
    with pytest.raises(RuleInputError) as info:
        tt27.year_end_completion(pupil(levels={"toan": SC}), followup=followup)
    assert info.value.code == code and info.value.message_vi and info.value.message_en


def test_followup_item_order_and_kinds():
    record = pupil(levels={"dao_duc": SC}, tests={"toan": 3}, traits={"trung_thuc": QC, "the_chat": QC})
    assert tt27.followup_items(record) == ("toan", "dao_duc", "trung_thuc", "the_chat")
