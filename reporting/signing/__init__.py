"""Signing and validation of the record books (DESIGN §8): bytes in, bytes out, no models, no database.

- ``Signer`` (``base``): ``sign(pdf, field=, box=, reason=, name=, appearance=) -> pdf``, one incremental PAdES
  signature per call; backends ``Pkcs12Signer`` (``local``), ``Pkcs11Signer`` (``token``), ``CscSigner``
  (``remote``), ``DeviceSigner`` and the two-step ``device_prepare``/``device_complete`` (``device``).
- ``validate(pdf, trust_roots) -> Verdict`` (``validation``).
- ``TestPki`` (``pki``): the demo's and the tests' certificates (``manage.py make_test_pki``).
"""

from .base import Appearance, SignatureBox, Signer, SigningFailed
from .device import DeviceSigner, PendingSignature, device_complete, device_prepare
from .local import Pkcs12Signer, load_pkcs12_file
from .remote import CscSigner, RemoteAccount
from .token import Pkcs11Signer, TokenKey
from .validation import Outcome, SignatureReport, SignatureState, Verdict, async_validate, validate

__all__ = [
    "Appearance",
    "CscSigner",
    "DeviceSigner",
    "Outcome",
    "PendingSignature",
    "Pkcs11Signer",
    "Pkcs12Signer",
    "RemoteAccount",
    "SignatureBox",
    "SignatureReport",
    "SignatureState",
    "Signer",
    "SigningFailed",
    "TokenKey",
    "Verdict",
    "async_validate",
    "device_complete",
    "device_prepare",
    "load_pkcs12_file",
    "validate",
]
