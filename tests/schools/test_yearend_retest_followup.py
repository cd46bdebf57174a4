"""After the year, by every path (API, the year-end page's keyboard save and its form, the record book): the
re-test of the subjects a student chose (TT22 Điều 12.1) and the primary summer follow-up (TT27), with the
refusals, the foreign school, the frozen results of an approved book and the carry-over they decide."""

from __future__ import annotations

import json
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools.models import Assessment, RecordBook
from schools.services.results import class_results
from schools.services.students import _year_outcome
from tests.schools import test_yearend as base
from tests.schools.test_yearend import all_traits, api, decide, fill, page
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST

primary = base.primary  # the fixtures of the year-end tests: a grade 3 class, and 6A1 with every subject entered
year_end = base.year_end

# --- TT22: the subjects chosen for the re-test -------------------------------------------------------
# Bình: Ngữ văn 3.0 and Toán 3.0, every other subject 8.0 → re-test of ngu_van and toan. With Ngữ văn re-tested
# at 6.0, Toán alone below 3.5 is lifted one level by the Điều 9 adjustment (Đạt): one re-test is enough.


def test_one_of_two_chosen_and_passed_decides_without_the_other(w, klass, year_end):
    _an, binh, _cuong = year_end
    response = decide(w, klass, [{"student": binh, "retest_chosen": ["ngu_van"], "retest": {"ngu_van": "6"}}])
    assert response.status_code == 200, response.content
    record = RecordBook.objects.get(student_id=binh)
    assert record.retest_chosen == ["ngu_van"] and record.retest_scores == {"ngu_van": "6.0"}
    assert record.retest_passed is True
    res = class_results(klass.school_class, [binh])[binh]
    assert res.promotion_final == "Được lên lớp" and res.yearend_pending == [] and res.learning_after_retest == "Đạt"
    assert res.retest_chosen == ["ngu_van"] and res.retest_results == {"ngu_van": "6,0"}
    assert [(c["code"], c["chosen"]) for c in res.retest_candidates] == [("ngu_van", True), ("toan", False)]
    # The year-end table (API) says which subject was chosen; Toán keeps its year average.
    rows = {r["student"]: r for r in api(w, "principal_a").get(f"/api/v1/classes/{klass.school_class.pk}/year-end/")
            .json()["rows"]}  # fmt: skip
    assert [(c["code"], c["chosen"]) for c in rows[binh]["retest_candidates"]] == [("ngu_van", True), ("toan", False)]
    assert rows[binh]["retest_choice_recorded"] is True and rows[binh]["promotion_final_code"] == "len_lop"


def test_one_of_two_chosen_and_failed_holds_back(w, klass, year_end):
    _an, binh, _cuong = year_end
    assert (
        decide(w, klass, [{"student": binh, "retest_chosen": ["ngu_van"], "retest": {"ngu_van": "2"}}]).status_code
        == 200
    )
    res = class_results(klass.school_class, [binh])[binh]
    assert res.promotion_final == "Ở lại lớp" and res.learning_after_retest == "Chưa đạt"
    assert RecordBook.objects.get(student_id=binh).retest_passed is False


def test_none_chosen_decides_at_once_and_no_choice_waits_for_every_subject(w, klass, year_end):
    _an, binh, _cuong = year_end
    assert decide(w, klass, [{"student": binh, "retest_chosen": []}]).status_code == 200
    res = class_results(klass.school_class, [binh])[binh]
    assert res.promotion_final == "Ở lại lớp" and res.yearend_pending == []
    assert RecordBook.objects.get(student_id=binh).retest_passed is False
    # Back to "no choice recorded": every candidate is to re-test, pending until both have results.
    assert decide(w, klass, [{"student": binh, "retest_chosen": None, "retest": {"toan": "6"}}]).status_code == 200
    res = class_results(klass.school_class, [binh])[binh]
    assert RecordBook.objects.get(student_id=binh).retest_chosen is None
    assert res.promotion_final == "" and res.yearend_pending == ["retest"] and res.retest_choice_recorded is False


