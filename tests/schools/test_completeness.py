"""Completeness of record books before submitting and approving; submitting and withdrawing per student or per class;
approving incomplete books only with a reason — by service, API and page, with the rollup, the audit and the rights."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hocba.kernel.errors import DomainError, NotAllowed
from rest_framework.test import APIClient

from schools.audit.history import history
from schools.compliance import required_columns, unfinished_sheets
from schools.models import (
    Assessment,
    Conduct,
    Exemption,
    ExemptionPart,
    QualityAssessment,
    RecordBook,
    Subject,
)
from schools.rules import tt27
from schools.selectors.completeness import (
    COMMENT,
    CONDUCT,
    QUALITIES,
    SHEET,
    TERM,
    class_completeness,
    classes_incomplete_counts,
)
from schools.services.common import system_access
from schools.services.records import records_approve, records_submit, records_withdraw
from schools.services.results import class_subjects
from schools.services.setup import class_create, school_year_open, subject_parts_save
from schools.services.students import student_enrol
from tenants.models import School, SchoolRollup
from tests.support import SCHOOL_A_HOST, SCHOOL_B_HOST, client_for, page_text

TODAY = dt.date(2025, 10, 1)
QUALITY_CODES = [n.code for n in tt27.RULES.qualities + tt27.RULES.competencies]
REASON = "Học sinh chuyển đến giữa năm, đã có học bạ trường cũ"


def api(w, name: str, host: str = SCHOOL_A_HOST) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    client.force_authenticate(w.account(name))
    return client


def _value(subject: Subject, column) -> dict:
    if column.value_type == "score":
        return {"score": 8}
    if column.value_type == "test":
        return {"score": 9}
    if column.value_type == "passfail":
        return {"verdict": "D"}
    return {"verdict": "T"}


def fill_all(school_class, students, *, comment: str = "Chăm ngoan, tiến bộ.") -> None:
    """Every required value of the students' record books: both terms of every subject, conduct or the qualities,
    and the homeroom teacher's comment."""
    rows = []
    for subject in class_subjects(school_class):
        for term in (1, 2):
            for column in required_columns(subject, school_class, term):
                for s in students:
                    rows.append(
                        Assessment(
                            student_id=s,
                            subject=subject,
                            year_id=school_class.year_id,
                            term=term,
                            kind=column.kind,
                            seq=column.seq,
                            **_value(subject, column),
                        )
                    )
    Assessment.objects.bulk_create(rows)
    if school_class.level == "primary":
        QualityAssessment.objects.bulk_create(
            QualityAssessment(student_id=s, year_id=school_class.year_id, term=t, checkpoint="end", code=c, level="T")
            for s in students
            for t in (1, 2)
            for c in QUALITY_CODES
        )
    else:
        Conduct.objects.bulk_create(
            Conduct(student_id=s, year_id=school_class.year_id, term=t, level="T") for s in students for t in (1, 2)
        )
    RecordBook.objects.filter(student_id__in=students).update(homeroom_comment=comment)


def states(klass) -> dict[int, str]:
    return dict(RecordBook.objects.filter(school_class=klass.school_class).values_list("student_id", "state"))


def rollup(w) -> tuple[int, int, int]:
    r = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    return r.records_draft, r.records_submitted, r.records_approved


def labels(book) -> list[str]:
    return [m.label for m in book.missing]


# --- the completeness check --------------------------------------------------------------------------------------


def test_a_complete_book_misses_nothing_and_an_empty_one_names_each_term(w, klass):
    done, empty = klass.students[0], klass.students[1]
    fill_all(klass.school_class, [done])
    result = class_completeness(klass.school_class)
    books = {b.student_id: b for b in result.students}
    assert books[done].complete and books[done].missing == ()
    assert [m.kind for m in books[empty].missing] == [TERM, TERM, CONDUCT, CONDUCT, COMMENT]
    assert labels(books[empty]) == [
        "HK I (chưa nhập môn nào)",
        "HK II (chưa nhập môn nào)",
        "Rèn luyện HK I",
        "Rèn luyện HK II",
        "Nhận xét của GVCN",
    ]
    assert result.incomplete_count == 5 and not result.complete
    assert [b.student_id for b in class_completeness(klass.school_class, [done, empty]).incomplete] == [empty]
    assert classes_incomplete_counts(klass.school_class.year) == {klass.school_class.pk: 5, klass.other_class.pk: 1}


