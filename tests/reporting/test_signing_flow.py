"""The signing flow people use (issue 10, Build 2): on a small class (2 subjects, 3 approved students) with keys from
the test PKI, the subject teacher confirms each subject once for the class, then the homeroom teacher, then the
principal's year-end job signs and seals — after a whole-year lock — and archives; the records end signed with their
rollup deltas, every signature's audit actor is its signer, the archived PDF validates with every signature valid.
Out-of-order and wrong-person confirmations are refused and change nothing; jobs are idempotent and resumable; a
homeroom teacher signs through a remote CSC service (the in-process fake) and the seal through the signer's device
via the JSON API (a fake device client); the page needs re-authentication for a server-held key, TOTP first."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import connection
from django.utils import timezone
from hocba.kernel.errors import DomainError, NotAllowed

from reporting.models import DocumentSignature, DocumentState, RecordDocument
from reporting.services import signing_flow
from reporting.signing import keys, validate
from reporting.signing.pki import TEST_PKI_PASSPHRASE, Person, TestPki
from reporting.signing.validation import SignatureState
from schools.models import AuditEntry, RecordBook
from schools.selectors import subject_column_choices
from schools.services.common import system_access
from schools.services.records import records_approve, records_submit
from schools.services.sheets import sheet_save
from tenants.models import BackgroundJob, BackgroundJobRow, SchoolRollup, Window
from tenants.services.jobs import job_create
from tests.reporting.conftest import PROVINCE
from tests.reporting.test_signing_backends import FakeCsc, FakeDevice
from tests.support import PASSWORD, SCHOOL_A_HOST, client_for, give_totp

REASON = "Duyệt để ký số học bạ"
SIGNERS = ("teacher_a", "homeroom_a", "principal_a", "clerk_a", "dept_a")


@pytest.fixture
def store(settings, monkeypatch):
    """An in-memory S3 (moto) with a versioned, Object-Locked bucket of its own."""
    from hocba.kernel import archive as kernel_archive
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    name = f"records-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", name)
    with mock_aws():
        client = kernel_archive.archive_client()
        kernel_archive.ensure_locked_bucket(client, name)
        yield client, name


@pytest.fixture
def keyring(w, settings, test_pki):
    """The world's signers certified by the test PKI's province root (the seal of school A is there already); the
    settings point at it: every account signs with its local PKCS#12."""
    pki = TestPki(test_pki.directory)
    for name in SIGNERS:
        pki.person(PROVINCE, Person(name, name.replace("_", " ").title(), "Trường THCS An Thạnh"))
    settings.HOCBA_TEST_PKI_DIR = test_pki.directory
    settings.HOCBA_SIGNING_KEYS = {}
    keys.clear()
    yield pki
    keys.clear()


def _fill(klass, students: list[int]) -> None:
    system = system_access(klass.school.pk)
    for i, subject in enumerate((klass.math, klass.pe)):
        for term in (1, 2):
            cells = []
            for key in [c.key for c in subject_column_choices(klass.school_class, subject)]:
                for n, student in enumerate(students):
                    if key == "nx":
                        value = f"Tiến bộ kì {term}"
                    elif subject.grading == "score":
                        value = f"{7 + (i + n + term) % 3}.5"
                    else:
                        value = "D"
                    cells.append({"student": student, "column": key, "value": value})
            sheet_save(access=system, school_class=klass.school_class, subject=subject, term=term, cells=cells)


@pytest.fixture
def approved(w, klass, keyring, store):
    """6A1's first three students, Toán and Giáo dục thể chất entered, approved; every signer has TOTP."""
    for name in SIGNERS:
        give_totp(w.account(name))
    students = klass.students[:3]
    _fill(klass, students)
    records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class, student_ids=students)
    records_approve(
        access=klass.access(w, "principal_a"), school_class=klass.school_class, student_ids=students, reason=REASON
    )
    return list(RecordBook.objects.filter(student_id__in=students).order_by("pk"))


def run(task, job_id: int, klass) -> str:
    state = task.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)
    return state


def confirm(w, klass, name: str, step: str, subject=None) -> BackgroundJob:
    job_id = signing_flow.confirmation_start(
        access=klass.access(w, name), school_class=klass.school_class, step=step, subject=subject
    )
    assert run(signing_flow.sign_class, job_id, klass) == "done"
    return BackgroundJob.objects.get(pk=job_id)


