"""The signing chain of a record book (reporting.services.signing): order, persons, TOTP, the record's moves approved →
signed → locked with their rollups, the public index, and the principal's revocation (issue 10, conflicts 1, 4, 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone
from hocba.kernel import context
from hocba.kernel.errors import DomainError, NotAllowed

from reporting.models import DocumentContent, DocumentSignature, DocumentState, RecordDocument
from reporting.services import signing
from schools.models import AuditEntry, RecordBook
from schools.services.common import system_access
from schools.services.setup import assignment_set
from tenants.models import ClassRollup, SchoolRollup, VerificationIndex, Window, WindowException
from tenants.windows import WindowLocked
from tests.support import give_totp

RENDERED = b"%PDF-1.7\n% hoc ba rendered\n"


def at(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


@pytest.fixture
def chain(w, klass):
    """Student 0's record approved, its rendered document, and every signer with TOTP (the principal has it)."""
    for name in ("teacher_a", "homeroom_a", "clerk_a", "dept_a"):
        give_totp(w.account(name))
    record = RecordBook.objects.get(student_id=klass.students[0], year=klass.school_class.year)
    RecordBook.objects.filter(pk=record.pk).update(state="approved", approved_at=timezone.now())
    SchoolRollup.objects.update_or_create(
        school_id=w.school_a, year_start=2025, defaults={"records_approved": 1, "records_draft": 6}
    )
    record.refresh_from_db()
    document = signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=RENDERED, template_version="tt22-2021.1", pages=4
    )
    return record, document


def sign(w, klass, document, name, step, subject=None):
    """``name`` signs the next revision: the current bytes with one more signature appended."""
    current = bytes(DocumentContent.objects.get(document=document).pdf)
    signed = current + f"% signature {step} {name}\n".encode()
    return signing.signature_add(
        access=klass.access(w, name),
        document=document,
        step=step,
        subject=subject,
        pdf=signed,
        certificate_subject=f"CN={name}",
        certificate_serial="01AB",
        backend="pkcs12",
    )


def full_chain(w, klass, document):
    sign(w, klass, document, "teacher_a", "subject", klass.math)
    sign(w, klass, document, "teacher_a", "subject", klass.pe)
    sign(w, klass, document, "homeroom_a", "homeroom")
    sign(w, klass, document, "principal_a", "principal")
    return sign(w, klass, document, "clerk_a", "seal")


def test_the_chain_signs_in_order_after_a_whole_year_lock_and_the_seal_signs_the_record(w, klass, chain):
    record, document = chain
    Window.objects.create(
        tier="province",
        unit_id=w.province,
        category="whole_year",
        year_start=2025,
        opens_at=at(-600),
        locks_at=at(-1),
        reason="Khóa sổ",
    )
    seal = full_chain(w, klass, document)
    record.refresh_from_db()
    document.refresh_from_db()
    assert (record.state, record.sealed_by, document.state) == ("signed", w.accounts["clerk_a"], "sealed")
    assert record.signed_at is not None and document.sealed_at is not None
    steps = list(document.signatures.values_list("seq", "step", "subject_code", "signer_initials"))
    assert steps == [
        (1, "subject", "toan", "T.A."),
        (2, "subject", "giao_duc_the_chat", "T.A."),
        (3, "homeroom", "", "H.A."),
        (4, "principal", "", "P.A."),
        (5, "seal", "", "C.A."),
    ]
    content = bytes(DocumentContent.objects.get(document=document).pdf)
    assert content.startswith(RENDERED) and content.count(b"% signature") == 5
    assert document.sha256 == seal.sha256_after and len(document.sha256) == 64
    row = VerificationIndex.objects.get(uid=document.uid)
    assert (row.token, row.school_id, row.year_start, row.sha256) == (document.token, w.school_a, 2025, document.sha256)
    assert [s["initials"] for s in row.signers] == ["T.A.", "T.A.", "H.A.", "P.A.", "C.A."]
    assert row.superseded_at is None
    rollup = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert (rollup.records_approved, rollup.records_signed) == (0, 1)
    per_class = ClassRollup.objects.get(school_id=w.school_a, year_start=2025, class_id=klass.school_class.pk)
    assert per_class.records_signed == 1


