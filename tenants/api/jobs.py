"""API v1: a background job's status (``/api/v1/jobs/<id>/``, on the platform's site and on a school's): its state,
counters and, once ended, a page of its rows' outcomes. The job page's progress bar polls it every second. Only those
who may see the job (``tenants.selectors.jobs.job_visible``) find it; anyone else gets 404."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from hocba.kernel.access import request_access, request_school
from hocba.kernel.errors import NotFound
from hocba.kernel.permissions import SIGNED_IN
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..selectors.jobs import ROWS_PER_PAGE, job_rows, job_visible


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class JobRowSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="the file's line, or the row's order")
    key = serializers.CharField(help_text="what the row is about: a school's name and code, a student's name")
    group = serializers.CharField(help_text="where it belongs: a unit, a class")
    outcome = serializers.ChoiceField(choices=["created", "updated", "skipped", "error", "moved", "stayed"])
    outcome_label = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField(help_text="ids for links, e.g. school_id")


class JobStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "partly_done", "failed"])
    state_label = serializers.CharField()
    finished = serializers.BooleanField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    ok = serializers.IntegerField()
    failed = serializers.IntegerField()
    percent = serializers.IntegerField()
    summary = serializers.CharField()
    error = JobErrorSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    page = serializers.IntegerField(allow_null=True, help_text="the page of rows given (once the job has ended)")
    pages = serializers.IntegerField(allow_null=True)
    rows = JobRowSerializer(many=True, allow_null=True)


class JobStatusApi(APIView):
    required_capability = SIGNED_IN  # the job's own capability, in its scope, is checked by the selector

    @extend_schema(
        parameters=[OpenApiParameter("page", int, description=f"page of rows ({ROWS_PER_PAGE} a page)")],
        responses=JobStatusSerializer,
        summary="A background job's progress and, once it has ended, its rows' outcomes",
    )
    def get(self, request, pk: int):
        school = request_school(request)
        job = job_visible(job_id=pk, access=request_access(request), school_id=school.pk if school else None)
        if job is None:
            raise NotFound("jobs.not_found", _("Không tìm thấy việc này."))
        data = {**job.as_dict(), "page": None, "pages": None, "rows": None}
        if job.finished:
            page = job_rows(job_id=job.id, page=request.query_params.get("page"))
            data.update(
                page=page.number,
                pages=page.paginator.num_pages,
                rows=[
                    {
                        "number": r.number,
                        "key": r.key,
                        "group": r.group,
                        "outcome": r.outcome,
                        "outcome_label": r.outcome_label,
                        "message": r.message,
                        "data": r.data,
                    }
                    for r in page.object_list
                ],
            )
        return Response(data)
