"""The archive of signed record books (reporting.services.archive, archivejobs, bundles; issue 10, Build 4, 5, 8):
Object Lock as configuration and as the request headers of every write (moto does not enforce retention: the
PutObject requests are captured with a botocore event hook), exactly one object version per key whatever reruns,
the key layout by the tiers of the archive date (never re-keyed after a move), the signed manifest, the bundles and
their SHA-256s, the khóa decision, revocation, hand-over, the store down and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from django.db import connection
from django.utils import timezone
from hocba.kernel import archive as store
from hocba.kernel.errors import DomainError, NotAllowed

from reporting.models import ArchiveManifest, DocumentContent, Handover, RecordDocument
from reporting.services import archive, archivejobs, manifests, signing
from schools.models import Enrolment, RecordBook
from schools.rollups import school_figures
from tenants import tasks
from tenants.models import (
    AdministrativeUnit,
    BackgroundJob,
    RollupDrift,
    School,
    SchoolRollup,
    VerificationIndex,
    Window,
)
from tenants.services.schools import school_move
from tests.support import SCHOOL_A_HOST, client_for, give_totp

RENDERED = b"%PDF-1.7\n% hoc ba rendered for the archive\n"


@pytest.fixture
def s3(settings, monkeypatch, tmp_path, test_pki):
    """An in-memory S3 (moto) and a fresh bucket name; the school seal's key in the test PKI (school 99000001)."""
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    settings.HOCBA_TEST_PKI_DIR = test_pki.directory
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", f"records-{uuid.uuid4().hex[:8]}")
    with mock_aws():
        client = store.archive_client()
        monkeypatch.setattr(archive, "client", lambda: client)
        yield client


def put_requests(client) -> list[dict[str, str]]:
    sent: list[dict[str, str]] = []

    def keep(request, **kwargs):
        headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        sent.append({**headers, "url": request.url})

    client.meta.events.register("before-send.s3.PutObject", keep)
    return sent


def sign_all(w, klass, document):
    """The chain, each signature an appended revision (the archive does not read the signatures, only the bytes).
    6A2 has no teaching assignment and the principal as its homeroom teacher."""
    mine = document.school_class_id == klass.school_class.pk
    subjects = [("teacher_a", "subject", klass.math), ("teacher_a", "subject", klass.pe)] if mine else []
    for name, step, subject in (
        *subjects,
        ("homeroom_a" if mine else "principal_a", "homeroom", None),
        ("principal_a", "principal", None),
        ("clerk_a", "seal", None),
    ):
        current = bytes(DocumentContent.objects.get(document=document).pdf)
        signing.signature_add(
            access=klass.access(w, name),
            document=document,
            step=step,
            subject=subject,
            pdf=current + f"% signature {step} {name}\n".encode(),
            certificate_subject=f"CN={name}",
            certificate_serial="01AB",
            backend="pkcs12",
        )
    document.refresh_from_db()
    return document


@pytest.fixture
def sealed(w, klass):
    """``sealed(i)``: student i's record approved, rendered, signed by the whole chain and sealed."""
    for name in ("teacher_a", "homeroom_a", "clerk_a"):
        give_totp(w.account(name))

    def make(i: int = 0, school_class=None) -> RecordDocument:
        students = klass.students if school_class is None else klass.other_students
        if school_class is not None:
            type(school_class).objects.filter(pk=school_class.pk).update(homeroom_teacher_id=w.accounts["principal_a"])
        record = RecordBook.objects.get(student_id=students[i], year=klass.school_class.year)
        RecordBook.objects.filter(pk=record.pk).update(
            state="approved", approved_at=timezone.now(), results={"rules": "TT22/2021", "average": "8.1"}
        )
        record.refresh_from_db()
        document = signing.document_create(
            access=klass.access(w, "principal_a"),
            record=record,
            pdf=RENDERED + f"% student {i}\n".encode(),
            template_version="tt22-v1",
            pages=4,
        )
        return sign_all(w, klass, document)

    return make