@pytest.mark.parametrize(
    "name,step,expected",
    [
        ("homeroom_a", "homeroom", "signing.out_of_order"),
        ("principal_a", "principal", "signing.out_of_order"),
        ("clerk_a", "seal", "signing.out_of_order"),
    ],
)
def test_a_step_before_its_turn_is_refused_and_changes_nothing(w, klass, chain, name, step, expected):
    _record, document = chain
    with pytest.raises(DomainError) as refused:
        sign(w, klass, document, name, step)
    assert refused.value.code == expected and refused.value.http_status == 409
    assert "Giáo viên bộ môn" in refused.value.as_dict()["detail"]
    assert not DocumentSignature.objects.filter(document=document).exists()


def test_the_wrong_person_is_refused_at_each_step(w, klass, chain):
    _record, document = chain
    for name, step, subject in (
        ("dept_a", "subject", klass.math),  # may sign, but does not teach Toán in 6A1
        ("principal_a", "subject", klass.math),
    ):
        with pytest.raises(NotAllowed) as refused:
            sign(w, klass, document, name, step, subject)
        assert refused.value.code == "signing.wrong_person"
    sign(w, klass, document, "teacher_a", "subject", klass.math)
    sign(w, klass, document, "teacher_a", "subject", klass.pe)
    with pytest.raises(NotAllowed) as refused:
        sign(w, klass, document, "teacher_a", "homeroom")  # not the class's homeroom teacher
    assert refused.value.code == "signing.wrong_person"
    sign(w, klass, document, "homeroom_a", "homeroom")
    with pytest.raises(NotAllowed):
        sign(w, klass, document, "vice_a", "principal")  # the principal signs as principal
    sign(w, klass, document, "principal_a", "principal")
    with pytest.raises(NotAllowed) as refused:
        sign(w, klass, document, "vice_a", "seal")  # the seal: principal or clerk
    assert refused.value.code == "signing.not_allowed"
    with pytest.raises(NotAllowed):
        sign(w, klass, document, "parent_a", "seal")
    assert document.signatures.count() == 4


def test_a_subject_is_signed_once_and_a_step_done_is_not_signed_again(w, klass, chain):
    _record, document = chain
    sign(w, klass, document, "teacher_a", "subject", klass.math)
    with pytest.raises(DomainError) as refused:
        sign(w, klass, document, "teacher_a", "subject", klass.math)
    assert refused.value.code == "signing.already_signed"
    sign(w, klass, document, "teacher_a", "subject", klass.pe)
    sign(w, klass, document, "homeroom_a", "homeroom")
    with pytest.raises(DomainError) as refused:
        sign(w, klass, document, "teacher_a", "subject", klass.pe)
    assert refused.value.code == "signing.already_signed"


def test_the_subject_signer_is_the_teaching_assignment_at_signing_time(w, klass, chain):
    _record, document = chain
    assignment_set(
        access=system_access(w.school_a),
        school_class=klass.school_class,
        subject=klass.math,
        teacher_id=w.accounts["dept_a"],
    )
    with pytest.raises(NotAllowed):
        sign(w, klass, document, "teacher_a", "subject", klass.math)
    assert sign(w, klass, document, "dept_a", "subject", klass.math).signer_initials == "D.A."


def test_a_first_signature_needs_totp(w, klass, chain):
    _record, document = chain
    Authenticator.objects.filter(user_id=w.accounts["teacher_a"]).delete()
    with pytest.raises(DomainError) as refused:
        sign(w, klass, document, "teacher_a", "subject", klass.math)
    assert refused.value.code == "signing.totp_required" and refused.value.http_status == 403
    assert "xác thực hai lớp" in refused.value.as_dict()["detail"]
    assert signing.totp_problem(w.accounts["principal_a"]) is None
    give_totp(w.account("teacher_a"))
    assert sign(w, klass, document, "teacher_a", "subject", klass.math).seq == 1


def test_bytes_that_do_not_extend_the_document_are_refused(w, klass, chain):
    _record, document = chain
    with pytest.raises(DomainError) as refused:
        signing.signature_add(
            access=klass.access(w, "teacher_a"),
            document=document,
            step="subject",
            subject=klass.math,
            pdf=b"%PDF-1.7\n% another document entirely, longer than the first\n",
            certificate_subject="CN=x",
            certificate_serial="1",
            backend="pkcs12",
        )
    assert refused.value.code == "signing.not_incremental"
    assert not document.signatures.exists()


