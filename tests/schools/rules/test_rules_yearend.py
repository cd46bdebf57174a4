"""TT22 after the year: re-test results and summer conduct training decide the final promotion."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schools.rules import tt22
from schools.rules.common import Conduct, LearningResult, PassFail, RuleInputError

PO = tt22.PromotionOutcome


def subjects(**averages):
    out = [tt22.SubjectResult.scored(code, Decimal(v)) for code, v in averages.items()]
    return out + [tt22.SubjectResult.commented("giao_duc_the_chat", PassFail.DAT)]


GOOD = dict(ngu_van="8", toan="8", ngoai_ngu_1="8", lich_su_va_dia_li="8", khoa_hoc_tu_nhien="8", tin_hoc="8")


def outcome(subs, conduct=Conduct.TOT, absences=0, **kw):
    learning = tt22.learning_result(subs)
    return tt22.year_end_outcome(conduct=conduct, learning=learning, absences=absences, subjects=subs, **kw)


def test_promoted_is_final_at_once():
    result = outcome(subjects(**GOOD))
    assert result.decision.outcome is PO.PROMOTED and result.final.outcome is PO.PROMOTED and result.pending == ()


def test_retest_pending_then_decided_by_the_recomputed_learning():
    subs = subjects(**{**GOOD, "toan": "3", "ngu_van": "3"})
    pending = outcome(subs)
    assert pending.decision.outcome is PO.RETEST and pending.final is None and pending.pending == ("retest",)
    assert pending.decision.retest_subjects == ("ngu_van", "toan")
    assert outcome(subs, retest={"toan": "6"}).final is None  # one subject still missing
    passed = outcome(subs, retest={"toan": "6", "ngu_van": Decimal("5.5")})
    assert passed.final.outcome is PO.PROMOTED and passed.learning_after_retest is LearningResult.DAT
    failed = outcome(subs, retest={"toan": "3", "ngu_van": "2"})
    assert failed.final.outcome is PO.HELD_BACK and failed.learning_after_retest is LearningResult.CHUA_DAT


def test_comment_subject_retest_takes_pass_fail():
    subs = [
        *subjects(**{**GOOD, "toan": "3", "ngu_van": "3"})[:-1],
        tt22.SubjectResult.commented("am_nhac", PassFail.CHUA_DAT),
        tt22.SubjectResult.commented("giao_duc_the_chat", PassFail.CHUA_DAT),
    ]
    result = outcome(subs, retest={"toan": "6", "ngu_van": "6", "am_nhac": "Đ", "giao_duc_the_chat": PassFail.DAT})
    assert result.final.outcome is PO.PROMOTED
    with pytest.raises(RuleInputError) as info:
        outcome(subs, retest={"am_nhac": "7"})
    assert info.value.code == "retest_verdict_invalid"


def test_retest_refuses_other_subjects_and_bad_scores():
    subs = subjects(**{**GOOD, "toan": "3", "ngu_van": "3"})
    with pytest.raises(RuleInputError) as info:
        outcome(subs, retest={"tin_hoc": "7"})
    assert info.value.code == "retest_not_candidate"
    with pytest.raises(RuleInputError) as info:
        outcome(subs, retest={"toan": "10.5"})
    assert info.value.code == "score_out_of_range"


def test_summer_training():
    subs = subjects(**GOOD)
    pending = outcome(subs, conduct=Conduct.CHUA_DAT)
    assert pending.decision.outcome is PO.CONDUCT_TRAINING and pending.pending == ("training",)
    assert outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=True).final.outcome is PO.PROMOTED
    assert outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=False).final.outcome is PO.HELD_BACK


def test_training_then_retest():
    subs = subjects(**{**GOOD, "toan": "3", "ngu_van": "3"})
    both = outcome(subs, conduct=Conduct.CHUA_DAT)
    assert both.pending == ("training", "retest")
    after_training = outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=True)
    assert after_training.final is None and after_training.pending == ("retest",)
    done = outcome(subs, conduct=Conduct.CHUA_DAT, training_passed=True, retest={"toan": "7", "ngu_van": "7"})
    assert done.final.outcome is PO.PROMOTED


def test_absences_hold_back_whatever_follows():
    result = outcome(subjects(**GOOD), absences=46, training_passed=True)
    assert result.final.outcome is PO.HELD_BACK and result.final.too_many_absences


def test_missing_results_are_not_computed():
    assert tt22.year_end_outcome(conduct=None, learning=None, absences=0, subjects=[]) is None
