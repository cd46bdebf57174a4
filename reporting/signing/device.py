"""The signer's own device (a USB token such as the school seal on a VGCA token), through pyHanko's interrupted
signing: the server prepares the document and the hash to sign (``device_prepare``), the signer's device signs it
(in the browser's or desktop's signing plug-in, outside the server), and the server embeds the returned signature
(``device_complete``). Between the two steps the pending signature is plain data (``to_dict``/``from_dict``).

``DeviceSigner`` runs both steps around a device client (a callable: data to sign → signature value), for the
common ``Signer`` interface.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.utils.translation import gettext_lazy as _
from pyhanko.sign import signers as ph_signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .base import (
    DIGEST,
    Appearance,
    Signer,
    SigningFailed,
    _prepare,
    _text_params,
    check_certificate_key,
    run,
    signature_size,
    stamp_style,
)


@dataclass(frozen=True)
class PendingSignature:
    """A document waiting for its signature value: what the device must sign, and what the server needs to finish."""

    prepared_pdf: bytes  # the document with the signature's placeholder
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attributes: bytes  # DER of the CMS signed attributes: the device signs exactly these bytes
    certificate: bytes  # DER of the signer's certificate
    chain: tuple[bytes, ...] = ()

    @property
    def data_to_sign(self) -> bytes:
        return self.signed_attributes

    @property
    def digest_to_sign(self) -> bytes:
        """SHA-256 of the signed attributes, for devices that sign a prehashed value."""
        return hashlib.sha256(self.signed_attributes).digest()

    def to_dict(self) -> dict:
        enc = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
        return {
            "prepared_pdf": enc(self.prepared_pdf),
            "document_digest": enc(self.document_digest),
            "reserved_start": self.reserved_start,
            "reserved_end": self.reserved_end,
            "signed_attributes": enc(self.signed_attributes),
            "certificate": enc(self.certificate),
            "chain": [enc(c) for c in self.chain],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PendingSignature:
        dec = base64.b64decode
        try:
            return cls(
                dec(data["prepared_pdf"]),
                dec(data["document_digest"]),
                int(data["reserved_start"]),
                int(data["reserved_end"]),
                dec(data["signed_attributes"]),
                dec(data["certificate"]),
                tuple(dec(c) for c in data.get("chain", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SigningFailed(_("Phiên ký không còn hợp lệ, hãy ký lại."), detail=str(exc)) from exc


def _external(certificate: bytes, chain: Sequence[bytes], signature_value: bytes | int = 512) -> ExternalSigner:
    try:
        cert = asn1_x509.Certificate.load(certificate)
        cert.native  # noqa: B018 — parses it: a bad certificate fails here, not later
        check_certificate_key(cert)
        registry = SimpleCertificateStore()
        registry.register_multiple([asn1_x509.Certificate.load(c) for c in chain])
    except ValueError as exc:
        raise SigningFailed(_("Chứng thư số của thiết bị không đọc được."), detail=str(exc)) from exc
    return ExternalSigner(cert, registry, signature_value=signature_value)


def device_prepare(
    pdf: bytes,
    *,
    certificate: bytes,
    chain: Sequence[bytes] = (),
    field: str,
    box=None,
    reason: str = "",
    name: str = "",
    location: str = "",
    appearance: Appearance | str | bytes | None = None,
    timestamper: TimeStamper | None = None,
) -> PendingSignature:
    """Step 1 on the server: the document with a placeholder, and the bytes the device must sign."""
    return run(
        _async_prepare(
            pdf,
            certificate=certificate,
            chain=chain,
            field=field,
            box=box,
            reason=reason,
            name=name,
            location=location,
            appearance=appearance,
            timestamper=timestamper,
        )
    )


async def _async_prepare(pdf, *, certificate, chain, field, box, reason, name, location, appearance, timestamper):
    prepared = _prepare(pdf, field=field, box=box, reason=reason, name=name, location=location)
    ext = _external(certificate, chain)
    pdf_signer = ph_signers.PdfSigner(
        prepared.meta,
        signer=ext,
        timestamper=timestamper,
        stamp_style=stamp_style(Appearance.of(appearance)),
        new_field_spec=prepared.field_spec,
    )
    ts_size = 0
    if timestamper is not None:
        ts_size = len((await timestamper.async_dummy_response(DIGEST)).dump()) + 512
    try:
        prep_digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
            prepared.writer,
            bytes_reserved=2 * signature_size(ext, ts_size),
            appearance_text_params=_text_params(name, reason),
        )
        signed_attrs = await ext.signed_attrs(prep_digest.document_digest, DIGEST, use_pades=True)
    except (SigningError, ValueError, KeyError) as exc:
        raise SigningFailed(_("Không chuẩn bị được tài liệu để ký."), detail=str(exc)) from exc
    return PendingSignature(
        prepared_pdf=output.getvalue(),
        document_digest=prep_digest.document_digest,
        reserved_start=prep_digest.reserved_region_start,
        reserved_end=prep_digest.reserved_region_end,
        signed_attributes=signed_attrs.dump(),
        certificate=certificate,
        chain=tuple(chain),
    )


def _check_signature(pending: PendingSignature, signature: bytes) -> None:
    """The value must be the certificate's key's signature over the signed attributes (else: a wrong device, a wrong
    card, or a value for another document), checked before it is embedded."""
    public_key = x509.load_der_x509_certificate(pending.certificate).public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, pending.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, pending.signed_attributes, ec.ECDSA(hashes.SHA256()))
        else:
            raise SigningFailed(_("Khóa ký không đạt yêu cầu (RSA từ 2048 bit hoặc ECDSA từ 256 bit)."))
    except InvalidSignature as exc:
        raise SigningFailed(_("Chữ ký trả về từ thiết bị không khớp với tài liệu hoặc chứng thư số.")) from exc


def device_complete(pending: PendingSignature, signature: bytes, *, timestamper: TimeStamper | None = None) -> bytes:
    """Step 2 on the server: embed the device's signature value; the signed document."""
    if not isinstance(signature, bytes) or not signature:
        raise SigningFailed(_("Thiết bị không trả về chữ ký."))
    _check_signature(pending, signature)
    return run(_async_complete(pending, signature, timestamper))


