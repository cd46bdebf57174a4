"""Result distributions for the boards: the results frozen at approval counted by school, year, grade, gender and
ethnic group — added at approval and withdrawn at a reopen in the same transaction, recomputed by the
reconciliation (which reports every drift it fixed and the ethnicity values naming none of the 54 groups), read for
a scope in one query with the "< 5" rule below unit level."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.utils import translation

from schools.models import RecordBook, Student, Subject
from schools.rollups import MEASURES, result_values
from schools.services.classwork import conduct_save
from schools.services.common import system_access
from schools.services.records import record_reopen, records_approve, records_submit
from schools.services.setup import assignment_set, class_create, school_year_open
from schools.services.students import student_enrol, student_update
from tenants import perschool
from tenants.distributions import distributions_reconcile
from tenants.models import ResultDistribution, RollupDrift, School, SchoolPlacement
from tenants.rollup_outbox import reconcile_school
from tenants.selectors import DistributionCell, result_distribution

REASON = "Duyệt thử: học bạ mới có hạnh kiểm"
YEAR = 2025
# 6A1's six students (M, F, M, F, M, F): what the school typed as their ethnicity, and their conduct in both terms.
ETHNICITIES = ["Kinh", "Tày", "H'Mông", "Mèo", "kinh", "Người nước ngoài"]
GROUPS = ["01", "02", "08", "08", "01", "00"]
CONDUCT = ["T", "T", "K", "K", "T", "K"]


def in_school(k) -> None:
    connection.set_tenant(k.school)


def cells(school_id: int, year_start: int = YEAR, measure: str | None = None) -> dict[tuple, int]:
    rows = ResultDistribution.objects.filter(school_id=school_id, year_start=year_start).exclude(count=0)
    if measure:
        rows = rows.filter(measure=measure)
    return {
        (r.grade, r.gender, r.ethnicity, r.measure, r.value): r.count
        for r in rows.only("grade", "gender", "ethnicity", "measure", "value", "count")
    }


def approve(w, k, school_class, student_ids=None) -> None:
    in_school(k)
    records_submit(access=k.access(w, "homeroom_a"), school_class=school_class, student_ids=student_ids)
    records_approve(
        access=k.access(w, "principal_a"), school_class=school_class, student_ids=student_ids, reason=REASON
    )


def reopen(w, k, student: int) -> None:
    in_school(k)
    record_reopen(
        access=k.access(w, "principal_a"),
        record=RecordBook.objects.get(student_id=student, year__start_year=YEAR),
        reason="Sửa hạnh kiểm nhập nhầm",
    )


@pytest.fixture
def tt22(w, klass):
    """6A1 with its students' ethnicities typed as schools type them, and their conduct for the year."""
    for sid, typed in zip(klass.students, ETHNICITIES, strict=True):
        Student.objects.filter(pk=sid).update(ethnicity=typed)
    homeroom = klass.access(w, "homeroom_a")
    for term in (1, 2):
        conduct_save(
            access=homeroom,
            school_class=klass.school_class,
            term=term,
            entries=[{"student": s, "level": lv, "text": ""} for s, lv in zip(klass.students, CONDUCT, strict=True)],
        )
    return klass


def expected_conduct() -> dict[tuple, int]:
    genders = ["M", "F"] * 3
    levels = {"T": "tot", "K": "kha"}
    return dict(Counter((6, g, e, "conduct", levels[c]) for g, e, c in zip(genders, GROUPS, CONDUCT, strict=True)))