def lock_whole_year(w) -> None:
    now = timezone.now()
    Window.objects.create(
        tier="province",
        unit_id=w.province,
        category="whole_year",
        year_start=2025,
        opens_at=now - dt.timedelta(days=30),
        locks_at=now - dt.timedelta(minutes=1),
        reason="Khóa sổ cả năm",
    )


def rollup(w) -> tuple[int, int, int]:
    row = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    return row.records_approved, row.records_signed, row.records_archived


def archived_pdf(store, document: RecordDocument) -> bytes:
    client, bucket = store
    got = client.get_object(Bucket=bucket, Key=document.archive_key, VersionId=document.archive_version_id)
    return got["Body"].read()


def test_the_whole_chain_after_a_whole_year_lock_ends_signed_archived_and_valid(w, klass, approved, store, test_pki):
    lock_whole_year(w)
    before = rollup(w)
    math = confirm(w, klass, "teacher_a", "subject", klass.math)
    assert (math.total, math.done, math.ok, math.failed) == (3, 3, 3, 0)
    documents = RecordDocument.objects.filter(record__in=approved)
    assert documents.count() == 3 and {d.state for d in documents} == {DocumentState.SIGNING}
    assert {d.template_version for d in documents} == {"tt22-v1"}
    confirm(w, klass, "teacher_a", "subject", klass.pe)
    confirm(w, klass, "homeroom_a", "homeroom")
    year = klass.school_class.year
    assert signing_flow.year_counts(year).ready == 3
    # The principal's year-end page: the counts, a bad year refused, then re-authentication and the job.
    client = client_for(w.account("principal_a"), SCHOOL_A_HOST)
    page = client.get("/signing/year/?year=2025")
    assert page.status_code == 200 and '<strong id="ready">3</strong>' in page.content.decode()
    bad = client.post("/signing/year/", {"year": "năm nay"}, follow=True)
    assert "Năm học không hợp lệ." in bad.content.decode()
    outsider = client_for(w.account("teacher_a"), SCHOOL_A_HOST).post("/signing/year/", {"year": year.pk})
    assert outsider.status_code == 403
    asked = client.post("/signing/year/", {"year": year.pk})
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    resumed = client.post(asked["Location"], {"password": PASSWORD})
    connection.set_tenant(klass.school)
    job_id = BackgroundJob.objects.get(kind=signing_flow.YEAR_KIND).pk
    assert resumed["Location"] == f"/jobs/{job_id}/"
    assert run(signing_flow.sign_year, job_id, klass) == "done"
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.total, job.done, job.ok) == (3, 3, 3) and "3 học bạ" in job.summary["vi"]

    for record in approved:
        record.refresh_from_db()
        assert record.state == "signed" and record.sealed_by == w.accounts["principal_a"]
    approved_before, signed_before, archived_before = before
    assert rollup(w) == (approved_before - 3, signed_before + 3, archived_before + 3)

    roots = [test_pki.root_pem]
    for document in RecordDocument.objects.filter(record__in=approved):
        assert document.state == DocumentState.ARCHIVED and document.archive_version_id
        steps = list(document.signatures.order_by("seq").values_list("step", "signer_id"))
        assert steps == [
            ("subject", w.accounts["teacher_a"]),
            ("subject", w.accounts["teacher_a"]),
            ("homeroom", w.accounts["homeroom_a"]),
            ("principal", w.accounts["principal_a"]),
            ("seal", w.accounts["principal_a"]),
        ]
        pdf = archived_pdf(store, document)
        verdict = validate(pdf, roots)
        assert verdict.valid, (verdict.outcome, verdict.detail)
        assert len(verdict.signatures) == 5 and {s.state for s in verdict.signatures} == {SignatureState.VALID}
        assert [s.field for s in verdict.signatures][:3] == ["subject-toan", "subject-giao_duc_the_chat", "homeroom"]

    # The audit's actor of every signature is its signer, in the signer's role, never "system".
    entries = AuditEntry.objects.filter(table_name="reporting_documentsignature", operation="INSERT")
    actors = sorted({(e.account_id, e.role) for e in entries})
    assert actors == sorted(
        {
            (w.accounts["teacher_a"], "subject_teacher"),
            (w.accounts["homeroom_a"], "homeroom_teacher"),
            (w.accounts["principal_a"], "principal"),
        }
    )
    assert entries.count() == 15