def test_only_an_approved_record_gets_a_document(w, klass):
    record = RecordBook.objects.get(student_id=klass.students[1], year=klass.school_class.year)
    with pytest.raises(DomainError) as refused:
        signing.document_create(
            access=klass.access(w, "principal_a"), record=record, pdf=RENDERED, template_version="tt22-2021.1"
        )
    assert refused.value.code == "signing.record_not_approved"
    assert not RecordDocument.objects.exists()


def test_a_job_signing_for_a_person_names_that_person_in_the_audit(w, klass, chain):
    _record, document = chain
    with signing.acting_for(account_id=w.accounts["teacher_a"], role="subject_teacher"):
        assert context.current().account_id == w.accounts["teacher_a"]
        sign(w, klass, document, "teacher_a", "subject", klass.math)
    assert context.current().account_id is None
    entry = AuditEntry.objects.filter(table_name="reporting_documentsignature").latest("id")
    assert (entry.account_id, entry.role, entry.operation) == (w.accounts["teacher_a"], "subject_teacher", "INSERT")


def _archived(w, klass, document):
    document.refresh_from_db()
    return signing.document_archived(
        access=klass.access(w, "principal_a"),
        document=document,
        key=f"72/99-AT/99000001/2025/6A1/{document.uid}.pdf",
        version_id="v1",
        sha256=document.sha256,
    )


def test_the_principal_locks_signed_records_once_archived(w, klass, chain):
    record, document = chain
    full_chain(w, klass, document)
    with pytest.raises(NotAllowed):
        signing.records_lock(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)
    with pytest.raises(DomainError) as refused:
        signing.records_lock(access=klass.access(w, "principal_a"), school_class=klass.school_class)
    assert refused.value.code == "records.not_archived"
    with pytest.raises(DomainError) as refused:
        signing.document_archived(
            access=klass.access(w, "principal_a"), document=document, key="k", version_id="v", sha256="0" * 64
        )
    assert refused.value.code == "archive.digest_mismatch"
    archived = _archived(w, klass, document)
    assert archived.state == "archived" and not DocumentContent.objects.filter(document=document).exists()
    assert _archived(w, klass, document).archived_at == archived.archived_at  # the same write again: nothing new
    assert VerificationIndex.objects.get(uid=document.uid).s3_version_id == "v1"
    done = signing.records_lock(access=klass.access(w, "principal_a"), school_class=klass.school_class)
    record.refresh_from_db()
    assert (done.count, record.state, record.locked_by) == (1, "locked", w.accounts["principal_a"])
    rollup = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert (rollup.records_signed, rollup.records_locked, rollup.records_archived) == (0, 1, 1)


def test_revocation_needs_the_principal_and_a_reason(w, klass, chain):
    record, document = chain
    full_chain(w, klass, document)
    with pytest.raises(NotAllowed):
        signing.record_revoke(access=klass.access(w, "vice_a"), record=record, reason="Sai điểm môn Toán học kì II")
    with pytest.raises(DomainError) as refused:
        signing.record_revoke(access=klass.access(w, "principal_a"), record=record, reason="  sai   ")
    assert refused.value.code == "records.revoke_reason_required" and refused.value.field == "reason"
    record.refresh_from_db()
    assert record.state == "signed"
    draft = RecordBook.objects.get(student_id=klass.students[1], year=klass.school_class.year)
    with pytest.raises(DomainError) as refused:
        signing.record_revoke(access=klass.access(w, "principal_a"), record=draft, reason="Sai điểm môn Toán học kì II")
    assert refused.value.code == "records.not_revocable"


