"""The signing library with local PKCS#12 keys, and the validation verdicts (issue 10, build 2, 3 and 9)."""

from __future__ import annotations

import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from reporting.signing import Outcome, SignatureState, SigningFailed, validate
from reporting.signing import local as local_module
from reporting.signing.local import Pkcs12Signer
from reporting.signing.pki import TEST_PKI_PASSPHRASE, Person, TestPki, issue, make_root, pkcs12_bytes
from reporting.signing.validation import initials

from .conftest import PROVINCE, SCHOOL, make_pdf


def _sign_chain(pdf, test_pki, signer_for, teachers=2):
    """Subject teachers → homeroom teacher → principal → seal, each in its own box on the last page."""
    out = pdf
    chain = [*test_pki.teachers[:teachers], test_pki.homeroom, test_pki.principal, test_pki.seal]
    for i, path in enumerate(chain):
        out = signer_for(path).sign(
            out,
            field=f"ky_{i + 1:02d}",
            box=(-1, 40 + (i % 4) * 130, 60 + (i // 4) * 70, 160 + (i % 4) * 130, 120 + (i // 4) * 70),
            reason="Xác nhận học bạ",
            name=path.stem,
            appearance="Đã ký số\n{ts}",
        )
    return out


# --- the test PKI ---------------------------------------------------------------------------------------


def test_pki_root_per_province_and_leaves_chain_to_it(test_pki):
    root = x509.load_pem_x509_certificate(test_pki.root_pem)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for path in (test_pki.principal, test_pki.seal, test_pki.teachers[0]):
        key, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(), TEST_PKI_PASSPHRASE)
        assert cert.issuer == root.subject
        cert.verify_directly_issued_by(root)
        assert [c.subject for c in chain] == [root.subject]
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
        if isinstance(key, rsa.RSAPrivateKey):
            assert key.key_size >= 2048
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        assert cert.signature_hash_algorithm.name == "sha256"
    _key, seal, _chain = pkcs12.load_key_and_certificates(test_pki.seal.read_bytes(), TEST_PKI_PASSPHRASE)
    assert seal.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == SCHOOL.school_name


def test_pki_issuing_again_keeps_the_key(test_pki):
    again = TestPki(test_pki.directory).person(PROVINCE, Person("anthanh.hieutruong", "Võ Thị Giang"))
    assert not again.created and again.path == test_pki.principal
    assert TestPki(test_pki.directory).root_path(PROVINCE.code).read_bytes() == test_pki.root_pem


# --- signing --------------------------------------------------------------------------------------------


def test_chain_of_signatures_stays_valid(test_pki, signer_for, record_pdf):
    signed = _sign_chain(record_pdf, test_pki, signer_for, teachers=2)
    assert signed.startswith(record_pdf)  # incremental: the earlier revision is untouched
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID, verdict
    assert [r.field for r in verdict.signatures] == ["ky_01", "ky_02", "ky_03", "ky_04", "ky_05"]
    assert all(r.state is SignatureState.VALID and r.intact and r.trusted for r in verdict.signatures)
    assert [r.coverage for r in verdict.signatures] == ["entire_revision"] * 4 + ["entire_file"]
    principal, seal = verdict.signatures[3], verdict.signatures[4]
    assert (principal.signer, principal.initials) == ("Võ Thị Giang", "V.T.G.")
    assert seal.signer == SCHOOL.school_name and seal.organisation == SCHOOL.school_name
    assert principal.signed_at is not None and principal.signed_at.tzinfo is not None
    assert str(verdict.message).startswith("Hợp lệ")


def test_fifteen_signatures_of_a_record(test_pki, signer_for, record_pdf):
    """12 subject teachers + homeroom + principal + seal (issue 10 conflict 11)."""
    signed = _sign_chain(record_pdf, test_pki, signer_for, teachers=12)
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID
    assert len(verdict.signatures) == 15
    assert {r.signer for r in verdict.signatures[:12]} == {
        x509.load_der_x509_certificate(
            pkcs12.load_key_and_certificates(p.read_bytes(), TEST_PKI_PASSPHRASE)[1].public_bytes(
                serialization.Encoding.DER
            )
        )
        .subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0]
        .value
        for p in test_pki.teachers
    }


def test_key_is_parsed_once_per_process(test_pki, record_pdf, monkeypatch):
    local_module.clear_key_cache()
    calls = []
    real = local_module.parse_pkcs12
    monkeypatch.setattr(local_module, "parse_pkcs12", lambda data, pw: calls.append(1) or real(data, pw))
    out = record_pdf
    for i in range(3):
        # a new backend object per signature, as a job would make: the parsed key is still reused
        out = Pkcs12Signer(test_pki.homeroom, passphrase=TEST_PKI_PASSPHRASE).sign(out, field=f"gvcn_{i}")
    assert len(calls) == 1
    assert validate(out, test_pki.roots).outcome is Outcome.VALID


