"""Which key signs for whom: the ``Signer`` of an account, and of a school's seal, as the settings say.

``settings.HOCBA_SIGNING_KEYS`` (a dict), else the JSON file ``settings.HOCBA_SIGNING_KEYS_FILE`` names (mounted from
a secret: PINs and access tokens; read once per process) — key material is never in git::

    {
        "default": "pkcs12",                  # pkcs12 (the test PKI: local and test settings only) | none
        "accounts": {                          # by username
            "nguyendu.hieutruong": {"backend": "pkcs11", "module": "/usr/lib/softhsm/libsofthsm2.so",
                                    "token_label": "hocba", "pin": "…", "key_label": "nguyendu.hieutruong"},
            "nguyendu.gvbm": {"backend": "remote", "service_url": "https://…", "access_token": "…",
                              "credential_id": "", "api_version": "v1", "pin": ""},
            "nguyendu.vanthu": {"backend": "device", "certificate": "/etc/hocba/keys/vanthu.pem"},
            "someone": {"backend": "pkcs12", "path": "/etc/hocba/keys/someone.p12", "passphrase": "…"},
        },
        "seals": {"72000002": {"backend": "device"}},   # by the school's MoET code
    }

``pkcs12`` without a ``path`` is the test PKI's file of the account (or seal) under ``HOCBA_TEST_PKI_DIR``; a
``device`` without a ``certificate`` takes it from there too (the demo's USB token stands in for the one a school
keeps). With ``default: "none"`` (production without a test PKI) an account not listed has no key: a clear refusal.

A resolved ``KeyRef`` gives the backend (``reporting.models.SignerBackend``) and, except for the device, a ``Signer``
made once per process and key (the PKCS#12 parsed once, the PKCS#11 session opened once, the CSC credential read
once: ``local``, ``token``, ``remote``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import Signer, SigningFailed
from .local import Pkcs12Signer
from .pki import TEST_PKI_PASSPHRASE, TestPki
from .remote import CscSigner, RemoteAccount
from .token import Pkcs11Signer, TokenKey

# The backends by the names the settings use, and as ``SignerBackend`` records them on each signature.
BACKENDS = {"pkcs12": "pkcs12", "pkcs11": "pkcs11", "remote": "remote", "device": "token"}


@dataclass(frozen=True)
class KeyRef:
    """Where one signer's key is. ``backend`` is a ``SignerBackend`` value; ``config`` the settings' entry."""

    backend: str
    config: tuple[tuple[str, Any], ...] = field(default=())
    test_path: str = ""  # the test PKI's PKCS#12 file of this signer, when the settings name none

    def get(self, name: str, default: Any = "") -> Any:
        return dict(self.config).get(name, default)

    @property
    def is_device(self) -> bool:
        return self.backend == BACKENDS["device"]

    def signer(self) -> Signer:
        """The backend's ``Signer`` (not for a device: its key is in the signer's hands)."""
        if self.is_device:
            raise SigningFailed(_("Khóa của người ký nằm trên thiết bị của họ; hãy ký bằng thiết bị."))
        return _signer(self)

    def device_certificate(self) -> tuple[bytes, tuple[bytes, ...]]:
        """The device's certificate (DER) and its chain, for the two-step signing."""
        return _device_certificate(self)