def versions(client, key: str) -> list[dict]:
    bucket = store.archive_bucket()
    return [v for v in client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []) if v["Key"] == key]


# --- one document ----------------------------------------------------------------------------------------------


def test_a_sealed_document_is_archived_with_compliance_lock_headers_and_its_data(w, klass, s3, sealed):
    document = sealed(0)
    principal = klass.access(w, "principal_a")
    sent = put_requests(s3)
    before = timezone.now()
    done = archive.archive_document(access=principal, document=document)
    config = s3.get_object_lock_configuration(Bucket=store.archive_bucket())["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=store.archive_bucket())["Status"] == "Enabled"
    assert len(sent) == 2 and done.written
    for headers in sent:
        assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
        until = dt.datetime.fromisoformat(headers["x-amz-object-lock-retain-until-date"].replace("Z", "+00:00"))
        expected = before + dt.timedelta(days=store.record_retention_days())
        assert abs((until - expected).total_seconds()) < 120
        assert "x-amz-checksum-sha256" in headers
    prefix = "99/99-AT/99000001/2025-2026/6A1"
    assert done.key == f"{prefix}/{document.uid}-v1.pdf" and done.data_key == f"{prefix}/{document.uid}-v1.json"
    document.refresh_from_db()
    assert (document.state, document.archive_key, document.archive_version_id) == (
        "archived",
        done.key,
        done.version_id,
    )
    assert not DocumentContent.objects.filter(document=document).exists()  # the store keeps the bytes now
    pdf = s3.get_object(Bucket=store.archive_bucket(), Key=done.key, VersionId=done.version_id)["Body"].read()
    assert hashlib.sha256(pdf).hexdigest() == document.sha256 and pdf.startswith(RENDERED)
    data = json.loads(s3.get_object(Bucket=store.archive_bucket(), Key=done.data_key)["Body"].read())
    assert data["student"]["full_name"] == "Nguyễn Văn An" and data["record"]["results"]["average"] == "8.1"
    assert [s["step"] for s in data["signatures"]] == ["subject", "subject", "homeroom", "principal", "seal"]
    index = VerificationIndex.objects.get(uid=document.uid)
    assert (index.s3_key, index.s3_version_id, index.sha256) == (done.key, done.version_id, document.sha256)
    rollup = SchoolRollup.objects.get(school_id=w.school_a, year_start=2025)
    assert rollup.records_archived == 1 == school_figures(klass.school_class.year)["records_archived"]


def test_archiving_again_writes_no_second_version(w, klass, s3, sealed):
    document = sealed(0)
    principal = klass.access(w, "principal_a")
    first = archive.archive_document(access=principal, document=document)
    sent = put_requests(s3)
    again = archive.archive_document(access=principal, document=document)
    assert sent == [] and not again.written and again.version_id == first.version_id
    assert len(versions(s3, first.key)) == len(versions(s3, first.data_key)) == 1
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).records_archived == 1


def test_bytes_already_in_the_store_from_an_interrupted_run_are_taken_not_written_again(
    w, klass, s3, sealed, monkeypatch
):
    """The worker wrote both objects, then died before the commit: the database still says sealed."""
    document = sealed(0)
    principal = klass.access(w, "principal_a")

    def die(**kwargs):
        raise KeyboardInterrupt("killed between the put and the commit")

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(signing, "document_archived", die)
        archive.archive_document(access=principal, document=document)
    document.refresh_from_db()
    assert document.state == "sealed"
    sent = put_requests(s3)
    done = archive.archive_document(access=principal, document=document)
    assert sent == [] and not done.written
    assert len(versions(s3, done.key)) == len(versions(s3, done.data_key)) == 1