def test_timestamped_signature_is_pades_b_t(test_pki, signer_for, record_pdf):
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    key, cert, _chain = pkcs12.load_key_and_certificates(test_pki.tsa.read_bytes(), TEST_PKI_PASSPHRASE)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    signed = signer_for(test_pki.principal, timestamper=stamper).sign(record_pdf, field="hieu_truong")
    report = validate(signed, test_pki.roots).signatures[0]
    assert report.state is SignatureState.VALID and report.timestamped


def test_appearance_image_and_text(test_pki, signer_for, record_pdf):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 60), (200, 30, 30)).save(buffer, format="PNG")
    from reporting.signing import Appearance

    signed = signer_for(test_pki.seal).sign(
        record_pdf,
        field="con_dau",
        box=(-1, 300, 60, 420, 180),
        appearance=Appearance(text="Trường THCS An Thạnh", image=buffer.getvalue()),
    )
    assert validate(signed, test_pki.roots).outcome is Outcome.VALID
    assert b"/Subtype /Image" in signed or b"/Subtype/Image" in signed


@pytest.mark.parametrize(
    "pdf, box, message",
    [
        (b"not a pdf at all", None, "Tệp không phải là PDF."),
        (b"%PDF-1.7\n1 0 obj <<", None, "Tệp PDF bị hỏng, không ký được."),
        (None, (5, 10, 10, 50, 50), "Vị trí chữ ký không hợp lệ."),
        (None, (0, 50, 50, 10, 10), "Vị trí chữ ký không hợp lệ."),
        (None, ("x",), "Vị trí chữ ký không hợp lệ."),
    ],
)
def test_signing_refuses_bad_input(test_pki, signer_for, record_pdf, pdf, box, message):
    with pytest.raises(SigningFailed) as caught:
        signer_for(test_pki.principal).sign(pdf or record_pdf, field="ky", box=box)
    assert str(caught.value.message) == message