def test_one_subjects_term_ii_missing_is_named_with_its_columns(w, klass):
    student = klass.students[0]
    fill_all(klass.school_class, klass.students)
    Assessment.objects.filter(student_id=student, subject=klass.math, term=2, kind__in=["gk", "ck"]).delete()
    Conduct.objects.filter(student_id=student, term=2).delete()
    book = class_completeness(klass.school_class, [student]).students[0]
    assert [(m.kind, m.term, m.subject_id) for m in book.missing] == [(SHEET, 2, klass.math.pk), (CONDUCT, 2, None)]
    assert book.missing[0].columns == ("ĐĐGgk", "ĐĐGck")
    assert labels(book) == ["Toán HK II", "Rèn luyện HK II"]
    data = book.as_dict()["missing"][0]
    assert data["label"] == "Toán HK II" and data["label_en"] and data["subject"] == klass.math.pk
    assert class_completeness(klass.school_class).incomplete_count == 1


def test_tt27_book_misses_a_quality_and_needs_no_conduct(w, klass):
    system = system_access(klass.school.pk)
    year = school_year_open(access=system, start_year=2025, levels=["primary"])
    three = class_create(access=system, year=year, name="3A", grade=3, homeroom_teacher_id=w.accounts["homeroom_a"])
    pupils = [
        student_enrol(
            access=system,
            school_class=three,
            today=TODAY,
            profile={"full_name": n, "date_of_birth": "05/03/2017", "gender": "F"},
        ).pk
        for n in ("Lý Thị Mai", "Đinh Văn Nam")
    ]
    fill_all(three, pupils)
    assert class_completeness(three).complete
    QualityAssessment.objects.filter(student_id=pupils[1], term=2, code="trung_thuc").delete()
    book = class_completeness(three).incomplete[0]
    assert book.student_id == pupils[1]
    assert [(m.kind, m.term) for m in book.missing] == [(QUALITIES, 2)] and labels(book) == [
        "Phẩm chất, năng lực HK II"
    ]
    # A primary sheet's periodic test is required where the rules schedule one (Toán, end of year).
    math = Subject.objects.get(level="primary", code="toan")
    Assessment.objects.filter(student_id=pupils[0], subject=math, term=2, kind="kck").delete()
    assert labels(class_completeness(three, [pupils[0]]).students[0]) == ["Toán HK II"]


def test_an_exempt_subject_is_never_missing(w, klass):
    student = klass.students[0]
    fill_all(klass.school_class, [student])
    Assessment.objects.filter(student_id=student, subject=klass.pe).delete()
    assert labels(class_completeness(klass.school_class, [student]).students[0]) == [
        "Giáo dục thể chất HK I",
        "Giáo dục thể chất HK II",
    ]
    exemption = Exemption.objects.create(
        student_id=student,
        subject=klass.pe,
        year=klass.school_class.year,
        term=1,
        part=ExemptionPart.SUBJECT,
        reason="Chấn thương",
        decision_number="12/QĐ",
        decided_on=TODAY,
    )
    assert labels(class_completeness(klass.school_class, [student]).students[0]) == ["Giáo dục thể chất HK II"]
    exemption.term = None
    exemption.save()
    assert class_completeness(klass.school_class, [student]).students[0].complete
    # Exempt from the practical part only: still assessed (on theory), so still required.
    exemption.part = ExemptionPart.PRACTICAL
    exemption.save()
    assert not class_completeness(klass.school_class, [student]).students[0].complete