def test_chosen_retest_refusals_change_nothing(w, klass, year_end):
    an, binh, _cuong = year_end
    bad = [
        {"student": binh, "retest_chosen": ["tin_hoc"]},
        {"student": binh, "retest_chosen": ["ngu_van"], "retest": {"toan": "6"}},
        {"student": an, "retest_chosen": []},
    ]
    response = decide(w, klass, bad)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["code"] for e in errors] == [
        "yearend.retest_not_candidate",
        "yearend.retest_not_chosen",
        "yearend.no_retest",
    ]
    assert all(e["detail"] and e["detail_en"] for e in errors) and errors[1]["field"] == "toan"
    record = RecordBook.objects.get(student_id=binh)
    assert record.retest_chosen is None and record.retest_scores == {}
    # Un-choosing a subject that has a result is refused until the result is cleared (then both in one entry).
    decide(w, klass, [{"student": binh, "retest": {"toan": "6"}}])
    refused = decide(w, klass, [{"student": binh, "retest_chosen": ["ngu_van"]}])
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "yearend.retest_not_chosen"
    both = decide(w, klass, [{"student": binh, "retest_chosen": ["ngu_van"], "retest": {"toan": ""}}])
    assert both.status_code == 200 and RecordBook.objects.get(student_id=binh).retest_scores == {}
    # Only BGH decides; a foreign school's principal does not.
    assert decide(w, klass, [{"student": binh, "retest_chosen": []}], name="homeroom_a").status_code == 403
    assert decide(w, klass, [{"student": binh, "retest_chosen": []}], name="principal_b").status_code == 403
    foreign = api(w, "principal_b", SCHOOL_B_HOST).put(
        f"/api/v1/classes/{klass.school_class.pk}/year-end/decisions/",
        {"entries": [{"student": binh, "retest_chosen": []}]},
        format="json",
    )
    assert foreign.status_code == 404
    connection.set_tenant(klass.school)
    assert RecordBook.objects.get(student_id=binh).retest_chosen == ["ngu_van"]


