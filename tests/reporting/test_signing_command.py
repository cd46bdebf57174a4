"""``manage.py make_test_pki``: the test PKI of the demo, made from the province tree and the schools' signers."""

from __future__ import annotations

import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.management import CommandError, call_command

from reporting.signing import Outcome, Pkcs12Signer, validate
from reporting.signing.pki import TEST_PKI_PASSPHRASE, TestPki
from tenants.selectors.tree import school_list

from .conftest import make_pdf


def test_make_test_pki_for_the_province_schools_and_signers(w, tmp_path, queries):
    out = io.StringIO()
    with queries() as captured:
        call_command("make_test_pki", str(tmp_path), "--key-type", "ecdsa", stdout=out)
    assert len(captured) <= 6  # the tree, the schools, their signers: not one query per school or account
    pki = TestPki(tmp_path)
    root = x509.load_pem_x509_certificate(pki.root_path("99").read_bytes())
    assert [r.subject for r in pki.roots()] == [root.subject]  # one province, one root
    for school in school_list(school_ids=[w.school_a, w.school_b]):
        path = pki.seal_path("99", school.moet_code)
        _key, cert, _chain = pkcs12.load_key_and_certificates(path.read_bytes(), TEST_PKI_PASSPHRASE)
        assert cert.issuer == root.subject
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == school.name
    signers = {p.stem for p in (tmp_path / "99" / "accounts").glob("*.p12")}
    assert {"principal_a", "vice_a", "homeroom_a", "teacher_a", "dept_a", "principal_b", "teacher_b"} <= signers
    assert not signers & {"clerk_a", "parent_a", "it_a", "province_admin", "unit_a_admin"}
    assert pki.tsa_path("99").exists()
    assert "province root(s)" in out.getvalue()

    # a second run keeps every key; a signature made with one validates against the roots on disk
    before = pki.account_path("99", "principal_a").read_bytes()
    call_command("make_test_pki", str(tmp_path), stdout=io.StringIO())
    assert pki.account_path("99", "principal_a").read_bytes() == before
    signed = Pkcs12Signer(pki.account_path("99", "principal_a"), passphrase=TEST_PKI_PASSPHRASE).sign(
        make_pdf(), field="hieu_truong"
    )
    assert validate(signed, pki.roots()).outcome is Outcome.VALID


def test_no_directory_outside_development(settings):
    settings.HOCBA_TEST_PKI_DIR = None
    with pytest.raises(CommandError):
        call_command("make_test_pki", stdout=io.StringIO())
