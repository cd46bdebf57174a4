"""The other signing backends: PKCS#11 on SoftHSM2, remote signing through a CSC service (a real HTTP server on
127.0.0.1 in the test), and the signer's own device through interrupted signing (a fake device client)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12

from reporting.signing import (
    CscSigner,
    DeviceSigner,
    Outcome,
    PendingSignature,
    RemoteAccount,
    SignatureState,
    SigningFailed,
    device_complete,
    device_prepare,
    validate,
)
from reporting.signing import remote as remote_module
from reporting.signing.pki import TEST_PKI_PASSPHRASE

SOFTHSM_MODULE = next(
    (
        p
        for p in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
        if os.path.exists(p)
    ),
    None,
)


def _load(path):
    key, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(), TEST_PKI_PASSPHRASE)
    return key, cert, chain


def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --- PKCS#11 on SoftHSM2 ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def softhsm_token(test_pki, tmp_path_factory):
    """A SoftHSM2 token holding the school seal's key and certificate (imported as a province's CA would)."""
    if SOFTHSM_MODULE is None or shutil.which("softhsm2-util") is None:
        pytest.fail("softhsm2 is not installed (apt: softhsm2; .ci/run installs it)")
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the module when first loaded in this process
    env = {**os.environ}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "hocba-seal", "--so-pin", "876543", "--pin", "123456"],
        check=True,
        capture_output=True,
        env=env,
    )
    key, cert, chain = _load(test_pki.seal)
    key_pem = directory / "seal.key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    subprocess.run(
        ["softhsm2-util", "--import", str(key_pem), "--token", "hocba-seal", "--label", "seal", "--id", "01",
         "--pin", "123456"],
        check=True,
        capture_output=True,
        env=env,
    )  # fmt: skip
    key_pem.unlink()
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label="hocba-seal")
    with token.open(rw=True, user_pin="123456") as session:
        for label, item, ident in (("seal", cert, b"\x01"), ("root", chain[0], b"\x02")):
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: label,
                    Attribute.ID: ident,
                    Attribute.SUBJECT: item.subject.public_bytes(),
                    Attribute.VALUE: _der(item),
                }
            )
    return "hocba-seal"


def test_pkcs11_seal_on_softhsm(test_pki, signer_for, record_pdf, softhsm_token):
    from reporting.signing import Pkcs11Signer, TokenKey

    principal_signed = signer_for(test_pki.principal).sign(record_pdf, field="hieu_truong", box=(-1, 40, 60, 200, 120))
    key = TokenKey(module=SOFTHSM_MODULE, token_label=softhsm_token, pin="123456", key_label="seal")
    sealed = Pkcs11Signer(key).sign(
        principal_signed, field="con_dau", box=(-1, 220, 60, 380, 120), appearance="Trường THCS An Thạnh"
    )
    verdict = validate(sealed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID
    assert [r.signer for r in verdict.signatures] == ["Võ Thị Giang", "Trường THCS An Thạnh"]
    # the session stays open: a second seal reuses it
    again = Pkcs11Signer(key).sign(sealed, field="con_dau_2")
    assert validate(again, test_pki.roots).outcome is Outcome.VALID


def test_pkcs11_wrong_pin_is_a_clear_message(record_pdf, softhsm_token):
    from reporting.signing import Pkcs11Signer, TokenKey

    key = TokenKey(module=SOFTHSM_MODULE, token_label=softhsm_token, pin="000000", key_label="seal")
    with pytest.raises(SigningFailed) as caught:
        Pkcs11Signer(key).sign(record_pdf, field="con_dau")
    assert str(caught.value.message) == "Không mở được thiết bị ký số (token/HSM)."


# --- remote signing: a CSC service on 127.0.0.1 ------------------------------------------------------------


class FakeCsc:
    """A CSC v1/v2 service for one user: bearer token, PIN, SAD bound to the hashes it was issued for (SCAL 2)."""

    token = "access-token-of-ngo-thi-lan"
    pin = "246810"

    def __init__(self, key, cert, chain) -> None:
        self.key, self.cert, self.chain = key, cert, chain
        self.calls: list[str] = []
        self.sads: dict[str, list[str]] = {}
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _algo(self) -> list[str]:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return ["1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1"]  # sha256WithRSA, rsaEncryption
        return ["1.2.840.10045.4.3.2"]  # ecdsa-with-SHA256

    def answer(self, endpoint: str, version: str, body: dict) -> tuple[int, dict]:
        self.calls.append(f"{version}/{endpoint}")
        if endpoint == "credentials/list":
            return 200, {"credentialIDs": ["cred-lan-01"]}
        if body.get("credentialID") != "cred-lan-01":
            return 400, {"error": "invalid_request", "error_description": "unknown credential"}
        if endpoint == "credentials/info":
            certs = [base64.b64encode(_der(c)).decode() for c in [self.cert, *self.chain]]
            return 200, {
                "key": {"status": "enabled", "algo": self._algo(), "len": 2048},
                "cert": {"status": "valid", "certificates": certs},
                "authMode": "explicit",
                "SCAL": "2",
                "multisign": 1,
            }
        if endpoint == "credentials/authorize":
            if body.get("PIN") != self.pin:
                return 400, {"error": "invalid_pin", "error_description": "wrong PIN"}
            hashes_ = body.get("hashes" if version == "v2" else "hash")
            if not hashes_:
                return 400, {"error": "invalid_request", "error_description": "SCAL 2: hashes required"}
            sad = base64.b64encode(os.urandom(12)).decode()
            self.sads[sad] = list(hashes_)
            return 200, {"SAD": sad, "expiresIn": 300}
        if endpoint == "signatures/signHash":
            hashes_ = body.get("hashes" if version == "v2" else "hash")
            if self.sads.pop(body.get("SAD"), None) != hashes_:
                return 400, {"error": "invalid_request", "error_description": "SAD not valid for these hashes"}
            signatures = []
            for h in hashes_:
                digest = base64.b64decode(h)
                if isinstance(self.key, rsa.RSAPrivateKey):
                    value = self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
                else:
                    value = self.key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
                signatures.append(base64.b64encode(value).decode())
            return 200, {"signatures": signatures}
        return 404, {"error": "not_found"}

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                parts = self.path.strip("/").split("/")
                if self.headers.get("Authorization") != f"Bearer {service.token}":
                    status, body = 401, {"error": "invalid_token"}
                elif len(parts) < 4 or parts[0] != "csc" or parts[1] not in ("v1", "v2"):
                    status, body = 404, {"error": "not_found"}
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    status, body = service.answer("/".join(parts[2:]), parts[1], json.loads(self.rfile.read(length)))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def csc_service(test_pki):
    remote_module.clear_credential_cache()
    with FakeCsc(*_load(test_pki.teachers[0])) as service:
        yield service


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_remote_signing_through_csc(test_pki, signer_for, record_pdf, csc_service, version):
    first = signer_for(test_pki.teachers[1]).sign(record_pdf, field="mon_1")
    signer = CscSigner(
        RemoteAccount(csc_service.url, csc_service.token, api_version=version), pin=csc_service.pin, timeout=10
    )
    signed = signer.sign(first, field="mon_2", box=(-1, 40, 60, 200, 120), name="Ngô Thị Lan", appearance="Đã ký số")
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID
    assert verdict.signatures[1].signer == "Ngô Thị Lan"
    assert csc_service.calls == [
        f"{version}/credentials/list",
        f"{version}/credentials/info",
        f"{version}/credentials/authorize",
        f"{version}/signatures/signHash",
    ]
    # the credential's certificates are fetched once per process
    signer.sign(signed, field="mon_3")
    assert csc_service.calls.count(f"{version}/credentials/info") == 1


REFUSED = "Dịch vụ ký số từ xa từ chối yêu cầu."
UNREACHABLE = "Không kết nối được dịch vụ ký số từ xa."


@pytest.mark.parametrize(
    "account, pin, message",
    [
        (lambda url: RemoteAccount(url, FakeCsc.token), "000000", REFUSED),
        (lambda url: RemoteAccount(url, "stolen-token"), FakeCsc.pin, REFUSED),
        (lambda url: RemoteAccount(url, FakeCsc.token, "cred-khac"), FakeCsc.pin, REFUSED),
        (lambda url: RemoteAccount("http://127.0.0.1:9", FakeCsc.token), FakeCsc.pin, UNREACHABLE),
    ],
    ids=["wrong-pin", "wrong-token", "unknown-credential", "service-down"],
)
def test_remote_signing_refusals_are_clear(record_pdf, csc_service, account, pin, message):
    with pytest.raises(SigningFailed) as caught:
        CscSigner(account(csc_service.url), pin=pin, timeout=5).sign(record_pdf, field="mon")
    assert str(caught.value.message) == message


# --- the signer's own device: interrupted signing ---------------------------------------------------------


class FakeDevice:
    """The signing plug-in on the principal's computer with the seal token: signs the bytes it is given."""

    def __init__(self, key) -> None:
        self.key = key
        self.seen: list[bytes] = []

    def __call__(self, data: bytes) -> bytes:
        self.seen.append(data)
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def test_device_signing_in_two_requests(test_pki, signer_for, record_pdf):
    key, cert, chain = _load(test_pki.seal)
    principal_signed = signer_for(test_pki.principal).sign(record_pdf, field="hieu_truong")
    pending = device_prepare(
        principal_signed,
        certificate=_der(cert),
        chain=[_der(c) for c in chain],
        field="con_dau",
        box=(-1, 220, 60, 380, 120),
        appearance="Trường THCS An Thạnh",
    )
    # what travels between the two requests is plain JSON
    stored = json.dumps(pending.to_dict())
    device = FakeDevice(key)
    value = device(base64.b64decode(base64.b64encode(pending.data_to_sign)))
    assert hashlib.sha256(device.seen[0]).digest() == pending.digest_to_sign
    signed = device_complete(PendingSignature.from_dict(json.loads(stored)), value)
    verdict = validate(signed, test_pki.roots)
    assert verdict.outcome is Outcome.VALID
    assert [r.signer for r in verdict.signatures] == ["Võ Thị Giang", "Trường THCS An Thạnh"]