def test_a_bucket_without_object_lock_is_refused_and_nothing_is_marked(w, klass, s3, sealed):
    document = sealed(0)
    s3.create_bucket(Bucket=store.archive_bucket())  # versioning and lock off
    with pytest.raises(archive.ArchiveRefused) as refused:
        archive.archive_document(access=klass.access(w, "principal_a"), document=document)
    assert refused.value.code == "archive.not_locked" and "Object Lock" in refused.value.as_dict()["detail"]
    document.refresh_from_db()
    assert document.state == "sealed" and document.archive_key == ""
    assert s3.list_object_versions(Bucket=store.archive_bucket()).get("Versions", []) == []


def test_a_document_not_sealed_is_refused(w, klass, s3, sealed):
    record = RecordBook.objects.get(student_id=klass.students[1], year=klass.school_class.year)
    RecordBook.objects.filter(pk=record.pk).update(state="approved", approved_at=timezone.now())
    document = signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=RENDERED, template_version="tt22-v1"
    )
    with pytest.raises(DomainError) as refused:
        archive.archive_document(access=klass.access(w, "principal_a"), document=document)
    assert refused.value.code == "archive.not_sealed"
    with pytest.raises(NotAllowed):
        archive.archive_document(access=klass.access(w, "parent_a"), document=document)


def test_the_key_is_the_unit_of_the_archive_date_and_never_changes_after_a_move(w, klass, s3, sealed):
    principal = klass.access(w, "principal_a")
    first = archive.archive_document(access=principal, document=sealed(0))
    assert first.key.startswith("99/99-AT/99000001/2025-2026/6A1/")
    school_move(
        actor=None,
        school=School.objects.get(pk=w.school_a),
        unit=AdministrativeUnit.objects.get(pk=w.unit_b),
        on=timezone.localdate(),
    )
    later = archive.archive_document(access=principal, document=sealed(1))
    assert later.key.startswith("99/99-AT/99000001/2025-2026/6A1/")  # the class's folder, as first keyed
    other = archive.archive_document(access=principal, document=sealed(0, school_class=klass.other_class))
    assert other.key.startswith("99/99-BM/99000001/2025-2026/6A2/")  # a class first archived after the move
    first_doc = RecordDocument.objects.get(archive_key=first.key)
    assert first_doc.archive_version_id == first.version_id  # never re-keyed
    row = manifests.manifest_write(access=principal, school_class=klass.other_class).row
    assert (row.province_code, row.unit_code, row.key) == (
        "99",
        "99-BM",
        "99/99-BM/99000001/2025-2026/6A2/manifest-r1.json",
    )


# --- manifest and bundles --------------------------------------------------------------------------------------