async def _async_complete(pending: PendingSignature, signature: bytes, timestamper) -> bytes:
    ext = _external(pending.certificate, pending.chain, signature_value=signature)
    signed_attrs = cms.CMSAttributes.load(pending.signed_attributes)
    sig_cms = await ext.async_sign_prescribed_attributes(DIGEST, signed_attrs=signed_attrs, timestamper=timestamper)
    output = io.BytesIO(pending.prepared_pdf)
    digest = PreparedByteRangeDigest(pending.document_digest, pending.reserved_start, pending.reserved_end)
    try:
        digest.fill_with_cms(output, sig_cms)
    except SigningError as exc:
        raise SigningFailed(_("Không ký được tài liệu."), detail=str(exc)) from exc
    return output.getvalue()


class DeviceSigner(Signer):
    """The two steps around a device client: ``device(data_to_sign) -> signature value`` (RSA PKCS#1 v1.5 or ECDSA,
    SHA-256, over the signed attributes)."""

    backend = "device"

    def __init__(
        self,
        *,
        certificate: bytes,
        chain: Sequence[bytes] = (),
        device: Callable[[bytes], bytes],
        timestamper: TimeStamper | None = None,
    ) -> None:
        super().__init__(timestamper=timestamper)
        self.certificate, self.chain, self.device = certificate, tuple(chain), device

    async def async_sign(self, pdf: bytes, *, field: str, box=None, reason="", name="", location="", appearance=None):
        pending = await _async_prepare(
            pdf,
            certificate=self.certificate,
            chain=self.chain,
            field=field,
            box=box,
            reason=reason,
            name=name,
            location=location,
            appearance=appearance,
            timestamper=self.timestamper,
        )
        signature = self.device(pending.data_to_sign)
        if not isinstance(signature, bytes) or not signature:
            raise SigningFailed(_("Thiết bị không trả về chữ ký."))
        _check_signature(pending, signature)
        return await _async_complete(pending, signature, self.timestamper)
