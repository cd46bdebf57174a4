"""Local PKCS#12 keys (the demo's test PKI; a school that keeps its keys on the server).

The file is read and the key parsed once per process (cached by path, size and modification time): stock pyHanko
parses the PKCS#12 and then the private key again for every signature, which is most of its cost.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.utils.translation import gettext_lazy as _
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .base import Signer, SigningFailed

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class ParsedKeySigner(SimpleSigner):
    """pyHanko's in-memory signer, holding the parsed key instead of re-parsing its DER for every signature."""

    def __init__(self, signing_cert, private_key, cert_registry) -> None:
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(signing_cert, asn1_keys.PrivateKeyInfo.load(der), cert_registry)
        self.private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
        hash_cls = _HASHES.get(digest_algorithm.lower())
        if hash_cls is None:
            return super().sign_raw(data, digest_algorithm)
        if isinstance(self.private_key, rsa.RSAPrivateKey) and mechanism.endswith("_rsa"):
            return self.private_key.sign(data, padding.PKCS1v15(), hash_cls())
        if isinstance(self.private_key, rsa.RSAPrivateKey) and mechanism == "rsassa_pkcs1v15":
            return self.private_key.sign(data, padding.PKCS1v15(), hash_cls())
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey) and "ecdsa" in mechanism:
            return self.private_key.sign(data, ec.ECDSA(hash_cls()))
        return super().sign_raw(data, digest_algorithm)


def to_asn1(cert) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def check_key_strength(private_key) -> None:
    """TT 15/2025/TT-BKHCN: RSA ≥ 2048 bits or ECDSA ≥ 256 bits."""
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.key_size >= 256:
        return
    raise SigningFailed(_("Khóa ký không đạt yêu cầu (RSA từ 2048 bit hoặc ECDSA từ 256 bit)."))


def parse_pkcs12(data: bytes, passphrase: bytes | None) -> ParsedKeySigner:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise SigningFailed(_("Không mở được tệp khóa ký (sai mật khẩu hoặc tệp hỏng)."), detail=str(exc)) from exc
    if key is None or cert is None:
        raise SigningFailed(_("Tệp khóa ký không chứa khóa và chứng thư số."))
    check_key_strength(key)
    registry = SimpleCertificateStore()
    registry.register_multiple([to_asn1(c) for c in extra])
    return ParsedKeySigner(to_asn1(cert), key, registry)


_cache: dict[tuple[str, int, int], ParsedKeySigner] = {}
_cache_lock = threading.Lock()


def load_pkcs12_file(path: Path | str, passphrase: bytes | None) -> ParsedKeySigner:
    """The parsed signer of a PKCS#12 file, once per process (a changed file is parsed again)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise SigningFailed(_("Không tìm thấy khóa ký của người ký."), detail=str(path)) from exc
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    parsed = parse_pkcs12(path.read_bytes(), passphrase)
    with _cache_lock:
        _cache[key] = parsed
    return parsed


def clear_key_cache() -> None:
    with _cache_lock:
        _cache.clear()


class Pkcs12Signer(Signer):
    """Signs with a key held in a PKCS#12 file (or bytes)."""

    backend = "pkcs12"

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        data: bytes | None = None,
        passphrase: bytes | None = None,
        timestamper: TimeStamper | None = None,
    ) -> None:
        super().__init__(timestamper=timestamper)
        if (path is None) == (data is None):
            raise ValueError("give a path or the PKCS#12 bytes")
        self.path = path
        self._parsed = parse_pkcs12(data, passphrase) if data is not None else None
        self.passphrase = passphrase

    @property
    def cms_signer(self) -> ParsedKeySigner:
        if self._parsed is None:
            self._parsed = load_pkcs12_file(self.path, self.passphrase)
        return self._parsed

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self.cms_signer.signing_cert

    @contextlib.asynccontextmanager
    async def _cms_signer(self) -> AsyncIterator[ParsedKeySigner]:
        yield self.cms_signer