def test_year_end_page_saves_through_the_keyboard_path(w, klass, year_end):
    an, binh, cuong = year_end
    url = f"/year-end/classes/{klass.school_class.pk}/"
    html = page(w, "principal_a").get(url).content.decode()
    config = json.loads(
        re.search(r'<script id="entry-config" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert (
        config["kind"] == "yearend" and config["api"] == f"/api/v1/classes/{klass.school_class.pk}/year-end/decisions/"
    )
    assert "class_entry.js" in html and 'id="entry"' in html and 'id="entry-save"' in html
    assert f'name="chosen-{binh}-ngu_van" data-field="chosen" data-code="ngu_van" data-original="1" checked' in html
    assert f'name="retest-{binh}-toan"' in html and 'data-field="retest" data-code="toan" data-original=""' in html
    assert f'name="training-{cuong}" data-field="summer_training" data-original=""' in html
    assert html.count('class="row-msg"') == 6
    # The same keys through the form (no JavaScript): Toán un-ticked, Ngữ văn re-tested.
    form = {
        f"present-{binh}": "1",
        f"choice-{binh}": "1",
        f"chosen-{binh}-ngu_van": "on",
        f"retest-{binh}-ngu_van": "6,5",
    }
    response = page(w, "principal_a").post(f"{url}decisions/", form, follow=True)
    assert "Đã lưu quyết định cuối năm của 1 học sinh" in response.content.decode()
    record = RecordBook.objects.get(student_id=binh)
    assert record.retest_chosen == ["ngu_van"] and record.retest_scores == {"ngu_van": "6.5"}
    after = page(w, "principal_a").get(url).content.decode()
    assert f'name="chosen-{binh}-toan" data-field="chosen" data-code="toan" data-original="0" aria-label' in after
    # Back from a save through the API, the page says how many were saved.
    assert "Đã lưu quyết định cuối năm của 3 học sinh" in page(w, "principal_a").get(f"{url}?saved=3").content.decode()
    # The homeroom teacher reads the choice, without the entry script.
    homeroom = page(w, "homeroom_a").get(url).content.decode()
    assert "class_entry.js" not in homeroom and "không chọn kiểm tra lại" in homeroom
    # The record book shows the chosen subject's result and the un-chosen one.
    book = page(w, "principal_a").get(f"/students/{binh}/record/").content.decode()
    assert "Ngữ văn: 6,5" in book and "không chọn kiểm tra lại" in book and "Được lên lớp" in book


def test_subject_teacher_reads_no_year_end_decisions(w, klass, year_end):
    _an, binh, _cuong = year_end
    decide(w, klass, [{"student": binh, "retest_chosen": ["ngu_van"], "retest": {"ngu_van": "6"}}])
    results = api(w, "teacher_a").get(f"/api/v1/students/{binh}/record/").json()["results"]
    assert "retest_chosen" not in results and "promotion_final" not in results and "retest_results" not in results
    assert "không chọn kiểm tra lại" not in page(w, "teacher_a").get(f"/students/{binh}/record/").content.decode()


def test_decisions_save_in_constant_statements(w, klass, year_end):
    an, binh, cuong = year_end

    def statements(entries):
        with CaptureQueriesContext(connection) as ctx:
            assert decide(w, klass, entries).status_code == 200
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])

    one = statements([{"student": an, "principal_comment": "Tốt"}])
    many = statements(
        [{"student": sid, "principal_comment": "Khá"} for sid in klass.students]
        + [{"student": binh, "retest_chosen": ["ngu_van"], "retest": {"ngu_van": "6"}}]
        + [{"student": cuong, "summer_training": True}]
    )
    assert many == one, (one, many)


# --- TT27: the summer follow-up ----------------------------------------------------------------------


def not_completed(w, primary_class, pupils):
    """Every pupil Hoàn thành xuất sắc, then Mai's Toán Chưa hoàn thành at the end of the year."""
    fill(primary_class, pupils)
    api(w, "homeroom_a").put(
        f"/api/v1/classes/{primary_class.pk}/qualities/2/end/", {"entries": all_traits(pupils)}, format="json"
    )
    Assessment.objects.filter(student_id=pupils[0], kind="mck", term=2, subject__code="toan").update(verdict="C")


def followup(w, primary_class, entries, name="principal_a"):
    return api(w, name).put(
        f"/api/v1/classes/{primary_class.pk}/year-end/decisions/", {"entries": entries}, format="json"
    )