def test_the_manifest_is_signed_by_the_seal_and_the_bundle_matches_it(w, klass, s3, sealed, login, test_pki):
    principal = klass.access(w, "principal_a")
    for i in range(3):
        archive.archive_document(access=principal, document=sealed(i))
    made = manifests.manifest_write(access=principal, school_class=klass.school_class)
    row = made.row
    assert made.written and row.revision == 1 and row.files == 6 and row.signed
    bucket = store.archive_bucket()
    manifest = s3.get_object(Bucket=bucket, Key=row.key, VersionId=row.version_id)["Body"].read()
    assert hashlib.sha256(manifest).hexdigest() == row.sha256
    signature = s3.get_object(Bucket=bucket, Key=row.key + ".p7s")["Body"].read()
    assert manifests.manifest_verify(manifest, signature, trust_roots=test_pki.roots)
    assert not manifests.manifest_verify(manifest + b" ", signature, trust_roots=test_pki.roots)
    assert not manifests.manifest_verify(manifest, signature, trust_roots=[test_pki.outsider_root_pem])
    body = json.loads(manifest)
    assert (body["province_code"], body["unit_code"], body["school_code"]) == ("99", "99-AT", "99000001")
    # Nothing new: no new revision.
    assert manifests.manifest_write(access=principal, school_class=klass.school_class).row.pk == row.pk

    response = login("principal_a", SCHOOL_A_HOST).get(f"/archive/classes/{klass.school_class.pk}/bundle/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(bundle.namelist())
    assert {"manifest-r1.json", "manifest-r1.json.p7s"} <= names and len(names) == 8
    for f in body["files"]:
        name = f["key"].rsplit("/", 1)[1]
        assert hashlib.sha256(bundle.read(name)).hexdigest() == f["sha256"], name
    assert bundle.read("manifest-r1.json") == manifest

    year = login("principal_a", SCHOOL_A_HOST).get(f"/archive/years/{klass.school_class.year.pk}/bundle/")
    assert year.status_code == 200
    assert "6A1/manifest-r1.json" in zipfile.ZipFile(io.BytesIO(b"".join(year.streaming_content))).namelist()


def test_bundles_are_for_the_principal_only(w, klass, s3, sealed, login):
    principal = klass.access(w, "principal_a")
    archive.archive_document(access=principal, document=sealed(0))
    manifests.manifest_write(access=principal, school_class=klass.school_class)
    for name in ("homeroom_a", "teacher_a", "clerk_a", "parent_a", "vice_a"):
        response = login(name, SCHOOL_A_HOST).get(f"/archive/classes/{klass.school_class.pk}/bundle/")
        assert response.status_code in (403, 404), name
    empty = login("principal_a", SCHOOL_A_HOST).get(f"/archive/classes/{klass.other_class.pk}/bundle/")
    assert empty.status_code == 403 and "chưa có học bạ nào được lưu trữ" in empty.content.decode()


# --- jobs ------------------------------------------------------------------------------------------------------


def test_the_year_job_archives_every_sealed_document_once_and_writes_the_manifests(
    w, klass, s3, sealed, login, django_capture_on_commit_callbacks
):
    documents = [sealed(i) for i in range(3)]
    client = login("principal_a", SCHOOL_A_HOST)
    page = client.get("/archive/")
    assert page.status_code == 200 and "Lưu trữ cả năm học" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/archive/years/{klass.school_class.year.pk}/run/")
    assert response.status_code == 302
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    outcome = archivejobs.archive_classes.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)  # the task left the school's schema
    job = BackgroundJob.objects.get(pk=job_id)
    assert (outcome, job.state, job.total, job.done, job.ok) == ("done", "done", 3, 3, 3)
    for d in documents:
        d.refresh_from_db()
        assert d.state == "archived" and len(versions(s3, d.archive_key)) == 1
    assert ArchiveManifest.objects.filter(school_class=klass.school_class).count() == 1
    # A rerun finds nothing to do: the request is refused with a message, a replayed job writes nothing.
    again = client.post(f"/archive/years/{klass.school_class.year.pk}/run/", follow=True)
    assert "Không có học bạ nào đã đóng dấu số mà chưa lưu trữ" in again.content.decode()
    sent = put_requests(s3)
    BackgroundJob.objects.filter(pk=job_id).update(state="running")
    archivejobs.archive_classes.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)
    assert sent == []


def test_the_store_down_makes_the_job_wait_and_retry_and_marks_nothing(
    w, klass, s3, sealed, monkeypatch, django_capture_on_commit_callbacks
):
    document = sealed(0)
    closed = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",  # nothing listens on the discard port
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1}),
    )
    monkeypatch.setattr(archive, "client", lambda: closed)
    monkeypatch.setattr(archivejobs, "WAIT_SECONDS", 0.0)
    with django_capture_on_commit_callbacks(execute=False):
        job_id = archivejobs.archive_class_start(access=klass.access(w, "principal_a"), school_class=klass.school_class)
    tries: list[int] = []
    original = archive.archive_document

    def counted(**kwargs):
        tries.append(1)
        return original(**kwargs)

    monkeypatch.setattr(archive, "archive_document", counted)
    outcome = archivejobs.archive_classes.apply(args=[klass.school.schema_name, job_id])
    assert outcome.get(propagate=False) == "failed"
    connection.set_tenant(klass.school)
    assert len(tries) == archivejobs.WAIT_RETRIES + 1  # the first run, then each Celery retry
    job = BackgroundJob.objects.get(pk=job_id)
    assert job.state == "failed" and job.error["code"] == "archive.unavailable" and job.ok == 0
    assert "Không học bạ nào bị đánh dấu" in job.error["detail"]
    document.refresh_from_db()
    assert document.state == "sealed" and document.archive_key == ""
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).records_archived == 0


