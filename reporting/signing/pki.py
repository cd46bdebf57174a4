"""A test PKI for the demo and the tests: one root CA per province, a certificate per signing account (teachers,
principals), one organisation certificate per school (the seal) and a timestamping authority.

Only for development and tests (``manage.py make_test_pki``, the ``test_pki`` fixture): the directory comes from
``settings.HOCBA_TEST_PKI_DIR`` (local and test settings only) or the command line, and is never committed. Keys are
RSA 2048 or ECDSA P-256 with SHA-256 (TT 15/2025/TT-BKHCN). Issuing is idempotent: a certificate already on disk is
kept, so re-running the set-up does not change anyone's key.

Layout::

    <dir>/<province>/root.pem, root.key.pem      the province's root CA (the key signs the leaves below)
    <dir>/<province>/tsa.p12                     the timestamping authority
    <dir>/<province>/accounts/<username>.p12     a person's key and certificate (+ the root)
    <dir>/<province>/seals/<school code>.p12     a school's organisation certificate (+ the root)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The passphrase of every PKCS#12 file of the test PKI. Not a secret: the files are test material only.
TEST_PKI_PASSPHRASE = b"hocba-test-pki"
ROOT_YEARS = 20
LEAF_YEARS = 5
KEY_TYPES = ("rsa", "ecdsa")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Province:
    code: str
    name: str


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    organisation: str = ""  # the school, shown in the certificate's O


@dataclass(frozen=True)
class Seal:
    school_code: str
    school_name: str


@dataclass(frozen=True)
class Issued:
    """Where one PKCS#12 file lives, and what it says."""

    path: Path
    subject: str
    created: bool  # False: it was already there and kept


def _safe(name: str) -> str:
    """A file name from a username or code (letters, digits, dot, dash, underscore)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._")
    if not cleaned:
        raise ValueError(f"unusable name for a file: {name!r}")
    return cleaned


def new_key(key_type: str = "rsa") -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}; one of {KEY_TYPES}")


def _name(common_name: str, *, organisation: str = "", uid: str = "", locality: str = "") -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if locality:
        parts.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if uid:
        parts.append(x509.NameAttribute(NameOID.USER_ID, uid))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def make_root(
    common_name: str, *, key_type: str = "rsa", years: int = ROOT_YEARS
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed root CA (also used by the tests for an "unknown CA")."""
    key = new_key(key_type)
    name = _name(common_name, organisation=common_name)
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(
    issuer: tuple[x509.Certificate, PrivateKey],
    subject: x509.Name,
    *,
    key_type: str = "rsa",
    timestamping: bool = False,
    years: int = LEAF_YEARS,
    key: PrivateKey | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A leaf certificate signed by ``issuer``: digital signature + non-repudiation (document signing), or a
    timestamping authority (extended key usage timeStamping, critical). ``key``: certify this key instead of a new
    one."""
    ca_cert, ca_key = issuer
    key = key or new_key(key_type)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + dt.timedelta(days=365 * years), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not timestamping,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if timestamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(ca_key, hashes.SHA256()), key


def pkcs12_bytes(
    cert: x509.Certificate,
    key: PrivateKey,
    chain: Iterable[x509.Certificate] = (),
    *,
    friendly_name: str = "",
    passphrase: bytes = TEST_PKI_PASSPHRASE,
) -> bytes:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(
        (friendly_name or "hocba").encode(), key, cert, list(chain) or None, encryption
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


class TestPki:
    """The test PKI in ``directory`` (created on demand). Several processes may share one directory (parallel test
    runs, ``make run`` and a server test): issuing holds a lock on the province's directory."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path | str, *, key_type: str = "rsa") -> None:
        self.directory = Path(directory)
        self.key_type = key_type
        self._roots: dict[str, tuple[x509.Certificate, PrivateKey]] = {}

    # --- where things are ----------------------------------------------------------------------
    def province_dir(self, province_code: str) -> Path:
        return self.directory / _safe(province_code)

    def root_path(self, province_code: str) -> Path:
        return self.province_dir(province_code) / "root.pem"

    def account_path(self, province_code: str, username: str) -> Path:
        return self.province_dir(province_code) / "accounts" / f"{_safe(username)}.p12"

    def seal_path(self, province_code: str, school_code: str) -> Path:
        return self.province_dir(province_code) / "seals" / f"{_safe(school_code)}.p12"

    def tsa_path(self, province_code: str) -> Path:
        return self.province_dir(province_code) / "tsa.p12"

    def roots(self) -> list[x509.Certificate]:
        """Every province root on disk: the trust roots of the demo's validation."""
        return [x509.load_pem_x509_certificate(path.read_bytes()) for path in sorted(self.directory.glob("*/root.pem"))]

    # --- issuing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, province_code: str) -> Iterator[None]:
        directory = self.province_dir(province_code)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def root(self, province: Province) -> tuple[x509.Certificate, PrivateKey]:
        if province.code in self._roots:
            return self._roots[province.code]
        with self._locked(province.code):
            return self._root(province)

    def _root(self, province: Province) -> tuple[x509.Certificate, PrivateKey]:
        cert_path = self.root_path(province.code)
        key_path = cert_path.with_name("root.key.pem")
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=TEST_PKI_PASSPHRASE)
        else:
            cert, key = make_root(f"HọcBạ Test Root CA — {province.name}", key_type=self.key_type)
            _write_private(
                key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(TEST_PKI_PASSPHRASE),
                ),
            )
            _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        self._roots[province.code] = (cert, key)  # type: ignore[assignment]
        return cert, key  # type: ignore[return-value]

    def _issue_to(self, path: Path, province: Province, subject: x509.Name, *, timestamping: bool = False) -> Issued:
        if path.exists():
            return Issued(path, subject.rfc4514_string(), created=False)
        root = self.root(province)
        with self._locked(province.code):
            if path.exists():  # another process issued it meanwhile
                return Issued(path, subject.rfc4514_string(), created=False)
            cert, key = issue(root, subject, key_type=self.key_type, timestamping=timestamping)
            _write_private(path, pkcs12_bytes(cert, key, [root[0]], friendly_name=path.stem))
        return Issued(path, subject.rfc4514_string(), created=True)

    def person(self, province: Province, person: Person) -> Issued:
        subject = _name(person.full_name, organisation=person.organisation, uid=person.username, locality=province.name)
        return self._issue_to(self.account_path(province.code, person.username), province, subject)

    def seal(self, province: Province, seal: Seal) -> Issued:
        subject = _name(seal.school_name, organisation=seal.school_name, uid=seal.school_code, locality=province.name)
        return self._issue_to(self.seal_path(province.code, seal.school_code), province, subject)

    def tsa(self, province: Province) -> Issued:
        subject = _name(f"HọcBạ Test TSA — {province.name}", organisation=province.name)
        return self._issue_to(self.tsa_path(province.code), province, subject, timestamping=True)