def test_a_job_run_again_skips_what_is_signed_and_a_resumed_one_takes_up_the_rest(w, klass, approved):
    first = confirm(w, klass, "teacher_a", "subject", klass.math)
    signatures = DocumentSignature.objects.count()
    params = {"school_class": klass.school_class.pk, "step": "subject", "subject": klass.math.pk}
    params["records"] = [r.pk for r in approved]
    again = job_create(
        kind=signing_flow.SIGN_KIND,
        requested_by=w.accounts["teacher_a"],
        capability="records.sign",
        school_id=w.school_a,
        total=3,
        params=params,
    )
    assert run(signing_flow.sign_class, again, klass) == "done"
    assert DocumentSignature.objects.count() == signatures
    assert set(BackgroundJobRow.objects.filter(job_id=again).values_list("outcome", flat=True)) == {"skipped"}
    assert first.ok == 3

    # A job whose worker died after its first record: redelivered, it signs the other two only.
    params["subject"] = klass.pe.pk
    resumed = job_create(
        kind=signing_flow.SIGN_KIND,
        requested_by=w.accounts["teacher_a"],
        capability="records.sign",
        school_id=w.school_a,
        total=3,
        params=params,
    )
    BackgroundJobRow.objects.create(job_id=resumed, number=1, key="x", outcome="updated")
    BackgroundJob.objects.filter(pk=resumed).update(state="running", attempts=1, done=1, ok=1)
    assert run(signing_flow.sign_class, resumed, klass) == "done"
    pe = DocumentSignature.objects.filter(subject=klass.pe)
    assert sorted(pe.values_list("document__record_id", flat=True)) == [r.pk for r in approved[1:]]


@pytest.mark.parametrize(
    "name, step, subject, code, refusal",
    [
        ("homeroom_a", "homeroom", None, "signing.out_of_order", DomainError),
        ("principal_a", "principal", None, "signing.out_of_order", DomainError),
        ("clerk_a", "seal", None, "signing.out_of_order", DomainError),
        ("dept_a", "subject", "math", "signing.wrong_person", NotAllowed),
        ("teacher_a", "homeroom", None, "signing.out_of_order", DomainError),
        ("parent_a", "subject", "math", "signing.not_allowed", NotAllowed),
    ],
)
def test_a_confirmation_out_of_order_or_by_the_wrong_person_is_refused_and_changes_nothing(
    w, klass, approved, name, step, subject, code, refusal
):
    with pytest.raises(refusal) as refused:
        signing_flow.confirmation_start(
            access=klass.access(w, name),
            school_class=klass.school_class,
            step=step,
            subject=klass.math if subject else None,
        )
    assert refused.value.code == code
    assert not RecordDocument.objects.exists() and not BackgroundJob.objects.filter(kind=signing_flow.SIGN_KIND)


def test_wrong_person_after_the_subjects_and_a_class_without_approved_records(w, klass, approved):
    confirm(w, klass, "teacher_a", "subject", klass.math)
    confirm(w, klass, "teacher_a", "subject", klass.pe)
    with pytest.raises(NotAllowed) as refused:  # the homeroom step is the class's homeroom teacher's
        signing_flow.confirmation_start(
            access=klass.access(w, "teacher_a"), school_class=klass.school_class, step="homeroom", subject=None
        )
    assert refused.value.code == "signing.wrong_person"
    with pytest.raises(DomainError) as refused:
        signing_flow.year_start(access=klass.access(w, "principal_a"), year=klass.school_class.year)
    assert refused.value.code == "signing.nothing_waiting"
    with pytest.raises(DomainError) as refused:  # 6A2: nothing approved
        signing_flow.confirmation_start(
            access=klass.access(w, "principal_a"), school_class=klass.other_class, step="subject", subject=klass.math
        )
    assert refused.value.code == "signing.nothing_approved"