def test_approval_counts_the_frozen_results_by_grade_gender_and_ethnic_group(w, tt22, queries):
    k = tt22
    with queries() as q:
        approve(w, k, k.school_class)
    assert sum("tenants_resultdistribution" in s for s in q.statements) == 1  # one statement for the class
    assert cells(w.school_a, measure="conduct") == expected_conduct()
    assert cells(w.school_a, measure="conduct")[(6, "M", "01", "conduct", "tot")] == 2  # "Kinh" and "kinh"
    assert cells(w.school_a, measure="conduct")[(6, "M", "08", "conduct", "kha")] == 1  # "H'Mông"
    assert cells(w.school_a, measure="conduct")[(6, "F", "08", "conduct", "kha")] == 1  # "Mèo"
    every = cells(w.school_a)
    # Each TT22 measure counts every approved record once; no TT27 measure appears.
    per_measure = Counter()
    for (_g, _s, _e, measure, value), n in every.items():
        per_measure[measure] += n
        assert value in MEASURES[measure]
    assert per_measure == {"learning": 6, "conduct": 6, "title": 6, "promotion": 6, "promotion_final": 6}
    # The cells are those of the results frozen on the records.
    in_school(k)
    frozen = Counter()
    for record in RecordBook.objects.filter(school_class=k.school_class).select_related("student"):
        group = GROUPS[k.students.index(record.student_id)]
        from_results = result_values(
            {
                "rules": record.results["rules"],
                "learning": record.results["learning"]["year"],
                "conduct": record.results["conduct"]["year"],
                "title": record.results["title"],
                "promotion": record.results["promotion_code"],
                "promotion_final": record.results["promotion_final_code"],
            }
        )
        for measure, value in from_results:
            frozen[(6, record.student.gender, group, measure, value)] += 1
    assert every == dict(frozen)


def test_reopen_withdraws_the_results_and_a_new_approval_counts_them_again(w, tt22):
    k = tt22
    approve(w, k, k.school_class)
    first = k.students[0]  # M, Kinh, conduct Tốt
    reopen(w, k, first)
    after_reopen = cells(w.school_a)
    assert after_reopen[(6, "M", "01", "conduct", "tot")] == 1
    assert sum(n for key, n in after_reopen.items() if key[3] == "conduct") == 5
    # Signing and locking keep the counts; a reopened book's results stay on it for its readers, but not here.
    in_school(k)
    assert RecordBook.objects.get(student_id=first).results  # kept through the reopen
    approve(w, k, k.school_class, [first])
    assert cells(w.school_a, measure="conduct") == expected_conduct()
    # A submitted book reopened (never approved since) withdraws nothing.
    reopen(w, k, first)
    in_school(k)
    records_submit(access=k.access(w, "homeroom_a"), school_class=k.school_class, student_ids=[first])
    reopen(w, k, first)
    assert cells(w.school_a) == after_reopen


def test_incremental_counts_equal_the_recompute_and_drift_is_fixed_and_reported(w, tt22, queries):
    k = tt22
    approve(w, k, k.school_class)
    reopen(w, k, k.students[2])
    connection.set_schema_to_public()
    kept = cells(w.school_a)
    recomputed = perschool.result_distributions(k.school.schema_name)
    assert {(YEAR, *key): n for key, n in recomputed["years"][YEAR].items()} == {
        (YEAR, *key): n for key, n in kept.items()
    }
    with queries() as q:
        clean = distributions_reconcile(w.school_a, k.school.schema_name)
    assert clean.drift == () and cells(w.school_a) == kept
    # The school's chain lock comes before the records are read: no approval commits between the read and the write.
    lock = next(i for i, sql in enumerate(q.statements) if "hocba.audit_chain" in sql)
    assert lock < next(i for i, sql in enumerate(q.statements) if '"schools_recordbook"' in sql)
    assert clean.unmapped == {"Người nước ngoài": 1}  # counted in "00" until the school corrects it

    # Drift: a count off, a cell lost, a cell that should not be there.
    ResultDistribution.objects.filter(school_id=w.school_a, measure="conduct", value="tot", gender="M").update(count=7)
    ResultDistribution.objects.filter(school_id=w.school_a, measure="conduct", value="kha", gender="F").delete()
    ResultDistribution.objects.create(
        school_id=w.school_a,
        year_start=YEAR,
        grade=7,
        gender="F",
        ethnicity="02",
        measure="title",
        value="none",
        count=3,
    )
    fixed = distributions_reconcile(w.school_a, k.school.schema_name)
    assert {(d.grade, d.gender, d.ethnicity, d.measure, d.value, d.recorded, d.actual) for d in fixed.drift} == {
        (6, "M", "01", "conduct", "tot", 7, 2),
        (6, "F", "08", "conduct", "kha", 0, 1),
        (6, "F", "00", "conduct", "kha", 0, 1),
        (7, "F", "02", "title", "none", 3, 0),
    }
    assert all(d.year_start == YEAR for d in fixed.drift)
    assert cells(w.school_a) == kept
    assert distributions_reconcile(w.school_a, k.school.schema_name).drift == ()


