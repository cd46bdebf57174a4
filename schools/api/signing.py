"""The signer's own device (a USB token: the school seal on a VGCA token, a teacher's token) — the small JSON API the
signer's local signing app uses after a confirmation on the class's signing page opened a device session::

    GET  /api/v1/signing/device/<pending>/
         → {"remaining": 3, "document": "<uid>", "student": "Nguyễn Văn An",
            "data_to_sign": "<base64: the CMS signed attributes>", "digest": "<base64: their SHA-256>"}
         → {"remaining": 0}                                   every record of the session is signed
    POST /api/v1/signing/device/<pending>/   {"signature": "<base64: RSA PKCS#1 v1.5 or ECDSA, SHA-256>"}
         → {"document": "<uid>", "state": "signing" | "sealed" | "archived"}

The device signs ``data_to_sign`` (or the prehashed ``digest``) with its key; the server checks the value against
the certificate before embedding it (a wrong card, a value for another document: 400), and records the signature as
the signer's (the audit's actor). The session belongs to the account and school that opened it (404 otherwise) and
expires after 30 minutes. A record signed by someone else between the two calls: 409, ask again (GET).
"""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from hocba.kernel.errors import DomainError
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reporting.services import signing_flow
from reporting.signing import SigningFailed

from ..access import request_school_access


class DeviceStepSerializer(serializers.Serializer):
    remaining = serializers.IntegerField(help_text="records of the session still to sign, this one included")
    document = serializers.CharField(required=False, help_text="the document's uid")
    student = serializers.CharField(required=False)
    data_to_sign = serializers.CharField(required=False, help_text="base64: the CMS signed attributes (DER)")
    digest = serializers.CharField(required=False, help_text="base64: SHA-256 of data_to_sign")


class DeviceSignatureSerializer(serializers.Serializer):
    signature = serializers.CharField(help_text="base64 signature value over data_to_sign")


class DeviceSignedSerializer(serializers.Serializer):
    document = serializers.CharField()
    state = serializers.CharField()


def _failed(exc: SigningFailed) -> DomainError:
    return DomainError("signing.failed", exc.message, http_status=502)


class DeviceSigningApi(APIView):
    required_capability = "records.signing"

    @extend_schema(responses=DeviceStepSerializer, summary="The next record of a device session: what to sign")
    def get(self, request, pending: str):
        access = request_school_access(request)
        try:
            step = signing_flow.device_next(access=access, pending=pending)
        except SigningFailed as exc:
            raise _failed(exc) from exc
        if not step.remaining:
            return Response({"remaining": 0})
        enc = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
        return Response(
            {
                "remaining": step.remaining,
                "document": step.document,
                "student": step.student,
                "data_to_sign": enc(step.data_to_sign),
                "digest": enc(step.digest),
            }
        )

    @extend_schema(
        request=DeviceSignatureSerializer,
        responses=DeviceSignedSerializer,
        summary="The device's signature of the prepared record",
    )
    def post(self, request, pending: str):
        access = request_school_access(request)
        body = DeviceSignatureSerializer(data=request.data)
        if not body.is_valid():
            raise DomainError("signing.device_no_signature", _("Thiếu chữ ký của thiết bị."), field="signature")
        try:
            value = base64.b64decode(body.validated_data["signature"], validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                "signing.device_bad_signature",
                _("Chữ ký của thiết bị không đúng định dạng (base64)."),
                field="signature",
            ) from None
        try:
            document = signing_flow.device_submit(access=access, pending=pending, signature=value)
        except SigningFailed as exc:
            raise _failed(exc) from exc
        return Response({"document": str(document.uid), "state": document.state})