def test_summer_followup_plan_evaluation_and_decision(w, klass, primary):
    three, (mai, nam) = primary["class"], primary["pupils"]
    not_completed(w, three, [mai, nam])
    start = class_results(three, [mai, nam])
    assert start[mai].evaluation == "Chưa hoàn thành" and start[mai].yearend_pending == ["followup"]
    assert [i["code"] for i in start[mai].followup_items] == ["toan"] and start[mai].promotion_final == ""
    assert start[nam].followup_items == [] and start[nam].completion == "Hoàn thành chương trình lớp học"
    # The plan and a follow-up still Chưa hoàn thành: the principal decides.
    plan = "Ôn Toán hai buổi mỗi tuần trong tháng 7 với cô chủ nhiệm"
    response = followup(w, three, [{"student": mai, "followup_plan": plan, "followup_levels": {"toan": "c"}}])
    assert response.status_code == 200, response.content
    res = class_results(three, [mai])[mai]
    assert res.evaluation_after_followup == "Chưa hoàn thành" and res.yearend_pending == ["decision"]
    assert followup(w, three, [{"student": mai, "followup_decision": "len_lop"}]).status_code == 200
    res = class_results(three, [mai])[mai]
    assert (res.promotion_final, res.promotion_final_code, res.followup_decision) == (
        "Được lên lớp",
        "len_lop",
        "Lên lớp",
    )
    assert res.completion == "Chưa hoàn thành chương trình lớp học"
    record = RecordBook.objects.get(student_id=mai)
    assert (record.followup_plan, record.followup_levels, record.followup_decision) == (plan, {"toan": "C"}, "len_lop")
    # The follow-up corrected to Hoàn thành: the grade is completed, the decision no longer stands.
    assert followup(w, three, [{"student": mai, "followup_levels": {"toan": "Hoàn thành"}}]).status_code == 200
    res = class_results(three, [mai])[mai]
    assert res.evaluation_after_followup == "Hoàn thành" and res.completion == "Hoàn thành chương trình lớp học"
    assert res.evaluation == "Chưa hoàn thành" and res.promotion_final_code == "len_lop"
    assert RecordBook.objects.get(student_id=mai).followup_decision == ""
    # The year-end table (API) carries the follow-up.
    rows = {r["student"]: r for r in api(w, "principal_a").get(f"/api/v1/classes/{three.pk}/year-end/").json()["rows"]}
    assert rows[mai]["followup_items"][0] | {"input": "H"} == rows[mai]["followup_items"][0]
    assert rows[mai]["followup_plan"] == plan and rows[mai]["completion"] == "Hoàn thành chương trình lớp học"


def test_summer_followup_refusals_change_nothing(w, klass, primary, year_end):
    three, (mai, nam) = primary["class"], primary["pupils"]
    not_completed(w, three, [mai, nam])
    bad = [
        {"student": nam, "followup_plan": "x"},  # completed the grade: nothing to follow up
        {"student": mai, "followup_levels": {"tieng_viet": "H"}},  # Tiếng Việt was not what held Mai back
        {"student": mai, "followup_levels": {"toan": "Đ"}},  # a quality's level for a subject
    ]
    response = followup(w, three, bad)
    assert response.status_code == 400
    codes = [e["code"] for e in response.json()["errors"]]
    assert codes == ["yearend.no_followup", "yearend.followup_not_needed", "yearend.bad_followup_level"]
    # (the serializer refuses an unknown decision before the service: one entry alone)
    unknown = followup(w, three, [{"student": mai, "followup_decision": "len_lop_som"}])
    assert unknown.status_code == 400
    # A decision before the follow-up evaluation is refused.
    early = followup(w, three, [{"student": mai, "followup_plan": "Ôn tập", "followup_decision": "o_lai_lop"}])
    assert early.status_code == 400 and early.json()["errors"][0]["code"] == "yearend.followup_no_decision"
    record = RecordBook.objects.get(student_id=mai)
    assert (record.followup_plan, record.followup_levels, record.followup_decision) == ("", {}, "")
    # Secondary students have no TT27 follow-up; primary pupils no re-test.
    _an, binh, _cuong = year_end
    secondary = decide(w, klass, [{"student": binh, "followup_plan": "x"}])
    assert secondary.status_code == 400 and secondary.json()["errors"][0]["code"] == "yearend.no_followup"
    retest = followup(w, three, [{"student": mai, "retest": {"toan": "6"}}])
    assert retest.status_code == 400 and retest.json()["errors"][0]["code"] == "yearend.no_retest"
    # Only BGH; not a foreign school.
    assert followup(w, three, [{"student": mai, "followup_plan": "x"}], name="homeroom_a").status_code == 403
    foreign = api(w, "principal_b", SCHOOL_B_HOST).put(
        f"/api/v1/classes/{three.pk}/year-end/decisions/", {"entries": []}, format="json"
    )
    assert foreign.status_code == 404
    connection.set_tenant(klass.school)