def test_the_page_shows_the_chain_and_asks_totp_then_reauthentication_before_the_job(w, klass, approved, queries):
    teacher = w.account("teacher_a")
    Authenticator.objects.filter(user=teacher).delete()
    client = client_for(teacher, SCHOOL_A_HOST)
    url = f"/classes/{klass.school_class.pk}/signing/"
    page = client.get(url)
    connection.set_tenant(klass.school)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Nguyễn Văn An" in body and "Toán" in body and 'href="/accounts/2fa/totp/activate/"' in body
    refused = client.post(url, {"step": "subject", "subject": klass.math.pk}, follow=True)
    connection.set_tenant(klass.school)
    assert "xác thực hai lớp" in refused.content.decode()
    assert not BackgroundJob.objects.filter(kind=signing_flow.SIGN_KIND).exists()

    give_totp(teacher)
    asked = client.post(url, {"step": "subject", "subject": klass.math.pk})
    connection.set_tenant(klass.school)
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    assert not BackgroundJob.objects.filter(kind=signing_flow.SIGN_KIND).exists()
    resumed = client.post(asked["Location"], {"password": PASSWORD})
    connection.set_tenant(klass.school)
    job = BackgroundJob.objects.get(kind=signing_flow.SIGN_KIND)
    assert resumed.status_code == 302 and resumed["Location"] == f"/jobs/{job.pk}/"
    assert job.requested_by_id == teacher.pk and job.params["records"] == [r.pk for r in approved]

    # Out of order through the page: a message, nothing queued.
    homeroom = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    out = homeroom.post(url, {"step": "homeroom"}, follow=True)
    connection.set_tenant(klass.school)
    assert "Chưa đến lượt ký này" in out.content.decode()
    assert BackgroundJob.objects.filter(kind=signing_flow.SIGN_KIND).count() == 1
    for body, message in (
        ({"step": "ky-bua"}, "Bước ký không hợp lệ."),
        ({"step": "subject", "subject": "Toán"}, "Môn học không hợp lệ."),
        ({"step": "subject"}, "Chữ ký của giáo viên bộ môn phải nêu môn học."),
    ):
        bad = homeroom.post(url, body, follow=True)
        connection.set_tenant(klass.school)
        assert bad.status_code == 200 and message in bad.content.decode(), body
    english = client_for(w.account("homeroom_a"), SCHOOL_A_HOST)
    english.cookies["django_language"] = "en"
    said = english.post(url, {"step": "homeroom"}, follow=True).content.decode()
    connection.set_tenant(klass.school)
    assert "Chưa đến lượt" not in said and "Signing record books" in said
    assert BackgroundJob.objects.filter(kind=signing_flow.SIGN_KIND).count() == 1

    # The page's queries do not grow with the class: three records, then six.
    with queries() as three:
        assert client.get(url).status_code == 200
    connection.set_tenant(klass.school)
    more = klass.students[3:]
    _fill(klass, more)
    records_submit(access=klass.access(w, "homeroom_a"), school_class=klass.school_class, student_ids=more)
    records_approve(
        access=klass.access(w, "principal_a"), school_class=klass.school_class, student_ids=more, reason=REASON
    )
    with queries() as six:
        assert client.get(url).status_code == 200
    connection.set_tenant(klass.school)
    assert len(six) == len(three)


def test_remote_homeroom_and_the_seal_on_the_signers_device_through_the_api(w, klass, approved, settings, test_pki):
    confirm(w, klass, "teacher_a", "subject", klass.math)
    confirm(w, klass, "teacher_a", "subject", klass.pe)
    key, cert, chain = pkcs12.load_key_and_certificates(test_pki.teachers[0].read_bytes(), TEST_PKI_PASSPHRASE)
    from reporting.signing import remote as remote_module

    remote_module.clear_credential_cache()
    with FakeCsc(key, cert, chain) as csc:
        settings.HOCBA_SIGNING_KEYS = {
            "accounts": {
                "homeroom_a": {"backend": "remote", "service_url": csc.url, "access_token": csc.token, "pin": csc.pin}
            },
            "seals": {"99000001": {"backend": "device"}},
        }
        keys.clear()
        confirm(w, klass, "homeroom_a", "homeroom")
        assert "v1/signatures/signHash" in csc.calls
    assert set(DocumentSignature.objects.filter(step="homeroom").values_list("backend", flat=True)) == {"remote"}

    principal = klass.access(w, "principal_a")
    for record in approved:
        document = RecordDocument.objects.get(record=record)
        signing_flow.sign_document(
            access=principal,
            document=document,
            step="principal",
            key=keys.account_key(username="principal_a", province_code="99"),
            place=signing_flow.school_place(w.school_a),
        )
    # The clerk confirms the seal on the page: a device session, then the local app through the API.
    clerk = client_for(w.account("clerk_a"), SCHOOL_A_HOST)
    page = clerk.post(f"/classes/{klass.school_class.pk}/signing/", {"step": "seal"})
    connection.set_tenant(klass.school)
    assert page.status_code == 200
    pending = page.context["device_session"]
    assert pending and pending in page.content.decode()
    seal_key, _cert, _chain = pkcs12.load_key_and_certificates(test_pki.seal.read_bytes(), TEST_PKI_PASSPHRASE)
    device = FakeDevice(seal_key)
    api = f"/api/v1/signing/device/{pending}/"
    stranger = client_for(w.account("teacher_a"), SCHOOL_A_HOST).get(api)  # the session is the clerk's only
    assert stranger.status_code in (403, 404)
    wrong = clerk.get(api).json()
    bad = clerk.post(api, {"signature": base64.b64encode(b"\x00" * 256).decode()}, content_type="application/json")
    connection.set_tenant(klass.school)
    assert bad.status_code == 400 and wrong["remaining"] == 3
    signed = 0
    while True:
        step = clerk.get(api).json()
        if not step["remaining"]:
            break
        value = device(base64.b64decode(step["data_to_sign"]))
        done = clerk.post(api, {"signature": base64.b64encode(value).decode()}, content_type="application/json")
        assert done.status_code == 200, done.content
        signed += 1
    connection.set_tenant(klass.school)
    assert signed == 3
    for record in approved:
        record.refresh_from_db()
        document = RecordDocument.objects.get(record=record)
        assert record.state == "signed" and document.state in (DocumentState.SEALED, DocumentState.ARCHIVED)
        seal = document.signatures.get(step="seal")
        assert (seal.backend, seal.signer_id) == ("token", w.accounts["clerk_a"])
    entry = AuditEntry.objects.filter(table_name="reporting_documentsignature").latest("id")
    assert (entry.account_id, entry.role) == (w.accounts["clerk_a"], "clerk")


