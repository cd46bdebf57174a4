"""API of students' movements: class moves, transfers out, carrying a class into the next year, parents' accounts.

Bodies are read by small functions that refuse with a Vietnamese message naming the field (like the services);
the serializers below document the same shapes in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from hocba.kernel.errors import DomainError
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import request_school_access
from ..excel.background import job_reference
from ..models import Enrolment, Student
from ..selectors import (
    class_get,
    class_in_school,
    current_class_id,
    enrolment_history,
    guardian_accounts,
    student_visible,
)
from ..services import carry_jobs, students
from ..services.common import require
from .excel import JobReferenceSerializer

# --- documented shapes ---------------------------------------------------------------------------


class EnrolmentSerializer(serializers.ModelSerializer):
    class_name = serializers.CharField(source="school_class.name", read_only=True)
    year = serializers.CharField(source="school_class.year.label", read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "student",
            "school_class",
            "class_name",
            "year",
            "starts_on",
            "ends_on",
            "entry",
            "exit",
            "exit_note",
        ]


class MoveSerializer(serializers.Serializer):
    school_class = serializers.IntegerField(help_text="a class of the same school year")
    on = serializers.CharField(help_text="dd/mm/yyyy (or yyyy-mm-dd), inside the school year")


class TransferOutSerializer(serializers.Serializer):
    on = serializers.CharField(help_text="dd/mm/yyyy (or yyyy-mm-dd), inside the school year")
    destination = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="optional: the school the student goes to and the decision number "
        "(at most 300 characters); kept as the enrolment's exit_note",
    )


class GuardianSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    relation = serializers.CharField(allow_blank=True, help_text="how the account's holder is related to the student")


class GuardianLinkSerializer(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text="an account holding the role parent in this school")
    relation = serializers.CharField(
        required=False, allow_blank=True, help_text="how the parent is related to the student: Bố, Mẹ, … (≤ 40)"
    )
    username = serializers.CharField(required=False, help_text="or: create the parent's account (role parent here)")
    full_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False, allow_blank=True)
    password = serializers.CharField(required=False, allow_blank=True)


class CarryOverSerializer(serializers.Serializer):
    to_class = serializers.IntegerField(help_text="a class of the next school year, one grade up")
    repeat_class = serializers.IntegerField(
        required=False, allow_null=True, help_text="a class of the next year, same grade, for students held back"
    )


# --- reading bodies ------------------------------------------------------------------------------


def _body(request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


def _editable_student(request, pk: int) -> Student:
    """A student the requester sees and may edit (the profile editors of the student's class) — asked before the
    body is read, so a refusal names no field; the services ask again."""
    access = request_school_access(request)
    student, _record = student_visible(access, pk)
    require(access.may_edit_profiles(current_class_id(enrolment_history(student))))
    return student


def _destination(value: Any) -> str:
    """The destination of a transfer out: absent or null is none; a list or an object is refused."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise DomainError(
            "students.destination_not_text", _("Nơi chuyển đến phải là một đoạn văn bản."), field="destination"
        )
    return str(value)