# --- the khóa decision, revocation, hand-over -----------------------------------------------------------------


def test_the_lock_comes_after_the_archive(w, klass, s3, sealed, login):
    document = sealed(0)
    client = login("principal_a", SCHOOL_A_HOST)
    url = f"/archive/classes/{klass.school_class.pk}/lock/"
    refused = client.post(url, follow=True)
    assert "chưa được lưu trữ nên chưa khóa được" in refused.content.decode()
    assert RecordBook.objects.get(pk=document.record_id).state == "signed"
    archive.archive_document(access=klass.access(w, "principal_a"), document=document)
    assert login("homeroom_a", SCHOOL_A_HOST).post(url).status_code in (403, 404)
    done = client.post(url, follow=True)
    assert "Đã khóa 1 học bạ" in done.content.decode()
    assert RecordBook.objects.get(pk=document.record_id).state == "locked"


def test_revocation_keeps_the_archived_version_and_marks_it_superseded(w, klass, s3, sealed, login):
    document = sealed(0)
    done = archive.archive_document(access=klass.access(w, "principal_a"), document=document)
    client = login("principal_a", SCHOOL_A_HOST)
    url = f"/archive/records/{document.record_id}/revoke/"
    assert client.get(url).status_code == 200
    blank = client.post(url, {"reason": "  "})
    assert blank.status_code == 400 and "lý do" in blank.content.decode()
    assert RecordBook.objects.get(pk=document.record_id).state == "signed"
    assert login("homeroom_a", SCHOOL_A_HOST).post(url, {"reason": "Sai điểm môn Toán học kì II"}).status_code in (
        403,
        404,
    )
    response = client.post(url, {"reason": "Sai điểm môn Toán học kì II"})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.state == "superseded" and document.archive_key == done.key
    assert VerificationIndex.objects.get(uid=document.uid).superseded_at is not None
    assert len(versions(s3, done.key)) == 1  # the archived copy stays
    kept = s3.head_object(Bucket=store.archive_bucket(), Key=done.key, VersionId=done.version_id)
    assert kept["ObjectLockMode"] == "COMPLIANCE"
    assert RecordBook.objects.get(pk=document.record_id).state == "draft"
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).records_archived == 0
    assert school_figures(klass.school_class.year)["records_archived"] == 0
    # The manifest lists the superseded copy as such.
    row = manifests.manifest_write(access=klass.access(w, "principal_a"), school_class=klass.school_class).row
    body = json.loads(s3.get_object(Bucket=store.archive_bucket(), Key=row.key)["Body"].read())
    assert {f["superseded"] for f in body["files"]} == {True}