@cache
def _file_config(path: str) -> dict[str, Any]:
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SigningFailed(_("Cấu hình khóa ký số không hợp lệ."), detail=f"{path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise SigningFailed(_("Cấu hình khóa ký số không hợp lệ."), detail=path)
    return loaded


def _config() -> dict[str, Any]:
    configured = settings.HOCBA_SIGNING_KEYS
    if configured:
        return dict(configured)
    path = settings.HOCBA_SIGNING_KEYS_FILE
    return _file_config(str(path)) if path else {}


def _default() -> str:
    configured = _config().get("default")
    if configured:
        return str(configured)
    return "pkcs12" if settings.HOCBA_TEST_PKI_DIR else "none"


def _ref(entry: dict[str, Any] | None, test_path: Path | None) -> KeyRef:
    entry = dict(entry or {})
    backend = str(entry.pop("backend", "") or _default())
    if backend == "none":
        raise SigningFailed(_("Chưa cấu hình khóa ký số cho người ký này; hãy liên hệ quản trị hệ thống."))
    if backend not in BACKENDS:
        raise SigningFailed(_("Cấu hình khóa ký số không hợp lệ."), detail=backend)
    return KeyRef(BACKENDS[backend], tuple(sorted(entry.items())), str(test_path) if test_path else "")


def _test_pki() -> TestPki | None:
    directory = settings.HOCBA_TEST_PKI_DIR
    return TestPki(directory) if directory else None


def account_key(*, username: str, province_code: str) -> KeyRef:
    """The key ``username`` signs with (in a school of the province ``province_code``)."""
    pki = _test_pki()
    test_path = pki.account_path(province_code, username) if pki is not None else None
    return _ref(_config().get("accounts", {}).get(username), test_path)


def seal_key(*, school_code: str, province_code: str) -> KeyRef:
    """The school's organisation seal (by its MoET code)."""
    pki = _test_pki()
    test_path = pki.seal_path(province_code, school_code) if pki is not None else None
    return _ref(_config().get("seals", {}).get(school_code), test_path)


def _secret(value: Any) -> bytes | None:
    return str(value).encode() if value else None


_signers: dict[KeyRef, Signer] = {}
_signers_lock = threading.Lock()


def _signer(ref: KeyRef) -> Signer:
    with _signers_lock:
        found = _signers.get(ref)
    if found is not None:
        return found
    if ref.backend == "pkcs12":
        path = ref.get("path") or ref.test_path
        if not path:
            raise SigningFailed(_("Chưa cấu hình khóa ký số cho người ký này; hãy liên hệ quản trị hệ thống."))
        passphrase = _secret(ref.get("passphrase")) if ref.get("path") else TEST_PKI_PASSPHRASE
        made: Signer = Pkcs12Signer(path, passphrase=passphrase)
    elif ref.backend == "pkcs11":
        made = Pkcs11Signer(
            TokenKey(
                module=ref.get("module"),
                token_label=ref.get("token_label"),
                pin=str(ref.get("pin")),
                key_label=ref.get("key_label"),
                cert_label=ref.get("cert_label"),
            )
        )
    else:  # remote
        made = CscSigner(
            RemoteAccount(
                service_url=ref.get("service_url"),
                access_token=ref.get("access_token"),
                credential_id=ref.get("credential_id"),
                api_version=ref.get("api_version") or "v1",
            ),
            pin=str(ref.get("pin") or ""),
            timeout=float(ref.get("timeout") or 120.0),
        )
    with _signers_lock:
        return _signers.setdefault(ref, made)


@cache
def _device_certificate(ref: KeyRef) -> tuple[bytes, tuple[bytes, ...]]:
    configured = ref.get("certificate")
    try:
        if configured:
            data = Path(configured).read_bytes()
            certs = (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        elif ref.test_path:
            _key, cert, extra = pkcs12.load_key_and_certificates(Path(ref.test_path).read_bytes(), TEST_PKI_PASSPHRASE)
            certs = [cert, *extra]
        else:
            certs = []
    except (OSError, ValueError) as exc:
        raise SigningFailed(_("Không đọc được chứng thư số của thiết bị ký."), detail=str(exc)) from exc
    if not certs or certs[0] is None:
        raise SigningFailed(_("Chưa cấu hình khóa ký số cho người ký này; hãy liên hệ quản trị hệ thống."))
    der = [c.public_bytes(serialization.Encoding.DER) for c in certs]
    return der[0], tuple(der[1:])


def clear() -> None:
    """Forget the signers made (the settings changed: tests)."""
    with _signers_lock:
        _signers.clear()
    _device_certificate.cache_clear()
    _file_config.cache_clear()