def test_device_signature_from_the_wrong_key_is_refused(test_pki, record_pdf):
    _key, cert, chain = _load(test_pki.seal)
    other_key, _c, _ch = _load(test_pki.principal)
    pending = device_prepare(record_pdf, certificate=_der(cert), chain=[_der(c) for c in chain], field="con_dau")
    with pytest.raises(SigningFailed) as caught:
        device_complete(pending, FakeDevice(other_key)(pending.data_to_sign))
    assert str(caught.value.message) == "Chữ ký trả về từ thiết bị không khớp với tài liệu hoặc chứng thư số."
    with pytest.raises(SigningFailed):
        device_complete(pending, b"")
    with pytest.raises(SigningFailed) as caught:
        PendingSignature.from_dict({"prepared_pdf": "???"})
    assert str(caught.value.message) == "Phiên ký không còn hợp lệ, hãy ký lại."


def test_device_signer_interface(test_pki, record_pdf):
    key, cert, chain = _load(test_pki.teachers[2])
    signer = DeviceSigner(certificate=_der(cert), chain=[_der(c) for c in chain], device=FakeDevice(key))
    signed = signer.sign(record_pdf, field="mon", box=(0, 40, 60, 200, 120), appearance="Đã ký số")
    report = validate(signed, test_pki.roots).signatures[0]
    assert report.state is SignatureState.VALID
    assert x509.load_der_x509_certificate(_der(cert)).subject.rfc4514_string().startswith("CN=")


def test_device_with_a_weak_certificate_is_refused(record_pdf):
    from reporting.signing.pki import issue, make_root

    root = make_root("CA thử")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert, _key = issue(root, x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Token cũ")]), key=weak)
    with pytest.raises(SigningFailed) as caught:
        device_prepare(record_pdf, certificate=_der(cert), field="con_dau")
    assert "2048" in str(caught.value.message)
    with pytest.raises(SigningFailed) as caught:
        device_prepare(record_pdf, certificate=b"\x30\x03not a certificate", field="con_dau")
    assert str(caught.value.message) == "Chứng thư số của thiết bị không đọc được."