def test_followup_page_form_record_book_and_approval(w, klass, primary):
    three, (mai, nam) = primary["class"], primary["pupils"]
    not_completed(w, three, [mai, nam])
    url = f"/year-end/classes/{three.pk}/"
    html = page(w, "principal_a").get(url).content.decode()
    assert f'name="followup-{mai}-toan" data-field="followup_level" data-code="toan" data-original=""' in html
    assert f'name="followup-plan-{mai}"' in html and f'name="followup-{nam}-' not in html
    form = {
        f"present-{mai}": "1",
        f"followup-plan-{mai}": "Ôn Toán trong hè",
        f"followup-{mai}-toan": "C",
    }
    assert (
        "Đã lưu quyết định cuối năm của 1 học sinh"
        in page(w, "principal_a").post(f"{url}decisions/", form, follow=True).content.decode()
    )
    form |= {f"followup-decision-{mai}": "o_lai_lop"}
    page(w, "principal_a").post(f"{url}decisions/", form)
    assert RecordBook.objects.get(student_id=mai).followup_decision == "o_lai_lop"
    # The record book shows both evaluations, the plan and the decision.
    book = page(w, "principal_a").get(f"/students/{mai}/record/").content.decode()
    for text in ("Chưa hoàn thành", "Ôn Toán trong hè", "Đánh giá bổ sung sau hè", "Quyết định của Hiệu trưởng",
                 "Ở lại lớp", "Chưa hoàn thành chương trình lớp học"):  # fmt: skip
        assert text in book, text
    # Carried over: Mai repeats, by the principal's decision.
    live = class_results(three, [mai])[mai].as_dict()
    assert _year_outcome(live, None) == "repeat"
    assert _year_outcome({**live, "promotion_final_code": "len_lop"}, None) == "promote"
    assert _year_outcome({**live, "promotion_final_code": ""}, None) == "pending"
    assert _year_outcome({"evaluation": "Chưa hoàn thành"}, None) == "repeat"  # a book frozen before the follow-up
    # Approval freezes the results with the follow-up; the approved book still shows both evaluations.
    assert api(w, "homeroom_a").post(f"/api/v1/classes/{three.pk}/submit/").status_code == 200
    reason = {"reason": "Lớp chỉ nhập các môn cần cho đánh giá bổ sung"}
    assert api(w, "principal_a").post(f"/api/v1/classes/{three.pk}/approve/", reason).status_code == 200
    frozen = RecordBook.objects.get(student_id=mai).results
    assert frozen["evaluation"] == "Chưa hoàn thành" and frozen["evaluation_after_followup"] == "Chưa hoàn thành"
    assert frozen["followup_items"][0]["code"] == "toan" and frozen["promotion_final_code"] == "o_lai_lop"
    approved = page(w, "principal_a").get(f"/students/{mai}/record/").content.decode()
    assert "Ôn Toán trong hè" in approved and "Ở lại lớp" in approved
    refused = followup(w, three, [{"student": mai, "followup_decision": "len_lop"}])
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "class.record_approved"
    assert SCHOOL_A_HOST  # the pages above ran on school A's address


def test_followup_reads_in_english(w, klass, primary):
    three, (mai, nam) = primary["class"], primary["pupils"]
    not_completed(w, three, [mai, nam])
    followup(w, three, [{"student": mai, "followup_levels": {"toan": "C"}, "followup_decision": "len_lop"}])
    client = page(w, "principal_a")
    html = client.get(f"/year-end/classes/{three.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Summer follow-up and further evaluation" in html and "The principal's decision" in html
    assert "C — Not completed" in html and ">Promoted</option>" in html and "Held back" in html
    book = client.get(f"/students/{mai}/record/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Further evaluation after the summer" in book and "Has not completed the grade&#x27;s programme" in book
    refused = api(w, "principal_a").put(
        f"/api/v1/classes/{three.pk}/year-end/decisions/",
        {"entries": [{"student": mai, "followup_levels": {"toan": "X"}}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.json()["errors"][0]["detail_en"].startswith("The follow-up level “X” of Toán is not valid")