def test_the_device_api_is_in_the_schools_openapi_schema(w):
    client = client_for(w.account("clerk_a"), SCHOOL_A_HOST)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = schema["paths"]["/api/v1/signing/device/{pending}/"]
    assert set(operations) >= {"get", "post"}
    assert "signature" in json.dumps(operations["post"]) or "signature" in json.dumps(schema["components"])


def test_keys_are_resolved_from_the_settings_and_made_once_per_process(settings, test_pki, tmp_path):
    from cryptography import x509

    from reporting.signing import SigningFailed

    settings.HOCBA_TEST_PKI_DIR, settings.HOCBA_SIGNING_KEYS, settings.HOCBA_SIGNING_KEYS_FILE = (
        test_pki.directory,
        {},
        None,
    )
    keys.clear()
    ref = keys.account_key(username="anthanh.hieutruong", province_code="99")
    assert ref.backend == "pkcs12" and ref.test_path == str(test_pki.principal)
    assert ref.signer() is keys.account_key(username="anthanh.hieutruong", province_code="99").signer()
    # A deployment's file: a remote account, the seal on a device (its certificate from the test PKI here).
    path = tmp_path / "signing-keys.json"
    remote = {"backend": "remote", "service_url": "https://ca.example.vn", "access_token": "t", "pin": "1"}
    path.write_text(json.dumps({"accounts": {"gv.remote": remote}, "seals": {"99000001": {"backend": "device"}}}))
    settings.HOCBA_SIGNING_KEYS_FILE = str(path)
    keys.clear()
    assert keys.account_key(username="gv.remote", province_code="99").backend == "remote"
    seal = keys.seal_key(school_code="99000001", province_code="99")
    certificate, chain = seal.device_certificate()
    assert seal.is_device and len(chain) == 1
    assert "99000001" in x509.load_der_x509_certificate(certificate).subject.rfc4514_string()
    with pytest.raises(SigningFailed):
        seal.signer()  # the seal's key is in the signer's hands
    path.write_text(json.dumps({"accounts": {"gv.x": {"backend": "floppy"}}}))
    keys.clear()
    with pytest.raises(SigningFailed) as refused:
        keys.account_key(username="gv.x", province_code="99")
    assert str(refused.value.message) == "Cấu hình khóa ký số không hợp lệ."
    # Production without a test PKI: an account not configured has no key, and says so.
    settings.HOCBA_TEST_PKI_DIR, settings.HOCBA_SIGNING_KEYS_FILE = None, None
    keys.clear()
    with pytest.raises(SigningFailed) as refused:
        keys.account_key(username="gv.y", province_code="99")
    assert "Chưa cấu hình khóa ký số" in str(refused.value.message)
    keys.clear()
