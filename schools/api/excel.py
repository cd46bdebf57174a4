"""School API v1: the Excel imports — a class's student list, a grade sheet, a checkpoint's TT27 qualities — and
their templates, as on the pages (``schools.excel.imports``).

Download the template (``GET …/import/template/``), fill it in, upload it (``POST …/import/``, multipart, field
``file``). The file is checked in the request (shape, limits); then it is imported all or nothing — in the request
(201 or 200 with what was saved; 400 with every problem by row and cell, nothing saved; 423 when a window is locked)
or, when it has more data rows than ``HOCBA_IMPORT_INLINE_ROWS``, by the worker: 202 with the job's id and page, whose
rows say what became of each row of the file.
"""

from __future__ import annotations

import abc

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from hocba.kernel import context
from hocba.kernel.parsers import FormParser, MultiPartParser
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..access import request_school_access
from ..excel import background, imports
from ..excel.common import xlsx_response


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the template, filled in (.xlsx)")


class JobReferenceSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="the background job's id")
    url = serializers.CharField(help_text="the job's page: progress, then each row's outcome")
    status_url = serializers.CharField(help_text="the job's state, counters and rows as JSON")


class StudentBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class StudentsImportedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    students = StudentBriefSerializer(many=True)


class CellsImportedSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="student rows read")
    changed = serializers.IntegerField(help_text="cells whose value differed from what was stored")
    written = serializers.IntegerField()
    cleared = serializers.IntegerField()


class ImportProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    row = serializers.IntegerField(allow_null=True)
    cell = serializers.CharField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    header = serializers.CharField()
    student = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    message_en = serializers.CharField()
    detail = serializers.CharField()
    detail_en = serializers.CharField()


class ImportRefusedSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    detail_en = serializers.CharField()
    errors = ImportProblemSerializer(many=True, required=False)


def import_schema(what: str, done: type[serializers.Serializer], done_status: int, template: str):
    return extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            done_status: done,
            202: OpenApiResponse(JobReferenceSerializer, description="large file: imported by a background job"),
            400: OpenApiResponse(ImportRefusedSerializer, description="nothing saved: every problem by row and cell"),
            423: OpenApiResponse(ImportRefusedSerializer, description="a window is locked: nothing saved"),
        },
        summary=f"Import {what} from its Excel template (all rows or none)",
        description=f"The template to fill in: `GET {template}`. A file with more data rows than "
        "HOCBA_IMPORT_INLINE_ROWS (200) is imported by the worker: the answer is 202 with the job.",
    )


def template_schema(what: str):
    return extend_schema(
        responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY},
        summary=f"The Excel template of {what}: a sheet to fill in and a “Hướng dẫn” sheet explaining each column",
    )


class ImportApi(APIView, abc.ABC):
    """POST a filled-in template: checked here, imported here or by the worker."""

    parser_classes = [MultiPartParser, FormParser]

    @abc.abstractmethod
    def target(self, **kwargs) -> imports.Target:
        """The import this view serves, for the URL's arguments (each subclass names its own)."""

    def post(self, request, **kwargs):
        token = context.update(source="import")
        try:
            submitted = background.receive(
                access=request_school_access(request),
                target=self.target(**kwargs),
                upload=request.FILES.get("file"),
                account_id=request.user.pk,
            )
        finally:
            context.reset(token)
        if submitted.job_id is not None:
            return Response(background.job_reference(submitted.job_id), status=202)
        data, status = imports.result_data(submitted.resolved, submitted.outcome)
        return Response(data, status=status)


class TemplateApi(APIView, abc.ABC):
    @abc.abstractmethod
    def target(self, **kwargs) -> imports.Target:
        """The import this view serves, for the URL's arguments (each subclass names its own)."""

    def get(self, request, **kwargs):
        return xlsx_response(*imports.template_file(request_school_access(request), self.target(**kwargs)))


# --------------------------------------------------------------------------------------- students


class StudentsImportApi(ImportApi):
    required_capability = "profiles.edit"

    def target(self, *, pk: int) -> imports.Target:
        return imports.Target("students", pk)

    @import_schema(
        "a class's student list", StudentsImportedSerializer, 201, "/api/v1/classes/{id}/students/import/template/"
    )
    def post(self, request, **kwargs):
        return super().post(request, **kwargs)


class StudentsTemplateApi(TemplateApi):
    required_capability = "profiles.edit"

    def target(self, *, pk: int) -> imports.Target:
        return imports.Target("students", pk)

    @template_schema("a class's student list")
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)


# --------------------------------------------------------------------------------------- grade sheets


class SheetImportApi(ImportApi):
    required_capability = "sheets.enter"

    def target(self, *, pk: int, subject: int, term: int) -> imports.Target:
        return imports.Target("sheet", pk, subject_id=subject, term=term)

    @import_schema(
        "a grade sheet (class × subject × term)",
        CellsImportedSerializer,
        200,
        "/api/v1/classes/{id}/sheets/{subject}/{term}/import/template/",
    )
    def post(self, request, **kwargs):
        return super().post(request, **kwargs)


class SheetTemplateApi(TemplateApi):
    required_capability = "school.enter"  # the sheet as it stands: whoever may read it (the service decides)

    def target(self, *, pk: int, subject: int, term: int) -> imports.Target:
        return imports.Target("sheet", pk, subject_id=subject, term=term)

    @template_schema("a grade sheet, with its students and current values")
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)


# --------------------------------------------------------------------------------------- TT27 qualities


class QualitiesImportApi(ImportApi):
    required_capability = "class.enter"

    def target(self, *, pk: int, term: int, checkpoint: str) -> imports.Target:
        return imports.Target("qualities", pk, term=term, checkpoint=checkpoint)

    @import_schema(
        "a primary class's qualities and competencies at a checkpoint (TT27; checkpoint mid or end)",
        CellsImportedSerializer,
        200,
        "/api/v1/classes/{id}/qualities/{term}/{checkpoint}/import/template/",
    )
    def post(self, request, **kwargs):
        return super().post(request, **kwargs)


class QualitiesTemplateApi(TemplateApi):
    required_capability = "class.enter"

    def target(self, *, pk: int, term: int, checkpoint: str) -> imports.Target:
        return imports.Target("qualities", pk, term=term, checkpoint=checkpoint)

    @template_schema("a checkpoint's qualities and competencies, with the class's pupils and current levels")
    def get(self, request, **kwargs):
        return super().get(request, **kwargs)