def test_a_corrected_gender_or_ethnicity_moves_the_approved_results(w, tt22, queries):
    k = tt22
    approve(w, k, k.school_class)
    in_school(k)
    principal = k.access(w, "principal_a")
    mong = Student.objects.get(pk=k.students[3])  # F, "Mèo": already Mông
    with queries() as q:
        student_update(access=principal, student=mong, profile={"ethnicity": "H'Mông"}, today=dt.date(2026, 6, 1))
    assert not any("tenants_resultdistribution" in sql for sql in q.statements)  # same group: nothing moves
    foreign = Student.objects.get(pk=k.students[5])  # F, "Người nước ngoài" → corrected to Khơ-me, and male
    student_update(
        access=principal, student=foreign, profile={"ethnicity": "Khmer", "gender": "M"}, today=dt.date(2026, 6, 1)
    )
    conduct = cells(w.school_a, measure="conduct")
    assert (6, "F", "00", "conduct", "kha") not in conduct and conduct[(6, "M", "05", "conduct", "kha")] == 1
    assert sum(n for key, n in cells(w.school_a).items() if key[1:3] == ("M", "05")) == 5  # each TT22 measure
    connection.set_schema_to_public()
    again = distributions_reconcile(w.school_a, k.school.schema_name)
    assert again.drift == () and again.unmapped == {}


def test_outbox_mode_writes_the_distributions_inline(w, tt22, settings, django_capture_on_commit_callbacks):
    settings.ROLLUP_MODE = "outbox"
    with django_capture_on_commit_callbacks():
        approve(w, tt22, tt22.school_class)
    assert cells(w.school_a, measure="conduct") == expected_conduct()


def test_english_labels_in_the_frozen_results_count_as_their_levels():
    """The results hold labels in the approver's language."""
    vi = {"rules": "TT22/2021", "learning": "Tốt", "conduct": "Khá", "title": "Học sinh Giỏi", "promotion": "len_lop"}
    en = {**vi, "learning": "Good", "conduct": "Fairly good", "title": "Very good student"}
    assert result_values(vi) == result_values(en)
    assert result_values(en) == [
        ("learning", "tot"),
        ("conduct", "kha"),
        ("title", "hoc_sinh_gioi"),
        ("promotion", "len_lop"),
        ("promotion_final", "none"),
    ]
    tt27 = {
        "rules": "TT27/2020",
        "evaluation": "Completed well",
        "commendations": ["Học sinh Xuất sắc", "Khen thưởng đột xuất: Cứu bạn đuối nước"],
        "promotion_final": "len_lop",
    }
    assert result_values(tt27) == [
        ("evaluation", "hoan_thanh_tot"),
        ("commendation", "hoc_sinh_xuat_sac"),
        ("commendation", "khen_thuong_dot_xuat"),
        ("promotion_final", "len_lop"),
    ]


