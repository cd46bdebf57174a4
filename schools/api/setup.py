"""School API v1: setting the school up (``school.setup``) — years, classes, teaching assignments, curriculum,
departments. Serializers check shapes only; the services in ``services.setup`` decide, and a refusal is a 4xx
with ``code``, ``detail`` (Vietnamese), ``detail_en`` and ``field``, nothing saved."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import request_school_access
from ..models import Grading
from ..models.structure import LEVELS
from ..selectors import (
    STAFF_ROLES,
    TEACHING_ROLES,
    class_assignments,
    department_get,
    department_list,
    not_found,
    school_levels,
    setup_class_get,
    staff_names,
    subject_column_choices,
    subject_get,
    subject_list,
    subject_teachers,
    year_classes,
    year_get,
    year_list,
)
from ..services import setup

CAPABILITY = "school.setup"
DATE_FORMAT = "%d/%m/%Y"
DATE_INPUTS = [DATE_FORMAT, "iso-8601"]


# ------------------------------------------------------------------------------------------------ serializers


class SetupYearSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    start_year = serializers.IntegerField(read_only=True)
    label = serializers.CharField(read_only=True)
    starts_on = serializers.DateField(format=DATE_FORMAT, input_formats=DATE_INPUTS, help_text="dd/mm/yyyy")
    term2_starts_on = serializers.DateField(format=DATE_FORMAT, input_formats=DATE_INPUTS, help_text="dd/mm/yyyy")
    ends_on = serializers.DateField(format=DATE_FORMAT, input_formats=DATE_INPUTS, help_text="dd/mm/yyyy")


class SetupYearOpenSerializer(serializers.Serializer):
    start_year = serializers.IntegerField(help_text="2025 for 2025–2026")
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=[lv for lv, _label in LEVELS]),
        required=False,
        help_text="levels whose GDPT 2018 curriculum is ensured; default: the school's levels",
    )
    starts_on = serializers.DateField(
        input_formats=DATE_INPUTS, required=False, allow_null=True, help_text="dd/mm/yyyy; default 05/09"
    )
    term2_starts_on = serializers.DateField(
        input_formats=DATE_INPUTS, required=False, allow_null=True, help_text="dd/mm/yyyy; default 12/01"
    )
    ends_on = serializers.DateField(
        input_formats=DATE_INPUTS, required=False, allow_null=True, help_text="dd/mm/yyyy; default 31/05"
    )


class SetupClassSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    year = serializers.IntegerField(source="year_id", read_only=True)
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    grade = serializers.IntegerField()
    homeroom_teacher_id = serializers.IntegerField(
        allow_null=True, required=False, help_text="an account id; null: none"
    )


class SetupClassUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    homeroom_teacher_id = serializers.IntegerField(
        allow_null=True, required=False, help_text="an account id; null: none"
    )


class SetupPartSerializer(serializers.Serializer):
    teacher = serializers.IntegerField(help_text="an account id")
    teacher_name = serializers.CharField(read_only=True)
    part = serializers.CharField(allow_blank=True, required=False, help_text="e.g. Vật lí; required when shared")
    columns = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="sheet column keys (tx1, gk, ck, nx…); []: all"
    )
    coordinator = serializers.BooleanField(read_only=True, help_text="enters the end-of-term assessment")


class SetupAssignmentSerializer(serializers.Serializer):
    subject = serializers.IntegerField()
    subject_name = serializers.CharField(read_only=True)
    teacher = serializers.IntegerField(
        allow_null=True,
        help_text="an account id; null: no one (clears), except that a subject shared by several teachers is left as "
        "it is (change it at …/assignments/<subject>/parts/, clear it with DELETE …/assignments/<subject>/)",
    )
    parts = SetupPartSerializer(many=True, read_only=True, help_text="a subject shared by several teachers")


class SetupColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    label_en = serializers.CharField()


class SetupPartsSerializer(serializers.Serializer):
    subject = serializers.IntegerField(read_only=True)
    subject_name = serializers.CharField(read_only=True)
    columns = SetupColumnSerializer(many=True, read_only=True, help_text="the sheet's columns, both terms")
    parts = SetupPartSerializer(many=True)


class SetupAssignmentsSaveSerializer(serializers.Serializer):
    assignments = SetupAssignmentSerializer(many=True)


class SetupAssignmentErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    subject = serializers.IntegerField(allow_null=True)
    field = serializers.CharField()
    code = serializers.CharField()
    detail = serializers.CharField()
    detail_en = serializers.CharField()


class SetupErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField(help_text="Vietnamese")
    detail_en = serializers.CharField()
    field = serializers.CharField(required=False)
    errors = SetupAssignmentErrorSerializer(many=True, required=False, help_text="assignments: one per wrong row")


class SetupSubjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    level = serializers.ChoiceField(choices=[lv for lv, _label in LEVELS])
    code = serializers.CharField(required=False, allow_blank=True, help_text="made from the name when left out")
    name = serializers.CharField(allow_blank=True)
    grades = serializers.ListField(child=serializers.IntegerField())
    periods_per_year = serializers.IntegerField()
    grading = serializers.ChoiceField(choices=Grading.values, help_text="score | comment (secondary); level (primary)")
    department = serializers.IntegerField(source="department_id", allow_null=True, required=False)
    has_periodic_test = serializers.BooleanField(required=False, default=False, help_text="TT27 (primary) only")
    order = serializers.IntegerField(read_only=True)


class SetupSubjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, required=False)
    grades = serializers.ListField(child=serializers.IntegerField(), required=False)
    periods_per_year = serializers.IntegerField(required=False)
    grading = serializers.CharField(required=False)
    department = serializers.IntegerField(allow_null=True, required=False)
    has_periodic_test = serializers.BooleanField(required=False)


class SetupDepartmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(allow_blank=True, required=False)
    head_id = serializers.IntegerField(
        allow_null=True, required=False, help_text="an account with a staff membership of the school; null: none"
    )


class SetupPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


REFUSALS = {400: SetupErrorSerializer, 403: SetupErrorSerializer, 404: SetupErrorSerializer}


def _access(request):
    return request_school_access(request)


def _subject_data(subject) -> dict:
    return {
        "name": subject.name,
        "grades": list(subject.grades),
        "periods_per_year": subject.periods_per_year,
        "grading": subject.grading,
        "department": subject.department_id,
        "has_periodic_test": subject.has_periodic_test,
    }


# ------------------------------------------------------------------------------------------------------ views


class YearListApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(responses=SetupYearSerializer(many=True), summary="The school's years, newest first")
    def get(self, request):
        return Response(SetupYearSerializer(year_list(_access(request)), many=True).data)

    @extend_schema(
        request=SetupYearOpenSerializer,
        responses={201: SetupYearSerializer, **REFUSALS},
        summary="Open a new year (and the GDPT 2018 curriculum of its levels, if missing)",
    )
    def post(self, request):
        access = _access(request)
        ser = SetupYearOpenSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        year = setup.school_year_create(
            access=access,
            start_year=data["start_year"],
            levels=data.get("levels") or school_levels(access),
            starts_on=data.get("starts_on"),
            term2_starts_on=data.get("term2_starts_on"),
            ends_on=data.get("ends_on"),
        )
        return Response(SetupYearSerializer(year).data, status=status.HTTP_201_CREATED)


class YearApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(responses={200: SetupYearSerializer, 404: SetupErrorSerializer}, summary="A year")
    def get(self, request, pk: int):
        return Response(SetupYearSerializer(year_get(_access(request), pk)).data)

    @extend_schema(
        request=SetupYearSerializer,
        responses={200: SetupYearSerializer, **REFUSALS},
        summary="Change a year's dates (start < start of term II < end)",
    )
    def patch(self, request, pk: int):
        access = _access(request)
        year = year_get(access, pk)
        ser = SetupYearSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        dates = {
            key: ser.validated_data.get(key, getattr(year, key)) for key in ("starts_on", "term2_starts_on", "ends_on")
        }
        year = setup.school_year_update(access=access, year=year, **dates)
        return Response(SetupYearSerializer(year).data)


class YearClassesApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        responses={200: SetupClassSerializer(many=True), 404: SetupErrorSerializer}, summary="Every class of a year"
    )
    def get(self, request, pk: int):
        access = _access(request)
        return Response(SetupClassSerializer(year_classes(access, year_get(access, pk)), many=True).data)

    @extend_schema(
        request=SetupClassSerializer,
        responses={201: SetupClassSerializer, **REFUSALS},
        summary="Create a class in the year",
    )
    def post(self, request, pk: int):
        access = _access(request)
        year = year_get(access, pk)
        ser = SetupClassSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        school_class = setup.class_create(
            access=access,
            year=year,
            name=data["name"],
            grade=data["grade"],
            homeroom_teacher_id=data.get("homeroom_teacher_id"),
        )
        return Response(SetupClassSerializer(school_class).data, status=status.HTTP_201_CREATED)


class SetupClassApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        responses={200: SetupClassSerializer, 404: SetupErrorSerializer}, summary="A class (any of the school)"
    )
    def get(self, request, pk: int):
        return Response(SetupClassSerializer(setup_class_get(_access(request), pk)).data)

    @extend_schema(
        request=SetupClassUpdateSerializer,
        responses={200: SetupClassSerializer, **REFUSALS},
        summary="Rename a class or change its homeroom teacher",
    )
    def patch(self, request, pk: int):
        access = _access(request)
        school_class = setup_class_get(access, pk)
        ser = SetupClassUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        school_class = setup.class_update(
            access=access,
            school_class=school_class,
            name=data.get("name", school_class.name),
            homeroom_teacher_id=data.get("homeroom_teacher_id", school_class.homeroom_teacher_id),
        )
        return Response(SetupClassSerializer(school_class).data)


def _part_data(part) -> dict:
    return {
        "teacher": part.teacher_id,
        "teacher_name": part.teacher_name,
        "part": part.part,
        "columns": list(part.columns),
        "coordinator": part.coordinator,
    }


def _assignments(school_class) -> list[dict]:
    shared = {s: parts for s, parts in subject_teachers(school_class).items() if len(parts) > 1}
    return [
        {
            "subject": subject.pk,
            "subject_name": subject.name,
            "teacher": teacher,
            "parts": [_part_data(p) for p in shared.get(subject.pk, [])],
        }
        for subject, teacher in class_assignments(school_class)
    ]


def _parts(school_class, subject) -> dict:
    return {
        "subject": subject.pk,
        "subject_name": subject.name,
        "columns": [c.__dict__ for c in subject_column_choices(school_class, subject)],
        "parts": [_part_data(p) for p in subject_teachers(school_class, [subject.pk]).get(subject.pk, [])],
    }


class AssignmentsApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        responses={200: SetupAssignmentSerializer(many=True), 404: SetupErrorSerializer},
        summary="The subjects of the class's grade and who teaches each (null: no one)",
    )
    def get(self, request, pk: int):
        return Response(SetupAssignmentSerializer(_assignments(setup_class_get(_access(request), pk)), many=True).data)

    @extend_schema(
        request=SetupAssignmentsSaveSerializer,
        responses={200: SetupAssignmentSerializer(many=True), **REFUSALS},
        summary="Set the teachers of several subjects of the class: all rows or none; null clears",
    )
    def put(self, request, pk: int):
        access = _access(request)
        school_class = setup_class_get(access, pk)
        rows = request.data.get("assignments") if isinstance(request.data, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            SetupAssignmentsSaveSerializer(data=request.data).is_valid(raise_exception=True)  # its 400 names the field
            rows = []
        setup.assignments_save(access=access, school_class=school_class, rows=rows)
        return Response(SetupAssignmentSerializer(_assignments(school_class), many=True).data)


class AssignmentApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        request=None,
        responses={204: None, 404: SetupErrorSerializer},
        summary="No one teaches the subject in the class any more (entered marks stay)",
    )
    def delete(self, request, pk: int, subject: int):
        access = _access(request)
        school_class = setup_class_get(access, pk)
        if not setup.assignment_clear(access=access, school_class=school_class, subject=subject_get(access, subject)):
            raise not_found(_("Môn này chưa được phân công ở lớp."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentPartsApi(APIView):
    """A subject taught by several teachers in a class (KHTN, Lịch sử và Địa lí, HĐTN-HN…): each teacher's part and
    the sheet columns they enter."""

    required_capability = CAPABILITY

    @extend_schema(
        responses={200: SetupPartsSerializer, 404: SetupErrorSerializer},
        summary="The teachers of a subject of the class, their parts and the sheet columns each enters",
    )
    def get(self, request, pk: int, subject: int):
        access = _access(request)
        return Response(_parts(setup_class_get(access, pk), subject_get(access, subject)))

    @extend_schema(
        request=SetupPartsSerializer,
        responses={200: SetupPartsSerializer, **REFUSALS},
        summary="Share a subject between teachers: every sheet column exactly once; one teacher: the whole subject; "
        "[]: no one. All or nothing",
    )
    def put(self, request, pk: int, subject: int):
        access = _access(request)
        school_class, found = setup_class_get(access, pk), subject_get(access, subject)
        parts = request.data.get("parts") if isinstance(request.data, dict) else None
        if not isinstance(parts, list):
            SetupPartsSerializer(data=request.data).is_valid(raise_exception=True)  # its 400 names the field
            parts = []
        setup.subject_parts_save(access=access, school_class=school_class, subject=found, parts=parts)
        return Response(_parts(school_class, found))


class SubjectListApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        parameters=[OpenApiParameter("level", str, enum=[lv for lv, _label in LEVELS], required=False)],
        responses=SetupSubjectSerializer(many=True),
        summary="The school's curriculum, level by level",
    )
    def get(self, request):
        level = request.query_params.get("level") or None
        return Response(SetupSubjectSerializer(subject_list(_access(request), level), many=True).data)

    @extend_schema(
        request=SetupSubjectSerializer,
        responses={201: SetupSubjectSerializer, **REFUSALS},
        summary="Add a subject of the school's own",
    )
    def post(self, request):
        access = _access(request)
        ser = SetupSubjectSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        data["department"] = data.pop("department_id", None)
        subject = setup.subject_create(access=access, level=data.pop("level"), data=data)
        return Response(SetupSubjectSerializer(subject).data, status=status.HTTP_201_CREATED)


class SubjectApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(responses={200: SetupSubjectSerializer, 404: SetupErrorSerializer}, summary="A subject")
    def get(self, request, pk: int):
        return Response(SetupSubjectSerializer(subject_get(_access(request), pk)).data)

    @extend_schema(
        request=SetupSubjectUpdateSerializer,
        responses={200: SetupSubjectSerializer, **REFUSALS},
        summary="Edit a subject: name, grades, periods, grading, department, periodic test",
    )
    def patch(self, request, pk: int):
        access = _access(request)
        subject = subject_get(access, pk)
        ser = SetupSubjectUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = {**_subject_data(subject), **ser.validated_data}
        return Response(SetupSubjectSerializer(setup.subject_update(access=access, subject=subject, data=data)).data)


class DepartmentListApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(responses=SetupDepartmentSerializer(many=True), summary="The school's departments")
    def get(self, request):
        return Response(SetupDepartmentSerializer(department_list(_access(request)), many=True).data)


class DepartmentApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(responses={200: SetupDepartmentSerializer, 404: SetupErrorSerializer}, summary="A department")
    def get(self, request, pk: int):
        return Response(SetupDepartmentSerializer(department_get(_access(request), pk)).data)

    @extend_schema(
        request=SetupDepartmentSerializer,
        responses={200: SetupDepartmentSerializer, **REFUSALS},
        summary="Rename a department or set its head (null: none)",
    )
    def patch(self, request, pk: int):
        access = _access(request)
        department = department_get(access, pk)
        ser = SetupDepartmentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        department = setup.department_update(
            access=access,
            department=department,
            name=data.get("name", department.name),
            head_id=data.get("head_id", department.head_id),
        )
        return Response(SetupDepartmentSerializer(department).data)


class TeacherListApi(APIView):
    required_capability = CAPABILITY

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "staff", bool, required=False, description="every staff member (department heads), not only teachers"
            )
        ],
        responses=SetupPersonSerializer(many=True),
        summary="Who may be given classes and subjects, by name",
    )
    def get(self, request):
        roles = STAFF_ROLES if request.query_params.get("staff") in ("1", "true") else TEACHING_ROLES
        people = staff_names(_access(request), roles)
        return Response(SetupPersonSerializer([{"id": i, "full_name": n} for i, n in people], many=True).data)