def test_revocation_supersedes_the_document_and_the_next_version_names_it(w, klass, chain):
    record, document = chain
    full_chain(w, klass, document)
    _archived(w, klass, document)
    revoked = signing.record_revoke(
        access=klass.access(w, "principal_a"), record=record, reason="Sai điểm môn Toán học kì II"
    )
    assert (revoked.state, revoked.revoked_by, revoked.signed_at) == ("draft", w.accounts["principal_a"], None)
    assert revoked.revoked_reason == "Sai điểm môn Toán học kì II" == revoked.reopened_reason
    document.refresh_from_db()
    assert (document.state, document.revoked_by) == ("superseded", w.accounts["principal_a"])
    assert document.archive_version_id == "v1"  # the archived copy stays where it is (Object Lock)
    index = VerificationIndex.objects.get(uid=document.uid)
    assert index.superseded_at is not None and index.superseded_by is None
    rollup = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert (rollup.records_signed, rollup.records_draft, rollup.records_archived) == (0, 7, 0)
    # Corrected, approved again, rendered again: version 2, which the old one names; sealed, the index too.
    RecordBook.objects.filter(pk=record.pk).update(state="approved")
    record.refresh_from_db()
    second = signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=RENDERED, template_version="tt22-2021.1"
    )
    document.refresh_from_db()
    assert (second.version, document.superseded_by_id) == (2, second.pk)
    full_chain(w, klass, second)
    assert VerificationIndex.objects.get(uid=document.uid).superseded_by == second.uid


def test_a_revocation_after_the_lock_needs_an_exception(w, klass, chain):
    record, document = chain
    full_chain(w, klass, document)
    window = Window.objects.create(
        tier="province",
        unit_id=w.province,
        category="whole_year",
        year_start=2025,
        opens_at=at(-600),
        locks_at=at(-1),
        reason="Khóa sổ",
    )
    principal = klass.access(w, "principal_a")
    with pytest.raises(WindowLocked) as refused:
        signing.record_revoke(access=principal, record=record, reason="Sai điểm môn Toán học kì II")
    assert refused.value.http_status == 423
    record.refresh_from_db()
    document.refresh_from_db()
    assert (record.state, document.state) == ("signed", DocumentState.SEALED)
    assert VerificationIndex.objects.get(uid=document.uid).superseded_at is None
    WindowException.objects.create(
        window=window,
        school_id=w.school_a,
        student_ids=[klass.students[0]],
        until=at(30),
        status="approved",
        reason="Sửa sai sót",
        requested_by_id=w.accounts["principal_a"],
    )
    assert signing.record_revoke(access=principal, record=record, reason="Sai điểm môn Toán học kì II").state == "draft"


def test_initials_show_no_more_than_the_initials():
    assert signing.initials("Nguyễn Văn An") == "N.V.A."
    assert signing.initials("  đỗ   thị   hà ") == "Đ.T.H."
    assert signing.initials("") == ""


def _second_document(w, klass):
    record = RecordBook.objects.get(student_id=klass.students[1], year=klass.school_class.year)
    RecordBook.objects.filter(pk=record.pk).update(state="approved")
    record.refresh_from_db()
    return signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=RENDERED, template_version="tt22-2021.1"
    )


def test_what_waits_for_each_signer_in_a_constant_number_of_queries(w, klass, chain, queries):
    _record, first = chain
    teacher = klass.access(w, "teacher_a")
    with queries() as one:
        waiting = signing.waiting_for(access=teacher, school_class=klass.school_class)
    assert [(d.pk, s.subject_id) for d, s in waiting] == [(first.pk, klass.math.pk), (first.pk, klass.pe.pk)]
    second = _second_document(w, klass)
    sign(w, klass, first, "teacher_a", "subject", klass.math)
    with queries() as two:
        waiting = signing.waiting_for(access=teacher, school_class=klass.school_class)
    assert len(two) == len(one) == 3
    assert sorted((d.pk, s.subject_id) for d, s in waiting) == sorted(
        [(first.pk, klass.pe.pk), (second.pk, klass.math.pk), (second.pk, klass.pe.pk)]
    )
    assert signing.waiting_for(access=klass.access(w, "homeroom_a"), school_class=klass.school_class) == []
    sign(w, klass, first, "teacher_a", "subject", klass.pe)
    homeroom = signing.waiting_for(access=klass.access(w, "homeroom_a"), school_class=klass.school_class)
    assert [(d.pk, s.step) for d, s in homeroom] == [(first.pk, "homeroom")]


def test_a_signature_costs_the_same_queries_however_long_the_chain(w, klass, chain, queries):
    _record, document = chain
    counts = []
    for name, step, subject in (
        ("teacher_a", "subject", klass.math),
        ("teacher_a", "subject", klass.pe),
        ("homeroom_a", "homeroom", None),
        ("principal_a", "principal", None),
    ):
        with queries() as q:
            sign(w, klass, document, name, step, subject)
        counts.append(len(q))
    assert len(set(counts)) == 1, counts