@pytest.fixture
def primary(w, klass):
    """Grade 3 class 3A (TT27) of 2026–2027 in school A, homeroom_a its homeroom teacher, three pupils."""
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2026, levels=["primary"])
    three = class_create(access=system, year=year, name="3A", grade=3, homeroom_teacher_id=w.accounts["homeroom_a"])
    assignment_set(
        access=system,
        school_class=three,
        subject=Subject.objects.get(level="primary", code="tieng_viet"),
        teacher_id=w.accounts["teacher_a"],
    )
    pupils = [
        student_enrol(
            access=system,
            school_class=three,
            today=dt.date(2026, 9, 10),
            profile={"full_name": name, "date_of_birth": "05/03/2018", "gender": gender, "ethnicity": typed},
        ).pk
        for name, gender, typed in (
            ("Lý Thị Mai", "F", "Tày"),
            ("Hoàng Văn Pó", "M", "Dân tộc Tày"),
            ("Thạch Sô Phia", "F", "Khmer"),
        )
    ]
    return three, pupils


def test_a_primary_school_counts_the_tt27_measures(w, klass, primary):
    three, pupils = primary
    approve(w, klass, three)
    found = cells(w.school_a, year_start=2026)
    assert {key[3] for key in found} == {"evaluation", "commendation", "promotion_final"}
    assert {key[0] for key in found} == {3}
    evaluation = {key[1:3]: n for key, n in found.items() if key[3] == "evaluation"}
    assert evaluation == {("F", "02"): 1, ("M", "02"): 1, ("F", "05"): 1}
    in_school(klass)
    record = RecordBook.objects.get(student_id=pupils[2])
    expected = dict(result_values({"rules": "TT27/2020", "evaluation": record.results["evaluation"]}))["evaluation"]
    assert found[(3, "F", "05", "evaluation", expected)] == 1
    reopen_record = RecordBook.objects.get(student_id=pupils[0])
    record_reopen(access=klass.access(w, "principal_a"), record=reopen_record, reason="Sửa đánh giá")
    assert not any(key[1:3] == ("F", "02") for key in cells(w.school_a, year_start=2026))
    connection.set_schema_to_public()
    assert distributions_reconcile(w.school_a, klass.school.schema_name).drift == ()


# --- the selector ----------------------------------------------------------------------------------------------


def _school(i: int, unit_id: int) -> School:
    school = School.objects.create(
        schema_name=f"s_dist_{i}",
        moet_code=f"9871{i:04d}",
        name=f"Trường THCS Phân Bố {i}",
        slug=f"thcs-pb-{i}",
        levels=["lower_secondary"],
        created_on=dt.date(2025, 1, 1),
    )
    SchoolPlacement.objects.create(school=school, unit_id=unit_id, valid_from=dt.date(2025, 1, 1))
    return school


def _fill(school_id: int) -> None:
    """Grade 6: 3 Kinh boys "tot", 1 Tày girl "tot", 6 Kinh girls "kha"; grade 7: 2 Mông boys "dat"."""
    ResultDistribution.objects.bulk_create(
        ResultDistribution(
            school_id=school_id, year_start=YEAR, grade=g, gender=s, ethnicity=e, measure="conduct", value=v, count=n
        )
        for g, s, e, v, n in (
            (6, "M", "01", "tot", 3),
            (6, "F", "02", "tot", 1),
            (6, "F", "01", "kha", 6),
            (7, "M", "08", "dat", 2),
            (7, "M", "08", "kha", 0),  # withdrawn by a reopen: not a cell any more
        )
    )