def test_the_reminders_judge_sheets_the_same_way_an_exempt_student_owes_nothing(w, klass):
    exempt, others = klass.students[0], klass.students[1:]
    fill_all(klass.school_class, others)

    def pe_unfinished() -> list[tuple[int, int]]:
        return [
            (u["filled"], u["required"])
            for u in unfinished_sheets(year_start=2025, category="whole_year")
            if u["subject_id"] == klass.pe.pk and u["class_id"] == klass.school_class.pk
        ]

    columns = len(required_columns(klass.pe, klass.school_class, 1))
    assert pe_unfinished() == [(5 * columns, 6 * columns), (5 * columns, 6 * columns)]
    Exemption.objects.create(
        student_id=exempt,
        subject=klass.pe,
        year=klass.school_class.year,
        term=2,
        reason="Chấn thương",
        decision_number="13/QĐ",
        decided_on=TODAY,
    )
    assert pe_unfinished() == [(5 * columns, 6 * columns)]  # term I still waits for the student; term II does not


def test_a_shared_subject_counts_part_by_part(w, klass):
    khtn = Subject.objects.get(level="lower_secondary", code="khoa_hoc_tu_nhien")
    subject_parts_save(
        access=system_access(w.school_a),
        school_class=klass.school_class,
        subject=khtn,
        parts=[
            {"teacher": w.accounts["teacher_a"], "part": "Vật lí", "columns": ["tx1", "tx2"]},
            {"teacher": w.accounts["dept_a"], "part": "Hoá học", "columns": ["tx3"]},
            {"teacher": w.accounts["homeroom_a"], "part": "Sinh học", "columns": ["tx4", "gk", "ck", "nx"]},
        ],
    )
    student = klass.students[0]
    fill_all(klass.school_class, [student])
    Assessment.objects.filter(student_id=student, subject=khtn, term=1, kind="tx", seq=3).delete()
    book = class_completeness(klass.school_class, [student]).students[0]
    assert [(m.kind, m.term, m.subject_id, m.part, m.columns) for m in book.missing] == [
        (SHEET, 1, khtn.pk, "Hoá học", ("ĐĐGtx 3",))
    ]
    assert labels(book) == [f"{khtn.name} (Hoá học) HK I"]