def _text(value: Any, field: str) -> str:
    """A short text of the body: absent or null is empty; a list or an object is refused."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise DomainError("students.not_text", _("Giá trị này phải là một đoạn văn bản."), field=field)
    return str(value)


def _account_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError("students.account_missing", _("Hãy chọn tài khoản phụ huynh."), field="account") from None


# --- views ---------------------------------------------------------------------------------------


class StudentEnrolmentsApi(APIView):
    required_capability = "school.enter"

    @extend_schema(responses=EnrolmentSerializer(many=True), summary="A student's enrolments: classes, from/to dates")
    def get(self, request, pk: int):
        student, _record = student_visible(request_school_access(request), pk)
        return Response(EnrolmentSerializer(enrolment_history(student), many=True).data)


class StudentMoveApi(APIView):
    required_capability = "profiles.edit"

    @extend_schema(
        request=MoveSerializer,
        responses=EnrolmentSerializer,
        summary="Move a student to another class of the same year from a date (the year's record follows)",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        student = _editable_student(request, pk)
        data = _body(request)
        to_class = class_in_school(data.get("school_class"), field="school_class")
        on = students.parse_day(data.get("on"), field="on")
        enrolment = students.student_move_class(access=access, student=student, to_class=to_class, on=on)
        return Response(EnrolmentSerializer(enrolment).data)


class StudentTransferOutApi(APIView):
    required_capability = "profiles.edit"

    @extend_schema(
        request=TransferOutSerializer,
        responses=EnrolmentSerializer,
        summary="The student leaves the school (chuyển đi) on a date, optionally for a named school (destination)",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        student = _editable_student(request, pk)
        data = _body(request)
        on = students.parse_day(data.get("on"), field="on")
        enrolment = students.student_transfer_out(
            access=access, student=student, on=on, destination=_destination(data.get("destination"))
        )
        return Response(EnrolmentSerializer(enrolment).data)


class StudentGuardiansApi(APIView):
    required_capability = "profiles.edit"

    @extend_schema(responses=GuardianSerializer(many=True), summary="The parents' accounts linked to a student")
    def get(self, request, pk: int):
        student = _editable_student(request, pk)
        return Response(GuardianSerializer(guardian_accounts(student), many=True).data)

    @extend_schema(
        request=GuardianLinkSerializer,
        responses={201: GuardianSerializer(many=True)},
        summary="Link a parent's account: an existing parent of the school (account) or a new one "
        "(username, full_name, email, password)",
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        student = _editable_student(request, pk)
        data = _body(request)
        if data.get("account") in (None, "") and data.get("username"):
            students.guardian_create_and_link(
                access=access,
                actor=request.user,
                student=student,
                username=str(data.get("username") or ""),
                full_name=str(data.get("full_name") or ""),
                email=str(data.get("email") or ""),
                password=str(data.get("password") or "") or None,
                relation=_text(data.get("relation"), "relation"),
            )
        else:
            students.guardian_link(
                access=access,
                student=student,
                account_id=_account_id(data.get("account")),
                relation=_text(data.get("relation"), "relation"),
            )
        return Response(GuardianSerializer(guardian_accounts(student), many=True).data, status=status.HTTP_201_CREATED)


class StudentGuardianApi(APIView):
    required_capability = "profiles.edit"

    @extend_schema(request=None, responses={204: None}, summary="Unlink a parent's account from a student")
    def delete(self, request, pk: int, account: int):
        access = request_school_access(request)
        student = _editable_student(request, pk)
        students.guardian_unlink(access=access, student=student, account_id=account)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClassCarryOverApi(APIView):
    required_capability = "school.setup"

    @extend_schema(
        request=CarryOverSerializer,
        responses={
            202: OpenApiResponse(JobReferenceSerializer, description="the carry-over is queued as a background job")
        },
        summary="Year end: carry the class's students into a class of the next year (all or nothing)",
        description=(
            "The target classes are checked in the request (400 naming the field, nothing queued); the class is then "
            "carried over by a background job, as on the page: 202 with the job's id, its page and its status URL, "
            "whose rows name each student's outcome (moved up, kept back, or left in the class and why). A refusal "
            "when the job runs (the class was carried over meanwhile) fails the job with its message; nothing is "
            "written."
        ),
    )
    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        data = _body(request)
        to_class = class_in_school(data.get("to_class"), field="to_class")
        repeat = data.get("repeat_class")
        repeat_class = class_in_school(repeat, field="repeat_class") if repeat not in (None, "") else None
        job_id = carry_jobs.carry_over_start(
            access=access,
            school_class=school_class,
            to_class=to_class,
            repeat_class=repeat_class,
            back_url=reverse("movements:carry_over", args=[pk]),
        )
        return Response(job_reference(job_id), status=status.HTTP_202_ACCEPTED)
