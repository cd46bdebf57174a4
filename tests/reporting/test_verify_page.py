"""The public verification page (issue 10, build 6 and 9): ``/xac-minh/`` and the QR links ``/xac-minh/<token>/`` on
the platform's site, without signing in. Real signed PDFs (the session's test PKI) go through the signing services,
which write the public index; the page answers valid / altered / superseded / unknown from the validation and that
index alone, shows the school, the year and the signers' initials — never a student's name or a signer's full name —
refuses bad input with a message, an oversized upload with 413 and a client over its rate limit (real Redis) with
429. The link the renderer prints is the link the page answers."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from hocba.kernel.cache import FallbackRedisCache

from reporting.models import DocumentContent, RecordDocument
from reporting.pdf import books as pdf_books
from reporting.pdf import render_record_book
from reporting.services import signing
from reporting.verify import limits
from reporting.verify.links import verification_path, verification_url
from reporting.verify.views import VerifyView
from schools.models import RecordBook
from tests.support import give_totp

from .conftest import PRINCIPAL, TEACHERS, make_pdf
from .test_pdf import pdf_text, secondary  # noqa: F401  (the fixture: an approved record with every subject)
from .test_signing import _append_page, _sign_chain

HOST = "hocba.localhost"
STUDENT = "Nguyễn Văn An"  # the name in make_pdf(): never on the page
SIGNER_NAMES = [PRINCIPAL.full_name, TEACHERS[0].full_name, "Đỗ Văn Khánh"]


@pytest.fixture
def trust(settings, test_pki):
    """The page trusts the session's province root (as the test settings' PKI directory would be)."""
    settings.HOCBA_TEST_PKI_DIR = test_pki.directory
    settings.HOCBA_TRUST_ROOTS_DIR = None
    settings.VERIFY_RATE_LIMIT = 1000
    return test_pki


def public() -> Client:
    return Client(HTTP_HOST=HOST, REMOTE_ADDR=f"198.51.100.{secrets.randbelow(250) + 1}")


def upload(client: Client, data: bytes, path: str = "/xac-minh/", name: str = "hoc-ba.pdf"):
    return client.post(path, {"pdf": SimpleUploadedFile(name, data, content_type="application/pdf")})


def verdict_of(response) -> str:
    html = response.content.decode()
    marker = 'data-verdict="'
    return html[html.index(marker) + len(marker) :].split('"', 1)[0] if marker in html else ""


def assert_no_personal_data(response):
    html = response.content.decode()
    for name in (STUDENT, *SIGNER_NAMES):
        assert name not in html, name
    assert "8,5" not in html  # a score of the record


@pytest.fixture
def sealed(w, klass, trust, record_pdf, signer_for):
    """Student 0's record approved, its real PDF signed through the services by the whole chain (two subjects of
    teacher_a, homeroom, principal, the seal applied by the clerk) and archived: the index row the page reads."""
    for name in ("teacher_a", "homeroom_a", "clerk_a"):
        give_totp(w.account(name))
    record = RecordBook.objects.get(student_id=klass.students[0], year=klass.school_class.year)
    RecordBook.objects.filter(pk=record.pk).update(state="approved", approved_at=timezone.now())
    record.refresh_from_db()
    document = signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=record_pdf, template_version="tt22-2021.1"
    )
    steps = [
        ("teacher_a", "subject", klass.math, trust.teachers[0]),
        ("teacher_a", "subject", klass.pe, trust.teachers[0]),
        ("homeroom_a", "homeroom", None, trust.homeroom),
        ("principal_a", "principal", None, trust.principal),
        ("clerk_a", "seal", None, trust.seal),
    ]
    for i, (name, step, subject, key) in enumerate(steps):
        current = bytes(DocumentContent.objects.get(document=document).pdf)
        signed = signer_for(key).sign(current, field=f"ky_{i + 1:02d}", reason="Xác nhận học bạ")
        signing.signature_add(
            access=klass.access(w, name),
            document=document,
            step=step,
            subject=subject,
            pdf=signed,
            certificate_subject=key.stem,
            certificate_serial="01",
            backend="pkcs12",
        )
    document.refresh_from_db()
    signing.document_archived(
        access=klass.access(w, "principal_a"),
        document=document,
        key=f"99/99-AT/99000001/2025/6A1/{document.uid}.pdf",
        version_id="v1",
        sha256=document.sha256,
    )
    document.refresh_from_db()
    return record, document, signed


# --- the QR link --------------------------------------------------------------------------------------------------


def test_the_qr_link_of_a_sealed_record_is_valid_and_shows_only_the_minimum(sealed, queries):
    _record, document, _pdf = sealed
    client = public()
    with queries() as q:
        response = client.get(verification_path(document.token))
    assert response.status_code == 200 and verdict_of(response) == "valid"
    html = response.content.decode()
    assert "Trường THCS An Thạnh" in html and "2025–2026" in html
    assert "Tài liệu có trong sổ đăng ký của HọcBạ và đang có hiệu lực." in html
    assert html.count("<tr>") == 1 + 5  # head + the five signatures of the chain, with their steps
    for step in ("Giáo viên bộ môn", "Giáo viên chủ nhiệm", "Hiệu trưởng", "Dấu của nhà trường"):
        assert step in html
    assert_no_personal_data(response)
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    # One query (the index row with its school); nothing in a school's schema.
    assert len(q) == 1, q.statements
    assert "tenants_verificationindex" in q.statements[0] and "schools_" not in q.statements[0]


def test_an_unknown_or_malformed_token_is_unknown(w, trust, queries):
    client = public()
    response = client.get(verification_path(secrets.token_urlsafe(32)))
    assert response.status_code == 404 and verdict_of(response) == "unknown"
    assert "Không tìm thấy tài liệu nào ứng với mã này." in response.content.decode()
    with queries() as q:
        response = client.get("/xac-minh/khong-phai-ma!/")
    assert response.status_code == 404 and verdict_of(response) == "unknown"
    assert len(q) == 0  # a token of the wrong shape never reaches the index


# --- an uploaded file ----------------------------------------------------------------------------------------------


def test_the_archived_copy_uploaded_is_valid_and_matches(sealed, queries):
    _record, document, pdf = sealed
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    with queries() as q:
        response = upload(public(), pdf)
    assert response.status_code == 200 and verdict_of(response) == "valid", response.content.decode()
    html = response.content.decode()
    assert 'data-match="yes"' in html and "Tệp trùng khớp từng byte với bản lưu trữ" in html
    assert document.sha256 in html
    # The signers from the file itself: initials of the people, the school's name for its seal.
    assert "V.T.G." in html and "Đ.V.K." in html and "Trường THCS An Thạnh" in html
    assert html.count('class="sig-valid"') == 5
    assert_no_personal_data(response)
    assert len(q) == 1 and "schools_" not in q.statements[0]
    # The same file against its own QR link: the same verdict, compared with that document only.
    response = upload(public(), pdf, verification_path(document.token))
    assert verdict_of(response) == "valid" and 'data-match="yes"' in response.content.decode()


def test_a_page_appended_after_signing_is_altered_and_named_from_its_document(sealed):
    _record, document, pdf = sealed
    response = upload(public(), _append_page(pdf))
    html = response.content.decode()
    assert response.status_code == 200 and verdict_of(response) == "altered"
    assert "Tài liệu đã bị thay đổi sau khi ký." in html
    # Found from the revision it grew from: the school and year are said, and that it is not the archived copy.
    assert "Trường THCS An Thạnh" in html and 'data-match="no"' in html
    assert "có thêm phần được ghi sau khi đóng dấu" in html
    assert "Bị sửa sau khi ký" in html
    assert_no_personal_data(response)


def test_a_revoked_record_verifies_as_superseded_then_names_the_new_version(w, klass, sealed, trust, signer_for):
    record, document, pdf = sealed
    signing.record_revoke(access=klass.access(w, "principal_a"), record=record, reason="Sai điểm môn Toán học kì II")
    for response in (public().get(verification_path(document.token)), upload(public(), pdf)):
        assert response.status_code == 200 and verdict_of(response) == "superseded"
        html = response.content.decode()
        assert "đã bị nhà trường thu hồi" in html and 'id="verify-superseded"' in html
        assert "phiên bản mới đóng dấu lúc" not in html  # no later version sealed yet
    # Corrected, approved and sealed again: the old copy still says superseded, and when the new one was sealed.
    connection.set_tenant(klass.school)
    RecordBook.objects.filter(pk=record.pk).update(state="approved")
    record.refresh_from_db()
    second = signing.document_create(
        access=klass.access(w, "principal_a"), record=record, pdf=make_pdf("Nguyễn Văn An"), template_version="v"
    )
    keys = {"subject": trust.teachers[1], "homeroom": trust.homeroom, "principal": trust.principal, "seal": trust.seal}
    for name, step, subject in (
        ("teacher_a", "subject", klass.math),
        ("teacher_a", "subject", klass.pe),
        ("homeroom_a", "homeroom", None),
        ("principal_a", "principal", None),
        ("clerk_a", "seal", None),
    ):
        current = bytes(DocumentContent.objects.get(document=second).pdf)
        signing.signature_add(
            access=klass.access(w, name),
            document=second,
            step=step,
            subject=subject,
            pdf=signer_for(keys[step]).sign(current, field=f"{step}_{subject.pk if subject else 0}"),
            certificate_subject="CN",
            certificate_serial="02",
            backend="pkcs12",
        )
    old = public().get(verification_path(document.token))
    assert verdict_of(old) == "superseded" and "phiên bản mới đóng dấu lúc" in old.content.decode()
    connection.set_tenant(klass.school)
    second.refresh_from_db()
    assert verdict_of(public().get(verification_path(second.token))) == "valid"


def test_a_signer_of_an_unknown_authority_is_unknown(w, trust, signer_for, record_pdf):
    response = upload(public(), signer_for(trust.outsider).sign(record_pdf, field="ky"))
    html = response.content.decode()
    assert response.status_code == 200 and verdict_of(response) == "unknown"
    assert "Không xác thực được người ký" in html and "Người ký không được xác thực" in html
    assert "Kẻ Giả Mạo" not in html and "K.G.M." in html


def test_a_valid_chain_never_registered_is_unknown(w, trust, signer_for, record_pdf):
    response = upload(public(), _sign_chain(record_pdf, trust, signer_for, teachers=1))
    html = response.content.decode()
    assert verdict_of(response) == "unknown" and "không có trong sổ đăng ký của HọcBạ" in html
    assert 'data-match="no"' in html and html.count('class="sig-valid"') == 4
    # Against a QR link of another document: not this document's file.
    response = upload(public(), _sign_chain(record_pdf, trust, signer_for, teachers=1), "/xac-minh/" + "x" * 43 + "/")
    assert response.status_code == 404 and verdict_of(response) == "unknown"


@pytest.mark.parametrize(
    "make, status, message",
    [
        (lambda signed: b"PK\x03\x04 a zip, not a pdf", 400, "Tệp không phải là PDF."),
        (lambda signed: signed[: len(signed) * 2 // 3], 400, "Tệp PDF bị hỏng hoặc không đầy đủ, không kiểm tra được."),
        (lambda signed: b"%PDF-1.7\n%%EOF", 400, "Tệp PDF bị hỏng hoặc không đầy đủ"),
        (lambda signed: make_pdf(), 200, "Tài liệu không có chữ ký số."),
    ],
    ids=["not-pdf", "truncated", "no-xref", "unsigned"],
)
def test_bad_files_get_a_message_never_an_error(w, trust, signer_for, record_pdf, make, status, message):
    signed = _sign_chain(record_pdf, trust, signer_for, teachers=1)
    response = upload(public(), make(signed))
    assert response.status_code == status and message in response.content.decode()
    assert verdict_of(response) in ("unreadable", "unknown")


def test_a_post_without_a_file_is_a_message(w, trust):
    response = public().post("/xac-minh/", {"other": "x"})
    assert response.status_code == 400 and "Hãy chọn một tệp PDF để kiểm tra." in response.content.decode()


def test_an_oversized_upload_is_refused_with_413(w, trust, settings, record_pdf):
    settings.VERIFY_MAX_UPLOAD_BYTES = 100 * 1024
    # Announced far beyond the limit: not parsed at all (the upload handler leaves the body), 413.
    response = upload(public(), b"%PDF-1.7\n" + b"0" * (400 * 1024))
    assert response.status_code == 413
    assert "Tệp vượt quá dung lượng cho phép (tối đa 100,0\xa0KB)." in response.content.decode()
    # Just over the limit (inside the form's slack): stopped while it streams, 413 as well.
    response = upload(public(), b"%PDF-1.7\n" + b"0" * (100 * 1024 + 10))
    assert response.status_code == 413 and "Tệp vượt quá dung lượng cho phép" in response.content.decode()
    # Under it: checked.
    assert upload(public(), record_pdf).status_code == 200


def test_the_rate_limit_per_address_in_redis(w, trust, settings):
    cache = caches["default"]
    assert isinstance(cache, FallbackRedisCache)  # Redis, with this run's key prefix (settings.test)
    settings.VERIFY_RATE_LIMIT = 3
    settings.VERIFY_RATE_WINDOW_SECONDS = 600
    token = secrets.token_urlsafe(32)
    address = f"203.0.113.{secrets.randbelow(250) + 1}"
    client = Client(HTTP_HOST=HOST, REMOTE_ADDR=address)
    for _ in range(3):
        assert client.get(verification_path(token)).status_code == 404
    refused = client.post("/xac-minh/", {})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Bạn đã kiểm tra quá nhiều lần trong thời gian ngắn" in refused.content.decode()
    assert client.get(verification_path(token)).status_code == 429
    # Counted in Redis (not this process's memory): the key is there, under this run's prefix.
    real = cache._cache.get_client()  # the redis-py client of Django's Redis cache
    keys = [k for k in real.keys("*verify:rate:*")]
    assert keys and not getattr(cache, "degraded", False)
    # Another address is not affected; the bare form is never counted.
    other = Client(HTTP_HOST=HOST, REMOTE_ADDR="203.0.113.254" if address != "203.0.113.254" else "203.0.113.253")
    assert other.get(verification_path(token)).status_code == 404
    assert client.get("/xac-minh/").status_code == 200


def test_the_window_resets_the_count(w, trust, settings, rf):
    settings.VERIFY_RATE_LIMIT = 1
    settings.VERIFY_RATE_WINDOW_SECONDS = 60
    request = rf.get("/xac-minh/x/", REMOTE_ADDR="192.0.2.77")
    assert limits.rate_take(request, now=6000.0).allowed
    assert not limits.rate_take(request, now=6030.0).allowed
    assert limits.rate_take(request, now=6061.0).allowed


# --- the link printed on the record book ---------------------------------------------------------------------------


def test_the_printed_qr_link_is_the_page_that_answers(secondary, settings, monkeypatch):  # noqa: F811
    settings.HOCBA_PUBLIC_URL = "https://hocba.tayninh.edu.vn"
    record, _subjects = secondary
    token = RecordDocument._meta.get_field("token").default()
    link = verification_url(token)
    assert link == f"https://hocba.tayninh.edu.vn/xac-minh/{token}/"
    encoded = []
    real = pdf_books.qr_data_uri
    monkeypatch.setattr(pdf_books, "qr_data_uri", lambda value: encoded.append(value) or real(value))
    rendered = render_record_book(record, verify_url=link)
    assert encoded and set(encoded) == {link}  # the QR code holds exactly the link
    # … and it is printed under it (pdftotext joins a line broken after a "-" of the token without it)
    assert link.replace("-", "") in pdf_text(rendered.pdf, layout=False).replace("\n", "").replace("-", "")
    # The path of that link is the public site's verification page, with the token as its argument.
    match = resolve(f"/xac-minh/{token}/", urlconf="hocba.urls_public")
    assert match.func.view_class is VerifyView and match.kwargs == {"token": token}
    assert reverse("verify_token", kwargs={"token": token}, urlconf="hocba.urls_public") == verification_path(token)


def test_the_page_in_english(sealed):
    _record, document, pdf = sealed
    client = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="198.51.100.200")
    html = client.get(verification_path(document.token)).content.decode()
    assert "Verify a digital record book" in html and "The document is in HọcBạ&#x27;s register and stands." in html
    html = upload(client, pdf).content.decode()
    assert ">Valid<" in html and "The file is byte for byte the archived copy (the same SHA-256)." in html
    assert upload(client, b"not a pdf").status_code == 400
