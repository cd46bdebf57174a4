"""API v1: statistics for province and unit staff (``statistics.view``) — counts per level, grade, unit and school,
result distributions by grade, gender or ethnic group, completion day by day — and the board's school rows
(``boards.view``). Public tables only (``selectors.statistics``, ``selectors.boards``), the same filters, scope and
"< 5" rule as the pages: an unknown filter value or year answers 400, a unit or school outside the scope 404, with
``code``, ``detail`` (Vietnamese) and ``detail_en``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from hocba.kernel.access import request_access
from hocba.kernel.recordstates import STATES
from hocba.kernel.schoolyear import current_school_year
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import provisioning
from ..selectors import boards
from ..selectors import statistics as stats

FILTERS = [
    OpenApiParameter("year", str, description="the school year's first year (2025 or 2025-2026); default: the latest"),
    OpenApiParameter("level", str, description="primary | lower_secondary | upper_secondary"),
    OpenApiParameter("unit", int, description="a unit of your scope (its schools, below it too)"),
    OpenApiParameter("school", int, description='one school of your scope: result cells under 5 read "< 5"'),
    OpenApiParameter("grade", int, description="1–12"),
]


class FiltersSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    level = serializers.CharField(allow_blank=True)
    unit = serializers.IntegerField(allow_null=True, source="unit_id")
    school = serializers.IntegerField(allow_null=True, source="school_id")
    grade = serializers.IntegerField(allow_null=True)
    by = serializers.CharField()


class RecordsSerializer(serializers.Serializer):
    draft = serializers.IntegerField()
    submitted = serializers.IntegerField()
    approved = serializers.IntegerField()
    signed = serializers.IntegerField()
    locked = serializers.IntegerField()


class CountsSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="the school's or unit's id, the level's code, the grade; in by_unit also 'direct-<unit id>' (the"
        " schools placed in that unit itself, not below it) and 'other' (the scope's schools outside its units)"
    )
    label = serializers.CharField()
    schools = serializers.IntegerField()
    students = serializers.IntegerField()
    classes = serializers.IntegerField()
    records = RecordsSerializer()
    records_total = serializers.IntegerField()
    approved_pct = serializers.IntegerField(help_text="records approved, signed or locked, in per cent")
    sheets_required = serializers.IntegerField(help_text="sheets (assignment × term) of both terms")
    sheets_done = serializers.IntegerField()
    conduct_done = serializers.IntegerField(
        allow_null=True, help_text="conduct/qualities entered (students × terms); null when a level or grade is chosen"
    )
    profile_complete = serializers.IntegerField(allow_null=True)
    archived = serializers.IntegerField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    filters = FiltersSerializer()
    total = CountsSerializer()
    by_level = CountsSerializer(many=True)
    by_grade = CountsSerializer(many=True)
    by_unit = CountsSerializer(many=True)
    by_school = CountsSerializer(many=True)


class DistributionRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the grade, the gender (M/F) or the ethnic group's code (00: other)")
    label = serializers.CharField()
    counts = serializers.ListField(
        child=serializers.CharField(), help_text='one per value, in the order of `values`: a number or "< 5"'
    )
    total = serializers.IntegerField(allow_null=True, help_text='null for one school (the "< 5" rule)')


class MeasureSerializer(serializers.Serializer):
    measure = serializers.CharField()
    label = serializers.CharField()
    by = serializers.CharField()
    values = serializers.ListField(child=serializers.CharField())
    value_labels = serializers.ListField(child=serializers.CharField())
    masked = serializers.BooleanField(help_text='one school: cells under 5 read "< 5", no totals')
    rows = DistributionRowSerializer(many=True)


class DistributionsSerializer(serializers.Serializer):
    filters = FiltersSerializer()
    measures = MeasureSerializer(many=True)


class CompletionDaySerializer(serializers.Serializer):
    day = serializers.DateField(format="%d/%m/%Y")
    schools = serializers.IntegerField()
    sheets_required = serializers.IntegerField()
    sheets_done = serializers.IntegerField()
    records = serializers.IntegerField()
    approved_or_further = serializers.IntegerField()
    signed_or_further = serializers.IntegerField()
    sheets_pct = serializers.FloatField(allow_null=True)
    approved_pct = serializers.FloatField(allow_null=True)


class CompletionSerializer(serializers.Serializer):
    filters = FiltersSerializer()
    days = CompletionDaySerializer(many=True)


def _filters(request):
    acc = request_access(request)
    years, default = stats.statistics_years(acc, current=current_school_year())
    return acc, stats.statistics_filters(request.query_params, acc=acc, years=years, default_year=default)


def _counts(c: stats.Counts) -> dict:
    return {
        **{k: getattr(c, k) for k in ("key", "label", "schools", "students", "classes", "records")},
        "records_total": c.records_total,
        "approved_pct": c.approved_pct,
        **{k: getattr(c, k) for k in ("sheets_required", "sheets_done", "conduct_done", "profile_complete")},
        "archived": c.archived,
    }


class StatisticsSummaryApi(APIView):
    required_capability = stats.CAPABILITY

    @extend_schema(parameters=FILTERS, responses=SummarySerializer, summary="Counts per level, grade, unit and school")
    def get(self, request):
        acc, filters = _filters(request)
        s = stats.statistics_summary(acc, filters)
        data = {
            "filters": filters,
            "total": _counts(s.total),
            "by_level": [_counts(c) for c in s.by_level],
            "by_grade": [_counts(c) for c in s.by_grade],
            "by_unit": [_counts(c) for c in s.by_unit],
            "by_school": [_counts(c) for c in s.by_school],
        }
        return Response(SummarySerializer(data).data)


class StatisticsDistributionsApi(APIView):
    required_capability = stats.CAPABILITY

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter("by", str, description="grade (default) | gender | ethnicity"),
            OpenApiParameter("measure", str, description=" | ".join(stats.MEASURES) + "; default: every measure"),
        ],
        responses=DistributionsSerializer,
        summary="Results of the approved record books (TT22, TT27) by grade, gender or ethnic group",
    )
    def get(self, request):
        acc, filters = _filters(request)
        measure = (request.query_params.get("measure") or "").strip() or None
        tables = stats.statistics_distributions(acc, filters, measure=measure)
        data = {
            "filters": filters,
            "measures": [
                {
                    "measure": t.measure,
                    "label": t.label,
                    "by": t.by,
                    "values": t.values,
                    "value_labels": t.value_labels,
                    "masked": t.masked,
                    "rows": [{"key": r.key, "label": r.label, "counts": r.shown(), "total": r.total} for r in t.rows],
                }
                for t in tables
            ],
        }
        return Response(DistributionsSerializer(data).data)


class StatisticsCompletionApi(APIView):
    required_capability = stats.CAPABILITY

    @extend_schema(
        parameters=FILTERS, responses=CompletionSerializer, summary="Sheets done and records approved, day by day"
    )
    def get(self, request):
        acc, filters = _filters(request)
        days = stats.statistics_completion(acc, filters)
        return Response(CompletionSerializer({"filters": filters, "days": days}).data)


class BoardSchoolSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    moet_code = serializers.CharField()
    levels = serializers.ListField(child=serializers.CharField())
    unit_id = serializers.IntegerField(allow_null=True)
    unit_name = serializers.CharField()
    has_rollup = serializers.BooleanField()
    students = serializers.IntegerField()
    classes = serializers.IntegerField(allow_null=True)
    records = RecordsSerializer()
    records_total = serializers.IntegerField()
    approved_pct = serializers.IntegerField()
    signed_pct = serializers.IntegerField()
    open_requests = serializers.IntegerField()
    approved_exceptions = serializers.IntegerField()
    schema = serializers.CharField(help_text="ok | behind | failed")
    updated_at = serializers.DateTimeField(allow_null=True)
    reconciled_at = serializers.DateTimeField(allow_null=True)
    drift = serializers.IntegerField(help_text="figures the last reconciliation found wrong and fixed")
    lock_at = serializers.DateTimeField(allow_null=True)
    lock_records = serializers.IntegerField(allow_null=True)
    lock_approved_pct = serializers.IntegerField(allow_null=True)


class BoardSchoolsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    years = serializers.ListField(child=serializers.IntegerField())
    schools = BoardSchoolSerializer(many=True)


class BoardSchoolsApi(APIView):
    required_capability = boards.CAPABILITY

    @extend_schema(
        parameters=[
            OpenApiParameter("year", str, description="the school year's first year; default: the latest"),
            OpenApiParameter("unit", int),
            OpenApiParameter("school", int),
            OpenApiParameter("level", str),
            OpenApiParameter("schema", str, description="ok | behind | failed"),
            OpenApiParameter("q", str, description="name, code or unit; accents optional"),
            OpenApiParameter("sort", str, description=" | ".join(boards.SORTS) + "; a leading - sorts descending"),
        ],
        responses=BoardSchoolsSerializer,
        summary="The board's schools in your scope with their figures",
    )
    def get(self, request):
        acc = request_access(request)
        filters = boards.board_filters(request.query_params, acc=acc)
        years, default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=current_school_year())
        year = boards.board_year(request.query_params.get("year"), years=years, default=default)
        data = boards.board(acc, year=year, years=years, head=provisioning.migration_head().digest, filters=filters)
        rows = [
            {
                **{k: getattr(r, k) for k in BoardSchoolSerializer().fields if hasattr(r, k) and k != "records"},
                "levels": list(r.levels),
                "records": {s: getattr(r, s) for s in STATES},
                "records_total": r.records,
            }
            for r in data.schools
        ]
        return Response(BoardSchoolsSerializer({"year": data.year, "years": data.years, "schools": rows}).data)
