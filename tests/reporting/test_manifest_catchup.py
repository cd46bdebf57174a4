"""The class manifests the signed record books' bundles need (issue 10, Build 4 and 6): the archive job writes the
manifest of a class whose archived documents its latest manifest does not all list (or which has none) even when no
document waits — the store failed between archiving a document and writing its manifest — and writes no new revision
when nothing changed; the archive pages offer to run it then. The signing jobs write the manifest after the seal: the
class job at the seal step and the principal's year job. The signers' initials have one format ("N.T.L.") on the
public page, whether they come from the public index (the QR link) or from the certificates of an uploaded file."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import pytest
from django.db import connection
from hocba.kernel.errors import DomainError

from reporting.models import ArchiveManifest, DocumentState, RecordDocument
from reporting.selectors import archive_overview, manifests_behind
from reporting.services import archive, archivejobs, bundles, manifests, signing, signing_flow
from reporting.signing import validation
from reporting.verify.links import verification_path
from tenants.models import Account, BackgroundJob
from tests.support import SCHOOL_A_HOST

from . import test_archive, test_signing_flow, test_verify_page
from .conftest import HOMEROOM, PRINCIPAL, TEACHERS
from .test_archive import put_requests
from .test_signing_flow import confirm, run
from .test_verify_page import public, upload

# The fixtures of the archive, signing-flow and verification tests, shared under names of this module.
s3 = test_archive.s3  # the in-memory store (moto), its client
sealed_book = test_archive.sealed  # ``sealed_book(i)``: student i's record signed by the chain and sealed
store = test_signing_flow.store  # the in-memory store with its locked bucket: (client, bucket)
keyring = test_signing_flow.keyring  # every signer's key from the test PKI
approved = test_signing_flow.approved  # three approved records of 6A1, every signer with TOTP
trust = test_verify_page.trust  # the public page trusts the test PKI
verified_book = test_verify_page.sealed  # a real record book signed by the chain, indexed and archived


def _store_refuses_manifests(monkeypatch) -> None:
    """The store stops answering once the documents are in it: every manifest write fails."""

    def down(*args, **kwargs):
        raise archive.ArchiveUnavailable("the store went away")

    monkeypatch.setattr(manifests, "put_once", down)


def _archived_without_manifest(w, klass, sealed_book, monkeypatch, numbers) -> list[RecordDocument]:
    """What a seal job leaves when the store fails between the documents and the manifest: each document archived
    (``archive_sealed``), then ``manifests_write`` unable to write (it lets the job end: the signatures stand)."""
    principal = klass.access(w, "principal_a")
    documents = [sealed_book(i) for i in numbers]
    for document in documents:
        assert signing_flow.archive_sealed(principal, document)
    with monkeypatch.context() as m:
        _store_refuses_manifests(m)
        signing_flow.manifests_write(principal, [d.record for d in documents])
    return [RecordDocument.objects.get(pk=d.pk) for d in documents]


def _run_archive(job_id: int, klass) -> str:
    state = archivejobs.archive_classes.apply(args=[klass.school.schema_name, job_id]).get()
    connection.set_tenant(klass.school)
    return state


def _bundle_names(client, klass) -> set[str]:
    response = client.get(f"/archive/classes/{klass.school_class.pk}/bundle/")
    assert response.status_code == 200, response.content[:500]
    return set(zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist())


def _file_names(documents: list[RecordDocument]) -> set[str]:
    names = set()
    for d in documents:
        name = d.archive_key.rsplit("/", 1)[1]
        names |= {name, name[: -len(".pdf")] + ".json"}
    return names


# --- the archive job writes a missing manifest --------------------------------------------------------------------


def test_the_archive_job_writes_the_manifest_the_store_failure_left_out_once(
    w, klass, s3, sealed_book, login, monkeypatch, django_capture_on_commit_callbacks
):
    documents = _archived_without_manifest(w, klass, sealed_book, monkeypatch, (0, 1))
    assert {d.state for d in documents} == {DocumentState.ARCHIVED}
    assert not ArchiveManifest.objects.filter(school_class=klass.school_class).exists()
    assert manifests_behind([klass.school_class.pk, klass.other_class.pk]) == {klass.school_class.pk}
    client = login("principal_a", SCHOOL_A_HOST)
    # The bundle cannot be downloaded yet; the pages say why and offer the job although nothing waits.
    refused = client.get(f"/archive/classes/{klass.school_class.pk}/bundle/")
    assert refused.status_code == 403 and "chưa có bản kê" in refused.content.decode()
    year_page = client.get("/archive/?year=2025").content.decode()
    assert 'id="manifests-behind"' in year_page and "1 lớp" in year_page
    assert re.search(r'<button type="submit">Lưu trữ cả năm học</button>', year_page)
    class_page = client.get(f"/archive/classes/{klass.school_class.pk}/").content.decode()
    assert 'id="manifest-behind"' in class_page
    assert re.search(r'<button type="submit">Lưu trữ học bạ của lớp</button>', class_page)

    with django_capture_on_commit_callbacks(execute=False):
        started = client.post(f"/archive/classes/{klass.school_class.pk}/run/")
    assert started.status_code == 302 and started["Location"].startswith("/jobs/")
    job_id = int(started["Location"].rstrip("/").rsplit("/", 1)[1])
    assert _run_archive(job_id, klass) == "done"
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.total, job.done, job.ok) == (2, 2, 0)  # both archived before: reported, not written again
    row = ArchiveManifest.objects.get(school_class=klass.school_class)
    assert (row.revision, row.files, row.signed) == (1, 4, True)
    assert manifests_behind([klass.school_class.pk]) == set()
    names = _bundle_names(client, klass)
    assert names == _file_names(documents) | {"manifest-r1.json", "manifest-r1.json.p7s"}
    assert 'id="manifests-behind"' not in client.get("/archive/?year=2025").content.decode()

    # Again: nothing waits and the manifest is whole — refused; the same job replayed writes nothing.
    again = client.post(f"/archive/classes/{klass.school_class.pk}/run/", follow=True)
    assert "Không có học bạ nào đã đóng dấu số mà chưa lưu trữ" in again.content.decode()
    sent = put_requests(s3)
    BackgroundJob.objects.filter(pk=job_id).update(state="running")
    assert _run_archive(job_id, klass) == "done"
    assert sent == [] and ArchiveManifest.objects.filter(school_class=klass.school_class).count() == 1


def test_a_manifest_missing_a_later_document_gets_a_new_revision_from_the_year_job(
    w, klass, s3, sealed_book, login, monkeypatch, django_capture_on_commit_callbacks
):
    principal = klass.access(w, "principal_a")
    first = sealed_book(0)
    archive.archive_document(access=principal, document=first)
    first.refresh_from_db()
    assert manifests.manifest_write(access=principal, school_class=klass.school_class).row.revision == 1
    later = _archived_without_manifest(w, klass, sealed_book, monkeypatch, (1,))
    rows = {r.school_class.pk: r for r in archive_overview(klass.school_class.year)}
    assert rows[klass.school_class.pk].manifest_behind and rows[klass.school_class.pk].sealed == 0
    assert not rows[klass.other_class.pk].manifest_behind

    with django_capture_on_commit_callbacks(execute=False):
        job_id = archivejobs.archive_year_start(access=principal, year=klass.school_class.year)
    assert _run_archive(job_id, klass) == "done"
    latest = ArchiveManifest.objects.filter(school_class=klass.school_class).order_by("-revision").first()
    assert (latest.revision, latest.files) == (2, 4)
    names = _bundle_names(login("principal_a", SCHOOL_A_HOST), klass)
    assert names == _file_names([first, *later]) | {"manifest-r2.json", "manifest-r2.json.p7s"}
    with pytest.raises(DomainError) as refused:
        archivejobs.archive_year_start(access=principal, year=klass.school_class.year)
    assert refused.value.code == "archive.nothing_to_archive"


def test_the_job_stays_for_the_principal_even_for_a_manifest(w, klass, s3, sealed_book, monkeypatch):
    _archived_without_manifest(w, klass, sealed_book, monkeypatch, (0,))
    with pytest.raises(DomainError):
        archivejobs.archive_class_start(access=klass.access(w, "clerk_a"), school_class=klass.school_class)
    assert not BackgroundJob.objects.filter(kind=archivejobs.ARCHIVE_KIND).exists()


# --- the signing jobs write the manifest after the seal ----------------------------------------------------------


def _teachers_signed(w, klass) -> None:
    confirm(w, klass, "teacher_a", "subject", klass.math)
    confirm(w, klass, "teacher_a", "subject", klass.pe)
    confirm(w, klass, "homeroom_a", "homeroom")


def _assert_class_manifest(store, klass, approved) -> None:
    documents = list(RecordDocument.objects.filter(record__in=approved))
    assert {d.state for d in documents} == {DocumentState.ARCHIVED}
    row = ArchiveManifest.objects.get(school_class=klass.school_class)
    assert (row.revision, row.files, row.signed) == (1, 2 * len(documents), True)
    listed = {e.key for e in bundles.class_entries(klass.school_class)}
    client, bucket = store
    data = {d.archive_key[: -len(".pdf")] + ".json" for d in documents}
    assert listed == {d.archive_key for d in documents} | data | {row.key, row.key + ".p7s"}
    assert client.head_object(Bucket=bucket, Key=row.key, VersionId=row.version_id)["ContentLength"] > 0


def test_the_class_job_at_the_seal_step_writes_the_class_manifest(w, klass, approved, store):
    _teachers_signed(w, klass)
    confirm(w, klass, "principal_a", "principal")
    assert not ArchiveManifest.objects.exists()  # nothing sealed, nothing archived yet
    job = confirm(w, klass, "clerk_a", "seal")
    assert (job.total, job.ok) == (3, 3)
    _assert_class_manifest(store, klass, approved)


def test_the_year_job_writes_the_class_manifest(w, klass, approved, store):
    _teachers_signed(w, klass)
    assert not ArchiveManifest.objects.exists()
    job_id = signing_flow.year_start(access=klass.access(w, "principal_a"), year=klass.school_class.year)
    assert run(signing_flow.sign_year, job_id, klass) == "done"
    _assert_class_manifest(store, klass, approved)


# --- one format of initials ------------------------------------------------------------------------------------


def test_initials_have_one_dotted_format_from_one_function():
    assert signing.initials is validation.initials  # the index's (at signing) and the certificate's (upload)
    assert validation.initials("Ngô Thị Lan") == "N.T.L."
    assert validation.initials("  đỗ   văn   khánh ") == "Đ.V.K."
    assert validation.initials(unicodedata.normalize("NFD", "Ông Ích Đường")) == "Ô.Í.Đ."
    assert validation.initials("Võ Thị Giang (HT)") == "V.T.G."
    assert validation.initials("") == ""
    many = validation.initials(" ".join(["An"] * 15))
    assert many == "A." * 10 and len(many) == 20  # fits DocumentSignature.signer_initials


@pytest.fixture
def named_like_certificates(w):
    """The signers' accounts carry the names of their test certificates: one person, one name, on both paths."""
    for account, person in (("teacher_a", TEACHERS[0]), ("homeroom_a", HOMEROOM), ("principal_a", PRINCIPAL)):
        Account.objects.filter(pk=w.accounts[account]).update(full_name=person.full_name)


@pytest.fixture
def indexed_book(named_like_certificates, verified_book):
    return verified_book


def _shown_signers(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r"<tr>\s*<td>([^<]*)</td>", body)


def test_the_qr_link_and_the_upload_show_the_same_initials(indexed_book):
    _record, document, pdf = indexed_book
    by_link = public().get(verification_path(document.token))
    by_upload = upload(public(), pdf)
    assert by_link.status_code == 200 and by_upload.status_code == 200
    from_index, from_file = _shown_signers(by_link.content.decode()), _shown_signers(by_upload.content.decode())
    people = ["N.T.L.", "N.T.L.", "Đ.V.K.", "V.T.G."]  # two subjects of Ngô Thị Lan, the homeroom, the principal
    assert from_index[:4] == people and from_file[:4] == people
    assert len(from_index) == len(from_file) == 5  # and the seal: the school's name from its certificate