@pytest.mark.parametrize("n", [5, 30])
def test_constant_queries_for_a_class_and_for_the_year(w, klass, django_assert_max_num_queries, n):
    system = system_access(klass.school.pk)
    for i in range(n - len(klass.students)):
        student_enrol(
            access=system,
            school_class=klass.school_class,
            today=TODAY,
            profile={"full_name": f"Ngô Thêm {i}", "date_of_birth": "02/02/2014", "gender": "M"},
        )
    ids = list(RecordBook.objects.filter(school_class=klass.school_class).values_list("student_id", flat=True))
    fill_all(klass.school_class, ids[: n // 2])
    school_class = type(klass.school_class).objects.select_related("year").get(pk=klass.school_class.pk)
    with django_assert_max_num_queries(6):
        result = class_completeness(school_class)
    assert len(result.students) == len(ids) and result.incomplete_count == len(ids) - n // 2
    with django_assert_max_num_queries(8):
        counts = classes_incomplete_counts(school_class.year)
    assert counts[school_class.pk] == len(ids) - n // 2


# --- submit, withdraw, approve: the services ----------------------------------------------------------------------


def test_submit_per_student_then_the_class_with_the_rollup(w, klass):
    homeroom = klass.access(w, "homeroom_a")
    first, second = klass.students[:2]
    fill_all(klass.school_class, [first])
    before = rollup(w)
    moved = records_submit(access=homeroom, school_class=klass.school_class, student_ids=[first, second])
    assert moved.count == 2 and [s.student_id for s in moved.incomplete] == [second]
    assert moved.incomplete_data()[0]["missing"][0]["label"] == "HK I (chưa nhập môn nào)"
    assert states(klass)[first] == "submitted" and states(klass)[klass.students[2]] == "draft"
    assert rollup(w) == (before[0] - 2, before[1] + 2, before[2])
    rest = records_submit(access=homeroom, school_class=klass.school_class)
    assert rest.count == 4 and set(states(klass).values()) == {"submitted"}
    assert rollup(w) == (before[0] - 6, before[1] + 6, before[2])
    with pytest.raises(DomainError) as nothing:
        records_submit(access=homeroom, school_class=klass.school_class, student_ids=[first])
    assert nothing.value.code == "records.nothing_to_submit"
    # Another class's student (or another school's id) is refused, naming it, and nothing moves.
    RecordBook.objects.filter(student_id=first).update(state="draft")
    with pytest.raises(DomainError) as foreign:
        records_submit(access=homeroom, school_class=klass.school_class, student_ids=[first, klass.other_students[0]])
    assert foreign.value.code == "records.student_not_in_class" and foreign.value.http_status == 404
    assert states(klass)[first] == "draft"


def test_withdraw_per_student_and_per_class_and_never_an_approved_book(w, klass):
    homeroom, principal = klass.access(w, "homeroom_a"), klass.access(w, "principal_a")
    first, second = klass.students[:2]
    fill_all(klass.school_class, klass.students)
    records_submit(access=homeroom, school_class=klass.school_class)
    before = rollup(w)
    moved = records_withdraw(access=homeroom, school_class=klass.school_class, student_ids=[first])
    assert moved.count == 1 and states(klass)[first] == "draft" and states(klass)[second] == "submitted"
    record = RecordBook.objects.get(student_id=first)
    assert record.submitted_at is None and record.submitted_by is None
    assert rollup(w) == (before[0] + 1, before[1] - 1, before[2])
    records_approve(access=principal, school_class=klass.school_class, student_ids=[second])
    assert rollup(w) == (before[0] + 1, before[1] - 2, before[2] + 1)
    with pytest.raises(DomainError) as approved:
        records_withdraw(access=homeroom, school_class=klass.school_class, student_ids=[second, klass.students[2]])
    assert approved.value.code == "records.already_approved" and approved.value.http_status == 409
    assert "Trần Thị Bình" in str(approved.value)
    assert states(klass)[second] == "approved" and states(klass)[klass.students[2]] == "submitted"
    # The whole class: the submitted books go back, the approved one stays.
    assert records_withdraw(access=homeroom, school_class=klass.school_class).count == 4
    assert sorted(states(klass).values()) == ["approved"] + ["draft"] * 5
    assert rollup(w) == (before[0] + 5, before[1] - 6, before[2] + 1)
    with pytest.raises(DomainError) as nothing:
        records_withdraw(access=homeroom, school_class=klass.school_class)
    assert nothing.value.code == "records.nothing_to_withdraw"


def test_approving_incomplete_books_needs_a_reason_kept_on_them_and_in_the_history(w, klass):
    homeroom, principal = klass.access(w, "homeroom_a"), klass.access(w, "principal_a")
    done, short = klass.students[:2]
    fill_all(klass.school_class, [done])
    records_submit(access=homeroom, school_class=klass.school_class, student_ids=[done, short])
    before = rollup(w)
    for reason in ("", "quá ngắn"):
        with pytest.raises(DomainError) as refused:
            records_approve(access=principal, school_class=klass.school_class, reason=reason)
        assert refused.value.code == "records.incomplete_reason_required" and refused.value.http_status == 409
        body = refused.value.as_dict()
        assert [s["student"] for s in body["incomplete"]] == [short] and body["field"] == "reason"
        assert "1 học bạ chưa đủ" in body["detail"] and body["detail_en"]
    assert states(klass)[done] == states(klass)[short] == "submitted" and rollup(w) == before
    # The complete one alone needs no reason.
    assert records_approve(access=principal, school_class=klass.school_class, student_ids=[done]).count == 1
    kept = RecordBook.objects.get(student_id=done)
    assert kept.approved_incomplete_reason == "" and kept.approved_missing == []
    moved = records_approve(access=principal, school_class=klass.school_class, reason=f"  {REASON} ")
    assert moved.count == 1 and [s.student_id for s in moved.incomplete] == [short]
    record = RecordBook.objects.get(student_id=short)
    assert record.state == "approved" and record.approved_incomplete_reason == REASON
    assert record.approved_missing[:2] == ["HK I (chưa nhập môn nào)", "HK II (chưa nhập môn nào)"]
    assert rollup(w) == (before[0], before[1] - 2, before[2] + 2)
    changes = history(student_id=short).changes
    sentences = [c.sentence for c in changes if c.table == "schools_recordbook"]
    assert any("đã duyệt học bạ khi còn thiếu dữ liệu" in s for s in sentences)
    assert any("đã trình học bạ" in s for s in sentences)
    approval = next(c for c in changes if c.table == "schools_recordbook" and "duyệt" in c.sentence)
    fields = {f.field: f for f in approval.fields}
    assert fields["approved_incomplete_reason"].new == REASON
    assert fields["approved_incomplete_reason"].label == "Lý do duyệt khi học bạ chưa đủ"
    assert not approval.after_approval


def test_withdrawal_reads_as_such_in_the_history(w, klass):
    homeroom = klass.access(w, "homeroom_a")
    student = klass.students[0]
    records_submit(access=homeroom, school_class=klass.school_class, student_ids=[student])
    records_withdraw(access=homeroom, school_class=klass.school_class, student_ids=[student])
    sentences = [c.sentence for c in history(student_id=student).changes if c.table == "schools_recordbook"]
    assert "đã rút lại hồ sơ đã trình của học sinh Nguyễn Văn An" in sentences[0]
    assert "đã trình học bạ của học sinh Nguyễn Văn An" in sentences[1]


def test_who_may_submit_and_withdraw(w, klass):
    homeroom = klass.access(w, "homeroom_a")
    records_submit(access=homeroom, school_class=klass.school_class, student_ids=[klass.students[0]])
    for name in ("teacher_a", "principal_a", "clerk_a"):
        for service in (records_submit, records_withdraw):
            with pytest.raises(NotAllowed):
                service(access=klass.access(w, name), school_class=klass.school_class)
    # The homeroom teacher of another class may neither submit nor withdraw this one's books.
    other = klass.other_class
    with pytest.raises(NotAllowed):
        records_submit(access=homeroom, school_class=other)
    RecordBook.objects.filter(school_class=other).update(state="submitted", submitted_by=w.accounts["principal_a"])
    with pytest.raises(NotAllowed):
        records_withdraw(access=homeroom, school_class=other)
    assert set(RecordBook.objects.filter(school_class=other).values_list("state", flat=True)) == {"submitted"}
    # Whoever submitted may take their own submission back, even when no longer the homeroom teacher.
    RecordBook.objects.filter(school_class=other).update(submitted_by=w.accounts["homeroom_a"])
    assert records_withdraw(access=homeroom, school_class=other).count == 1


# --- the API -------------------------------------------------------------------------------------------------------


def test_api_submit_withdraw_approve(w, klass):
    url = f"/api/v1/classes/{klass.school_class.pk}/"
    homeroom, principal, teacher = api(w, "homeroom_a"), api(w, "principal_a"), api(w, "teacher_a")
    first, second = klass.students[:2]
    fill_all(klass.school_class, [first])
    assert teacher.post(url + "submit/", {"student_ids": [first]}, format="json").status_code == 403
    assert teacher.post(url + "withdraw/", {}, format="json").status_code == 403
    response = homeroom.post(url + "submit/", {"student_ids": [first, second]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2 and [s["student"] for s in body["incomplete"]] == [second]
    assert body["incomplete"][0]["missing"][0]["label_en"] and body["incomplete"][0]["state"] == "submitted"
    bad = homeroom.post(url + "submit/", {"student_ids": ["x"]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "records.bad_students"
    assert homeroom.post(url + "withdraw/", {"student_ids": [second]}, format="json").json()["count"] == 1
    refused = principal.post(url + "approve/", {}, format="json")
    assert refused.status_code == 200 and refused.json()["count"] == 1  # only the complete one is submitted
    assert homeroom.post(url + "submit/", {}, format="json").json()["count"] == 5
    refused = principal.post(url + "approve/", {"reason": "ngắn"}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "records.incomplete_reason_required" and len(body["incomplete"]) == 5
    assert body["incomplete"][0]["missing"] and set(states(klass).values()) == {"approved", "submitted"}
    ok = principal.post(url + "approve/", {"reason": REASON, "student_ids": [second]}, format="json")
    assert ok.status_code == 200 and ok.json()["count"] == 1 and ok.json()["incomplete"][0]["state"] == "approved"
    assert RecordBook.objects.get(student_id=second).approved_incomplete_reason == REASON
    gone = homeroom.post(url + "withdraw/", {"student_ids": [second]}, format="json")
    assert gone.status_code == 409 and gone.json()["code"] == "records.already_approved"
    # Another school's class id: not found there; a foreign class on its own address is not this person's.
    assert api(w, "principal_b", SCHOOL_B_HOST).post(url + "approve/", {"reason": REASON}).status_code == 404
    assert api(w, "teacher_b", SCHOOL_B_HOST).post(url + "withdraw/", {}).status_code == 403
    connection.set_tenant(School.objects.get(pk=w.school_a))
    assert states(klass)[klass.students[2]] == "submitted"


# --- the class page ----------------------------------------------------------------------------------------------


def test_class_page_lists_incomplete_books_and_moves_them_per_student(w, klass):
    url = f"/classes/{klass.school_class.pk}/"
    homeroom, principal = (
        client_for(w.account("homeroom_a"), SCHOOL_A_HOST),
        client_for(w.account("principal_a"), SCHOOL_A_HOST),
    )
    first, second = klass.students[:2]
    fill_all(klass.school_class, klass.students[:5])
    Assessment.objects.filter(student_id=second, subject=klass.math, term=2).delete()
    html = page_text(homeroom.get(url))
    assert "2 học bạ chưa đủ" in html
    assert "Toán HK II" in html and "HK I (chưa nhập môn nào)" in html and "Vũ Thị Hà" in html
    response = homeroom.post(url + "submit/", {"student_ids": [first, second]}, follow=True)
    text = page_text(response)
    assert "Đã trình 2 học bạ" in text and "1 học bạ chưa đủ" in text
    assert states(klass)[first] == states(klass)[second] == "submitted"
    response = homeroom.post(url + "withdraw/", {"student_ids": [first]}, follow=True)
    assert "Đã rút lại 1 học bạ" in page_text(response) and states(klass)[first] == "draft"
    assert client_for(w.account("teacher_a"), SCHOOL_A_HOST).post(url + "withdraw/").status_code == 403
    # The approver sees the incomplete submitted book and must give a reason.
    html = page_text(principal.get(url))
    assert "Lý do duyệt khi học bạ chưa đủ" in html
    refused = principal.post(url + "approve/", {"reason": ""}, follow=True)
    assert "chưa duyệt học bạ nào" in page_text(refused) and states(klass)[second] == "submitted"
    done = principal.post(url + "approve/", {"reason": REASON}, follow=True)
    assert "Đã duyệt 1 học bạ" in page_text(done) and states(klass)[second] == "approved"
    refused = homeroom.post(url + "withdraw/", {"student_ids": [second]}, follow=True)
    assert "đã được duyệt nên không rút lại được" in page_text(refused)


def test_foreign_school_class_ids_are_refused_on_pages(w, klass):
    url = f"/classes/{klass.school_class.pk}/"
    other = client_for(w.account("principal_b"), SCHOOL_B_HOST)
    for action in ("submit/", "withdraw/", "approve/"):
        assert other.post(url + action, {"reason": REASON}).status_code in (403, 404)
    connection.set_tenant(School.objects.get(pk=w.school_a))
    assert set(states(klass).values()) == {"draft"}


def test_query_count_of_the_class_page_does_not_grow_with_students(w, klass):
    client = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    url = f"/classes/{klass.school_class.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    system = system_access(klass.school.pk)
    for i in range(24):
        student_enrol(
            access=system,
            school_class=klass.school_class,
            today=TODAY,
            profile={"full_name": f"Ngô Thêm {i}", "date_of_birth": "02/02/2014", "gender": "M"},
        )
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) <= len(few)
