"""A key on a PKCS#11 token or HSM (tested on SoftHSM2): the private key never leaves the device.

One session per process and token, opened and logged in at the first signature and reused; signatures through it
are serialised (a PKCS#11 session is not shared between threads).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from pkcs11 import PKCS11Error
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.general import SigningError
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.timestamps import TimeStamper

from .base import Signer, SigningFailed, check_certificate_key


@dataclass(frozen=True)
class TokenKey:
    """Which key: the PKCS#11 module, the token's label, the user PIN and the key's (and certificate's) label."""

    module: str
    token_label: str
    pin: str
    key_label: str
    cert_label: str = ""  # default: the key's label


@dataclass
class _Open:
    session: object
    signer: PKCS11Signer
    lock: threading.Lock


_sessions: dict[TokenKey, _Open] = {}
_sessions_lock = threading.Lock()


def _open(key: TokenKey) -> _Open:
    with _sessions_lock:
        found = _sessions.get(key)
        if found is not None:
            return found
        try:
            session = open_pkcs11_session(
                key.module, token_criteria=TokenCriteria(label=key.token_label), user_pin=key.pin
            )
            signer = PKCS11Signer(session, cert_label=key.cert_label or key.key_label, key_label=key.key_label)
            cert = signer.signing_cert  # read from the token now: a missing certificate fails here
        except (PKCS11Error, SigningError, OSError, RuntimeError) as exc:
            raise SigningFailed(_("Không mở được thiết bị ký số (token/HSM)."), detail=str(exc)) from exc
        check_certificate_key(cert)
        _sessions[key] = found = _Open(session, signer, threading.Lock())
        return found


def close_sessions() -> None:
    with _sessions_lock:
        for opened in _sessions.values():
            with contextlib.suppress(PKCS11Error):
                opened.session.close()
        _sessions.clear()


class Pkcs11Signer(Signer):
    backend = "pkcs11"

    def __init__(self, key: TokenKey, *, timestamper: TimeStamper | None = None) -> None:
        super().__init__(timestamper=timestamper)
        self.key = key

    @contextlib.asynccontextmanager
    async def _cms_signer(self) -> AsyncIterator[PKCS11Signer]:
        opened = _open(self.key)
        with opened.lock:
            try:
                yield opened.signer
            except PKCS11Error as exc:
                raise SigningFailed(_("Thiết bị ký số từ chối ký."), detail=repr(exc)) from exc