def test_a_single_school_shows_small_cells_as_under_five_and_a_unit_shows_numbers(w):
    _fill(w.school_a)
    _fill(w.school_b)
    one = result_distribution(year_start=YEAR, measure="conduct", by=["grade"], school_ids=[w.school_a])
    assert one.masked and one.by == ("grade",)
    assert [(c.grade, c.value, c.count, c.shown) for c in one.cells] == [
        (6, "kha", 6, "6"),
        (6, "tot", None, "< 5"),
        (7, "dat", None, "< 5"),
    ]
    by_group = result_distribution(
        year_start=YEAR, measure="conduct", by=["ethnicity", "gender"], school_ids=[w.school_a]
    )
    assert [(c.gender, c.ethnicity, c.ethnicity_name, c.value, c.shown) for c in by_group.cells] == [
        ("F", "01", "Kinh", "kha", "6"),
        ("F", "02", "Tày", "tot", "< 5"),
        ("M", "01", "Kinh", "tot", "< 5"),
        ("M", "08", "Mông", "dat", "< 5"),
    ]
    unit = result_distribution(year_start=YEAR, measure="conduct", by=["grade"], unit_ids=[w.unit_a, w.unit_b])
    assert not unit.masked
    assert [(c.grade, c.value, c.count, c.shown) for c in unit.cells] == [
        (6, "kha", 12, "12"),
        (6, "tot", 8, "8"),
        (7, "dat", 4, "4"),
    ]
    unit_a = result_distribution(year_start=YEAR, measure="conduct", unit_ids=[w.unit_a])
    assert not unit_a.masked  # a unit's schools: numbers, even when the unit holds one school
    assert [(c.grade, c.value, c.shown) for c in unit_a.cells] == [
        (None, "dat", "2"),
        (None, "kha", "6"),
        (None, "tot", "4"),
    ]
    two = result_distribution(year_start=YEAR, measure="conduct", school_ids=[w.school_a, w.school_b])
    assert not two.masked and [c.count for c in two.cells] == [4, 12, 8]
    assert result_distribution(year_start=YEAR, measure="learning", school_ids=[w.school_a]).cells == ()
    assert result_distribution(year_start=YEAR, measure="conduct").cells == ()
    other = DistributionCell(grade=None, gender=None, ethnicity="00", value="tot", count=3, shown="3")
    assert other.ethnicity_name == "Khác / chưa xác định"
    with translation.override("en"):
        assert other.ethnicity_name == "Other / unknown" and by_group.cells[0].ethnicity_name == "Kinh"
    with pytest.raises(ValueError, match="unknown groupings"):
        result_distribution(year_start=YEAR, measure="conduct", by=["class"], school_ids=[w.school_a])


def test_the_selector_takes_one_query_for_two_schools_or_ten(w, queries):
    schools = [_school(i, w.unit_b) for i in range(10)]
    for school in schools:
        _fill(school.pk)
    counts = []
    for n in (2, 10):
        ids = [s.pk for s in schools[:n]]
        with queries() as q:
            by_school = result_distribution(year_start=YEAR, measure="conduct", by=["gender"], school_ids=ids)
        with queries() as q_unit:
            by_unit = result_distribution(year_start=YEAR, measure="conduct", by=["grade"], unit_ids=[w.unit_b])
        counts.append((len(q), len(q_unit)))
        assert sum(c.count for c in by_school.cells) == 12 * n
        assert sum(c.count for c in by_unit.cells) == 12 * 10
    assert counts == [(1, 1), (1, 1)]


def test_the_reconciliation_pass_records_the_distributions_drift_and_logs_unmapped_values(w, tt22, caplog):
    k = tt22
    approve(w, k, k.school_class)
    connection.set_schema_to_public()
    reconcile_school(w.school_a, k.school.schema_name, run="first")
    assert not RollupDrift.objects.filter(school_id=w.school_a, table="resultdistribution").exists()
    ResultDistribution.objects.filter(school_id=w.school_a, measure="conduct", value="tot", gender="M").update(count=7)
    with caplog.at_level("INFO", logger="tenants.rollup_outbox"):
        reconcile_school(w.school_a, k.school.schema_name, run="second")
    drift = list(
        RollupDrift.objects.filter(school_id=w.school_a, table="resultdistribution").values_list(
            "year_start", "field", "old", "new", "run"
        )
    )
    assert drift == [(YEAR, "6/M/01/conduct/tot", 7, 2, "second")]
    assert cells(w.school_a, measure="conduct")[(6, "M", "01", "conduct", "tot")] == 2
    assert any("Người nước ngoài" in r.getMessage() for r in caplog.records if "54 groups" in r.getMessage())