def test_field_placed_by_the_renderer_is_used_and_signed_once(test_pki, signer_for, record_pdf):
    from pyhanko.sign import fields

    writer = IncrementalPdfFileWriter(io.BytesIO(record_pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec("hieu_truong", on_page=1, box=(300, 100, 500, 160)))
    buffer = io.BytesIO()
    writer.write(buffer)
    signer = signer_for(test_pki.principal)
    signed = signer.sign(buffer.getvalue(), field="hieu_truong", box=(1, 300, 100, 500, 160), appearance="Đã ký")
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID and [r.field for r in verdict.signatures] == ["hieu_truong"]
    with pytest.raises(SigningFailed) as caught:
        signer.sign(signed, field="hieu_truong")
    assert str(caught.value.message) == "Ô chữ ký này đã được ký."


def test_weak_key_is_refused(tmp_path):
    root = make_root("CA yếu")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert, _key = issue(root, x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Khóa yếu")]), key=weak)
    data = pkcs12_bytes(cert, weak, passphrase=b"")
    with pytest.raises(SigningFailed) as caught:
        Pkcs12Signer(data=data)
    assert "2048" in str(caught.value.message)


def test_wrong_passphrase_is_a_clear_message(test_pki, record_pdf):
    local_module.clear_key_cache()
    with pytest.raises(SigningFailed) as caught:
        Pkcs12Signer(test_pki.principal, passphrase=b"sai").sign(record_pdf, field="ky")
    assert str(caught.value.message) == "Không mở được tệp khóa ký (sai mật khẩu hoặc tệp hỏng)."


# --- validation: bad input and tampering ------------------------------------------------------------------


def _append_page(signed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    contents = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (Diem 10) Tj ET"))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
            generic.NameObject("/Contents"): contents,
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_annotation(signed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (300, 600, 400, 620)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("10"),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots = generic.ArrayObject(list(annots) + [annot])
    page[generic.NameObject("/Annots")] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def signed_record(test_pki, signer_for, record_pdf):
    return _sign_chain(record_pdf, test_pki, signer_for, teachers=1)


def test_page_appended_after_signing_is_altered(test_pki, signed_record):
    verdict = validate(_append_page(signed_record), test_pki.roots)
    assert verdict.outcome is Outcome.ALTERED
    last = verdict.signatures[-1]
    assert last.intact and last.valid and last.modified_after and last.state is SignatureState.MODIFIED_AFTER
    assert str(verdict.message) == "Tài liệu đã bị thay đổi sau khi ký."


def test_annotation_added_after_signing_is_altered(test_pki, signed_record):
    verdict = validate(_add_annotation(signed_record), test_pki.roots)
    assert verdict.outcome is Outcome.ALTERED
    assert verdict.signatures[-1].modified_after


def test_changed_signed_byte_is_altered(test_pki, signed_record):
    # a byte inside the first revision's page content (covered by every signature)
    position = signed_record.index(b"stream\n") + 40
    tampered = bytearray(signed_record)
    tampered[position] ^= 0x01
    verdict = validate(bytes(tampered), test_pki.roots)
    assert verdict.outcome in (Outcome.ALTERED, Outcome.DAMAGED)
    if verdict.outcome is Outcome.ALTERED:
        assert all(r.state is SignatureState.BROKEN for r in verdict.signatures)


def test_unknown_ca_is_unknown_signer(test_pki, signer_for, record_pdf):
    signed = signer_for(test_pki.outsider).sign(record_pdf, field="ky")
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.UNKNOWN_SIGNER
    assert verdict.signatures[0].intact and not verdict.signatures[0].trusted
    # the same document against its own root: valid (the verdict is about trust, not about the bytes)
    assert validate(signed, [test_pki.outsider_root_pem]).outcome is Outcome.VALID


@pytest.mark.parametrize(
    "make, outcome, message",
    [
        (lambda signed, pdf: b"PK\x03\x04 a zip, not a pdf", Outcome.NOT_PDF, "Tệp không phải là PDF."),
        (lambda signed, pdf: b"", Outcome.NOT_PDF, "Tệp không phải là PDF."),
        (
            lambda signed, pdf: signed[: len(signed) * 2 // 3],
            Outcome.DAMAGED,
            "Tệp PDF bị hỏng hoặc không đầy đủ, không kiểm tra được.",
        ),
        (lambda signed, pdf: b"%PDF-1.7\n%%EOF", Outcome.DAMAGED, None),
        (lambda signed, pdf: pdf, Outcome.NOT_SIGNED, "Tài liệu không có chữ ký số."),
        (lambda signed, pdf: signed + b"\0" * 2048, Outcome.TOO_LARGE, "Tệp vượt quá dung lượng cho phép."),
    ],
    ids=["zip", "empty", "truncated", "no-xref", "unsigned", "oversized"],
)
def test_bad_input_gets_a_verdict_never_an_error(test_pki, signed_record, record_pdf, make, outcome, message):
    data = make(signed_record, record_pdf)
    verdict = validate(data, test_pki.roots, max_bytes=len(signed_record) + 1024)
    assert verdict.outcome is outcome, verdict
    if message:
        assert str(verdict.message) == message


def test_messages_in_english(test_pki, record_pdf):
    from django.utils import translation

    with translation.override("en"):
        assert str(validate(record_pdf, test_pki.roots).message) == "The document has no digital signature."
        assert str(validate(b"x", test_pki.roots).message) == "The file is not a PDF."


def test_initials():
    assert initials("Ngô Thị Lan") == "N.T.L."
    assert initials("Đỗ  Văn Khánh") == "Đ.V.K."
    assert initials("") == ""


def test_new_document_each_time(test_pki, signer_for):
    """Two students' books signed by the same backend object stay separate documents."""
    signer = signer_for(test_pki.principal)
    a = signer.sign(make_pdf("Lê Văn Ba"), field="ky")
    b = signer.sign(make_pdf("Trần Thị Tư"), field="ky")
    assert validate(a, test_pki.roots).valid and validate(b, test_pki.roots).valid
    assert a[:200] != b[:200] or a != b


def test_signature_font_has_every_vietnamese_letter():
    from fontTools.ttLib import TTFont

    from reporting.signing.fonts import signature_font_bytes

    cmap = TTFont(io.BytesIO(signature_font_bytes())).getBestCmap()
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy" + "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
    missing = [c for c in letters + letters.upper() + "0123456789%/:–" if ord(c) not in cmap]
    assert missing == []


def test_appearance_text_keeps_a_percent_sign_and_shows_the_time(test_pki, signer_for, record_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = signer_for(test_pki.homeroom).sign(
        record_pdf, field="gvcn", box=(0, 40, 60, 240, 120), appearance="Tỉ lệ 100% — {ts}"
    )
    assert validate(signed, test_pki.roots).outcome is Outcome.VALID
    reader = PdfFileReader(io.BytesIO(signed))
    revision = reader.xrefs.total_revisions - 1
    streams = [
        obj.data
        for ref in reader.xrefs.explicit_refs_in_revision(revision)
        if isinstance(obj := reader.get_object(ref), generic.StreamObject)
    ]
    # the text was laid out in the new revision's appearance (shown glyphs), "{ts}" replaced, "%" kept
    assert any(b"TJ" in data or b"Tj" in data for data in streams)
    assert not any(b"{ts}" in data for data in streams)


def test_validation_moment(test_pki, signed_record):
    """Certificates expire (5 years in the test PKI): checked in ten years, the signers are no longer trusted;
    checked at the time of archiving, the record is valid."""
    import datetime as dt

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    assert validate(signed_record, test_pki.roots, at=later).outcome is Outcome.UNKNOWN_SIGNER
    assert validate(signed_record, test_pki.roots, at=dt.datetime.now(dt.UTC)).outcome is Outcome.VALID
