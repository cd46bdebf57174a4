"""API v1: the homeroom teachers' monthly duty for the province and unit boards (Long An reg. art. 7.2) — per school
of the requester's scope, the classes that had no attendance or conduct update in a month, from the public rows the
beat job writes (``tenants.duty``). Aggregates only: class names and counts, no student."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from hocba.kernel.access import request_access
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..duty import parse_month
from ..selectors.duty import latest_checked_month, monthly_duty_board


class DutyClassSerializer(serializers.Serializer):
    class_id = serializers.IntegerField()
    class_name = serializers.CharField()
    grade = serializers.IntegerField()
    homeroom = serializers.BooleanField(help_text="the class has a homeroom teacher (who was reminded)")


class DutySchoolSerializer(serializers.Serializer):
    school_id = serializers.IntegerField()
    school_name = serializers.CharField()
    checked_at = serializers.DateTimeField()
    classes = serializers.IntegerField(help_text="classes of the year with students in the month")
    classes_without_update = serializers.IntegerField()
    teachers_notified = serializers.IntegerField()
    without_update = DutyClassSerializer(many=True)


class DutyBoardSerializer(serializers.Serializer):
    month = serializers.CharField(allow_null=True, help_text="mm/yyyy; null when no month was checked yet")
    schools_in_scope = serializers.IntegerField()
    schools_checked = serializers.IntegerField()
    classes = serializers.IntegerField()
    classes_without_update = serializers.IntegerField()
    schools = DutySchoolSerializer(many=True)


class MonthlyDutyApi(APIView):
    required_capability = "schools.view"

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="mm/yyyy or yyyy-mm; by default the latest checked")],
        responses=DutyBoardSerializer,
        summary="Classes without a monthly attendance or conduct update, per school in scope",
    )
    def get(self, request):
        school_ids = request_access(request).schools_with("schools.view")
        asked = request.query_params.get("month")
        month = parse_month(asked) if asked else latest_checked_month(school_ids)
        rows = monthly_duty_board(school_ids=school_ids, month=month) if month else []
        data = {
            "month": f"{month:%m/%Y}" if month else None,
            "schools_in_scope": len(school_ids),
            "schools_checked": len(rows),
            "classes": sum(r.classes for r in rows),
            "classes_without_update": sum(r.classes_without_update for r in rows),
            "schools": [
                {
                    "school_id": r.school_id,
                    "school_name": r.school_name,
                    "checked_at": r.checked_at,
                    "classes": r.classes,
                    "classes_without_update": r.classes_without_update,
                    "teachers_notified": r.teachers_notified,
                    "without_update": r.without_update,
                }
                for r in rows
            ],
        }
        return Response(DutyBoardSerializer(data).data)
