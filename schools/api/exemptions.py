"""School API v1, exemptions (miễn học): the decisions of a class's students for the year, recording and revoking
one (capability ``exemptions.record``: the school's leadership and office). The reason shows only to those who may
read the student's personal data (``selectors.personal_data_readable``)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import SchoolAccess, request_school_access
from ..models import Exemption, ExemptionPart
from ..selectors import class_get, personal_data_readable
from ..selectors.exemptions import class_exemptions
from ..services import exemptions
from ..services.common import require


class ExemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    student = serializers.IntegerField(source="student_id")
    subject = serializers.IntegerField(source="subject_id")
    subject_name = serializers.CharField(read_only=True, source="subject.name")
    part = serializers.ChoiceField(
        choices=ExemptionPart.choices, help_text="subject: not assessed in the subject; practical: its practical part"
    )
    term = serializers.IntegerField(
        allow_null=True, required=False, help_text="1 or 2; null or absent: the whole school year"
    )
    reason = serializers.CharField(allow_blank=True, max_length=300, help_text="empty unless you keep the profile")
    decision_number = serializers.CharField(allow_blank=True, max_length=60)
    decided_on = serializers.DateField(format="%d/%m/%Y", input_formats=["%d/%m/%Y", "iso-8601"])


def exemption_data(exemption: Exemption, readable: frozenset[int]) -> dict:
    data = ExemptionSerializer(exemption).data
    if exemption.student_id not in readable:
        data["reason"] = ""
    return data


def _class(access: SchoolAccess, pk: int):
    school_class = class_get(access, pk)
    require(exemptions.may_record(access), exemptions.NOT_ALLOWED)
    return school_class


class ExemptionListApi(APIView):
    required_capability = "exemptions.record"

    @extend_schema(responses=ExemptionSerializer(many=True), summary="Exemption decisions of the class's students")
    def get(self, request, pk: int):
        access = request_school_access(request)
        items = class_exemptions(_class(access, pk))
        readable = personal_data_readable(access, [e.student_id for e in items])
        return Response([exemption_data(e, readable) for e in items])

    @extend_schema(
        request=ExemptionSerializer,
        responses={201: ExemptionSerializer},
        summary="Record the principal's decision exempting a student from a subject or its practical part",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = _class(access, pk)
        ser = ExemptionSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        exemption = exemptions.exemption_record(
            access=access,
            school_class=school_class,
            student_id=data["student_id"],
            subject_id=data["subject_id"],
            term=exemptions.parse_term(data.get("term")),
            part=data["part"],
            reason=data["reason"],
            decision_number=data["decision_number"],
            decided_on=data["decided_on"],
            today=timezone.localdate(),
        )
        readable = personal_data_readable(access, [exemption.student_id])
        return Response(exemption_data(exemption, readable), status=status.HTTP_201_CREATED)


class ExemptionApi(APIView):
    required_capability = "exemptions.record"

    @extend_schema(request=None, responses={204: None}, summary="Revoke an exemption decision")
    def delete(self, request, pk: int, exemption: int):
        access = request_school_access(request)
        exemptions.exemption_revoke(access=access, school_class=_class(access, pk), exemption_id=exemption)
        return Response(status=status.HTTP_204_NO_CONTENT)
