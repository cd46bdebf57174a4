"""Remote signing through the Cloud Signature Consortium API (CSC v1 and v2) — how the remote signing services
Vietnamese teachers use work (VNPT SmartCA, Viettel MySign): the key stays with the provider, the server sends the
hash of what is to be signed and gets the signature value back.

Calls: ``credentials/list`` (when no credential is named: the account's first one), ``credentials/info`` (the
certificate chain and algorithms; once per process and credential), ``credentials/authorize`` (the signature
activation data, with the user's PIN or OTP — the provider may hold the answer until the signer approves on their
phone: the request waits, up to ``timeout``) and ``signatures/signHash``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
from asn1crypto import algos
from django.utils.translation import gettext_lazy as _
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    _process_certificate_info_response,
)
from pyhanko.sign.timestamps import TimeStamper

from .base import Signer, SigningFailed, check_certificate_key

API_VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class RemoteAccount:
    """The signer's account at the provider: the service's base URL (before ``/csc/v1``), an OAuth access token, the
    credential (empty: the first of ``credentials/list``) and the API version."""

    service_url: str
    access_token: str
    credential_id: str = ""
    api_version: str = "v1"


async def _post(session: aiohttp.ClientSession, account: RemoteAccount, endpoint: str, body: dict, timeout: float):
    url = f"{account.service_url.rstrip('/')}/csc/{account.api_version}/{endpoint}"
    headers = {"Authorization": f"Bearer {account.access_token}"}
    try:
        async with session.post(url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            if r.status >= 400:
                text = await r.text()
                raise SigningFailed(_("Dịch vụ ký số từ xa từ chối yêu cầu."), detail=f"{endpoint}: {r.status} {text}")
            return await r.json()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SigningFailed(_("Không kết nối được dịch vụ ký số từ xa."), detail=f"{endpoint}: {exc!r}") from exc


class _Authorizer(CSCAuthorizationManager):
    """``credentials/authorize`` for the hashes about to be signed (SCAL 2: the activation is bound to them)."""

    def __init__(self, session_info, credential_info, *, account, session, pin, otp, timeout) -> None:
        super().__init__(session_info, credential_info)
        self.account, self.session, self.pin, self.otp, self.timeout = account, session, pin, otp, timeout

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        body = self.format_csc_auth_request(pin=self.pin or None, otp=self.otp() if self.otp else None)
        body["numSignatures"] = len(hash_b64s)
        if self.account.api_version == "v2":
            body["hashes"] = hash_b64s
            body["hashAlgorithmOID"] = algos.DigestAlgorithmId("sha256").dotted
        else:
            body["hash"] = hash_b64s
        data = await _post(self.session, self.account, "credentials/authorize", body, self.timeout)
        return self.parse_csc_auth_response(data)


class _CscSigner(CSCSigner):
    """pyHanko's CSC signer (written to CSC 1.0.4), with the v2 names of ``signatures/signHash``."""

    def __init__(self, *args, api_version: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.api_version = api_version

    async def format_csc_signing_req(self, tbs_hashes: list[str], digest_algorithm: str) -> dict:
        body = await super().format_csc_signing_req(tbs_hashes, digest_algorithm)
        if self.api_version == "v2":
            body["hashes"] = body.pop("hash")
            body["hashAlgorithmOID"] = body.pop("hashAlgo")
        return body


_credentials: dict[tuple[str, str, str], CSCCredentialInfo] = {}
_credentials_lock = threading.Lock()


async def _credential(session, account: RemoteAccount, timeout: float) -> tuple[str, CSCCredentialInfo]:
    credential_id = account.credential_id
    if not credential_id:
        listed = await _post(session, account, "credentials/list", {"maxResults": 10}, timeout)
        ids = listed.get("credentialIDs") or []
        if not ids:
            raise SigningFailed(_("Tài khoản ký số từ xa chưa có chứng thư số."))
        credential_id = str(ids[0])
    cache_key = (account.service_url, account.api_version, credential_id)
    with _credentials_lock:
        cached = _credentials.get(cache_key)
    if cached is not None:
        return credential_id, cached
    body = {"credentialID": credential_id, "certificates": "chain", "certInfo": False}
    data = await _post(session, account, "credentials/info", body, timeout)
    try:
        info = _process_certificate_info_response(data)
    except SigningError as exc:
        raise SigningFailed(_("Dịch vụ ký số từ xa trả về chứng thư số không hợp lệ."), detail=str(exc)) from exc
    check_certificate_key(info.signing_cert)
    with _credentials_lock:
        _credentials[cache_key] = info
    return credential_id, info


class CscSigner(Signer):
    """Signs through a CSC service. ``pin`` (static) or ``otp`` (called at each authorisation) activate the key."""

    backend = "csc"

    def __init__(
        self,
        account: RemoteAccount,
        *,
        pin: str = "",
        otp: Callable[[], str] | None = None,
        timeout: float = 120.0,
        timestamper: TimeStamper | None = None,
    ) -> None:
        super().__init__(timestamper=timestamper)
        if account.api_version not in API_VERSIONS:
            raise ValueError(f"CSC API version {account.api_version!r}; one of {API_VERSIONS}")
        self.account, self.pin, self.otp, self.timeout = account, pin, otp, timeout

    @contextlib.asynccontextmanager
    async def _cms_signer(self) -> AsyncIterator[CSCSigner]:
        async with aiohttp.ClientSession() as session:
            credential_id, info = await _credential(session, self.account, self.timeout)
            session_info = CSCServiceSessionInfo(
                self.account.service_url.rstrip("/"),
                credential_id,
                oauth_token=self.account.access_token,
                api_ver=self.account.api_version,
            )
            authorizer = _Authorizer(
                session_info,
                info,
                account=self.account,
                session=session,
                pin=self.pin,
                otp=self.otp,
                timeout=self.timeout,
            )
            signer = _CscSigner(
                session, authorizer, sign_timeout=int(self.timeout), api_version=self.account.api_version
            )
            yield signer


def clear_credential_cache() -> None:
    with _credentials_lock:
        _credentials.clear()