def test_a_hand_over_bundles_the_signed_books_of_a_leaving_student(w, klass, s3, sealed, login):
    document = sealed(0)
    archive.archive_document(access=klass.access(w, "principal_a"), document=document)
    student = document.record.student_id
    client = login("principal_a", SCHOOL_A_HOST)
    url = f"/archive/students/{student}/handover/"
    still = client.post(url)
    assert still.status_code == 409 and "vẫn đang học tại trường" in still.content.decode()
    Enrolment.objects.filter(student_id=student, ends_on__isnull=True).update(
        ends_on=timezone.localdate(), exit="transferred"
    )
    assert login("homeroom_a", SCHOOL_A_HOST).post(url).status_code in (403, 404)
    assert login("teacher_a", SCHOOL_A_HOST).get(url).status_code in (403, 404)
    response = client.post(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    handover = Handover.objects.get()
    assert handover.documents == [str(document.uid)] and handover.sha256 == hashlib.sha256(response.content).hexdigest()
    stored = s3.get_object(Bucket=store.archive_bucket(), Key=handover.bundle_key, VersionId=handover.version_id)
    assert stored["Body"].read() == response.content and stored["ObjectLockMode"] == "COMPLIANCE"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    index = json.loads(bundle.read("handover.json"))
    (book,) = index["books"]
    assert book["state"] == "archived" and hashlib.sha256(bundle.read(book["file"])).hexdigest() == document.sha256


def test_a_foreign_class_and_the_platform_site_are_refused(w, klass, s3, login):
    client = login("principal_a", SCHOOL_A_HOST)
    assert client.get("/archive/classes/999999/").status_code == 404
    assert client.post("/archive/classes/999999/run/").status_code == 404
    platform = client_for(w.account("principal_a"))
    for path in ("/archive/", f"/archive/classes/{klass.school_class.pk}/bundle/", "/archive/students/1/handover/"):
        response = platform.get(path)
        assert (
            response.status_code == 403 and "chỉ thực hiện trên trang riêng của nhà trường" in response.content.decode()
        )


def test_the_reconciliation_agrees_with_records_archived_and_repairs_drift(w, klass, s3, sealed):
    archive.archive_document(access=klass.access(w, "principal_a"), document=sealed(0))
    SchoolRollup.objects.filter(school_id=w.school_a, year_start=2025).update(records_archived=7)
    connection.set_schema_to_public()  # where a worker starts
    tasks.rollups_reconcile_chunk.run([[w.school_a, klass.school.schema_name]], "archive-pass")
    connection.set_tenant(klass.school)
    assert SchoolRollup.objects.get(school_id=w.school_a, year_start=2025).records_archived == 1
    assert ("records_archived", 7, 1) in set(
        RollupDrift.objects.filter(school_id=w.school_a).values_list("field", "old", "new")
    )


def test_after_a_lock_a_revocation_is_refused_with_the_exception_path(w, klass, s3, sealed, login):
    document = sealed(0)
    Window.objects.create(
        tier="province",
        unit_id=w.province,
        category="whole_year",
        year_start=2025,
        opens_at=timezone.now() - dt.timedelta(days=30),
        locks_at=timezone.now() - dt.timedelta(minutes=1),
        reason="Khóa sổ cuối năm",
    )
    response = login("principal_a", SCHOOL_A_HOST).post(
        f"/archive/records/{document.record_id}/revoke/", {"reason": "Sai điểm môn Toán học kì II"}
    )
    text = response.content.decode()
    assert response.status_code == 423 and "cần xin ngoại lệ" in text and "/windows/requests/" in text
    document.refresh_from_db()
    assert document.state == "sealed" and RecordBook.objects.get(pk=document.record_id).state == "signed"


def test_the_archive_page_takes_the_same_queries_whatever_its_classes_and_records(w, klass, s3, sealed, login, queries):
    client = login("principal_a", SCHOOL_A_HOST)
    client.get("/archive/")  # warm the session and caches

    def count() -> int:
        with queries() as q:
            response = client.get("/archive/?year=2025")
        assert response.status_code == 200
        return len(q)

    empty = count()
    principal = klass.access(w, "principal_a")
    for i in range(2):
        archive.archive_document(access=principal, document=sealed(i))
    manifests.manifest_write(access=principal, school_class=klass.school_class)
    sealed(0, school_class=klass.other_class)
    assert count() == empty
    page = client.get("/archive/?year=2025").content.decode()
    assert 'data-archived="2"' in page and 'data-sealed="1"' in page
