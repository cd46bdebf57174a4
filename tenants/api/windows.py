"""API v1 for open/lock windows and their exceptions (DESIGN §5), on the platform site and a school's.

Platform site: the windows in the requester's scope; create, change, cancel, preview, import a year's
calendar. A school's site: the windows that apply to that school; the principal's early lock (a
school-tier window) and requests for exceptions. Every refusal answers 4xx with ``code``, ``detail``
(Vietnamese) and ``detail_en``; the services decide, and nothing is saved when they refuse.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from hocba.kernel.access import request_access
from hocba.kernel.errors import DomainError, NotAllowed, NotFound, both_languages
from hocba.kernel.parsers import FormParser, MultiPartParser
from hocba.kernel.permissions import body_id
from hocba.kernel.schoolyear import school_year_of, year_param
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import perschool
from ..models import (
    AdministrativeUnit,
    DataCategory,
    ExceptionStatus,
    School,
    SchoolLevel,
    Window,
    WindowException,
)
from ..selectors import unit_tree_on
from ..selectors.windows import (
    exception_with_people,
    exceptions_in_scope,
    exceptions_of_school,
    school_by_id,
    school_names,
    scope_name,
    unit_by_id,
    window_in_scope,
    window_not_cancelled,
    window_with_setter,
    windows_for_school,
    windows_in_scope,
)
from ..services import windows as svc
from ..windows import NO_SUCH_REQUEST, NO_SUCH_WINDOW, WindowAuthority, window_state
from ..windows_import import DATETIME_INPUT_FORMATS, calendar_import, check_upload_size

MOMENT_FORMATS = [*DATETIME_INPUT_FORMATS, "iso-8601"]
INVALID_INPUT = _("Dữ liệu chưa hợp lệ ở: %(fields)s.")


# ------------------------------------------------------------------------------------- serializers


class WindowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tier = serializers.CharField()
    unit_id = serializers.IntegerField(allow_null=True)
    school_id = serializers.IntegerField(allow_null=True)
    scope = serializers.CharField()
    grades = serializers.ListField(child=serializers.IntegerField())
    category = serializers.CharField()
    category_label = serializers.CharField()
    year_start = serializers.IntegerField()
    opens_at = serializers.DateTimeField()
    locks_at = serializers.DateTimeField()
    state = serializers.CharField(help_text="not_open | open | locked | cancelled")
    set_by = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    can_edit = serializers.BooleanField()


class WindowCreateSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="the unit (a province for a province-tier window); or school_id"
    )
    school_id = serializers.IntegerField(required=False, allow_null=True, help_text="a school-tier lock")
    category = serializers.ChoiceField(choices=DataCategory.values)
    grades = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    levels = serializers.ListField(
        child=serializers.ChoiceField(choices=SchoolLevel.values), required=False, default=list
    )
    year_start = serializers.IntegerField(
        required=False,
        min_value=2000,
        max_value=2100,
        help_text="default: the school year of opens_at (years start on 1 August)",
    )
    opens_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, help_text="dd/mm/yyyy HH:MM (local) or ISO 8601")
    locks_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, help_text="dd/mm/yyyy HH:MM (local) or ISO 8601")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class WindowPreviewSerializer(WindowCreateSerializer):
    window_id = serializers.IntegerField(required=False, allow_null=True, help_text="preview a change to this window")
    category = serializers.ChoiceField(choices=DataCategory.values, required=False)
    opens_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, required=False, allow_null=True)
    locks_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, required=False, allow_null=True)


class WindowUpdateSerializer(serializers.Serializer):
    opens_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, required=False)
    locks_at = serializers.DateTimeField(input_formats=MOMENT_FORMATS, required=False)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class HigherWindowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tier = serializers.CharField()
    scope = serializers.CharField()
    category = serializers.CharField()
    grades = serializers.ListField(child=serializers.IntegerField())
    opens_at = serializers.DateTimeField()
    locks_at = serializers.DateTimeField()
    set_by = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    detail_en = serializers.CharField()
    field = serializers.CharField(required=False)


class PreviewSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="saving would be accepted")
    tier = serializers.CharField()
    schools = serializers.IntegerField(
        help_text="schools placed under the scope today (by level when grades are named)"
    )
    schools_with_figures = serializers.IntegerField()
    students = serializers.IntegerField(allow_null=True, help_text="from the schools' rollups; null: no figures yet")
    classes = serializers.IntegerField(
        allow_null=True, help_text="the classes of the year, from the schools' rollups; null: no figures yet"
    )
    grades = serializers.ListField(child=serializers.IntegerField())
    grades_filtered = serializers.BooleanField()
    errors = ErrorSerializer(many=True)
    higher = HigherWindowSerializer(many=True)


class ExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    window_id = serializers.IntegerField()
    window_tier = serializers.CharField()
    window_category = serializers.CharField()
    school_id = serializers.IntegerField()
    school = serializers.CharField()
    class_ids = serializers.ListField(child=serializers.IntegerField())
    student_ids = serializers.ListField(child=serializers.IntegerField())
    until = serializers.DateTimeField()
    reason = serializers.CharField()
    status = serializers.CharField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    can_decide = serializers.BooleanField()


class ExceptionRequestSerializer(serializers.Serializer):
    window_id = serializers.IntegerField()
    class_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    student_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    until = serializers.DateTimeField(input_formats=MOMENT_FORMATS)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ImportSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(required=False, allow_null=True)
    school_id = serializers.IntegerField(required=False, allow_null=True)
    year_start = serializers.IntegerField(min_value=2000, max_value=2100)
    file = serializers.FileField()


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    ok = serializers.BooleanField()
    category = serializers.CharField()
    grades = serializers.ListField(child=serializers.IntegerField())
    opens_at = serializers.CharField(allow_null=True)
    locks_at = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    code = serializers.CharField(allow_null=True)
    detail = serializers.CharField(allow_null=True)
    detail_en = serializers.CharField(allow_null=True)
    window_id = serializers.IntegerField(allow_null=True)


class ImportReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    year_start = serializers.IntegerField()
    rows = ImportRowSerializer(many=True)


# ------------------------------------------------------------------------------------------ helpers


def valid(serializer_class, request, **kwargs) -> dict:
    """The validated data, or a 400 in both languages naming the fields (DRF's messages under ``errors``)."""
    ser = serializer_class(data=request.data, **kwargs)
    if not ser.is_valid():
        names = ", ".join(sorted(ser.errors))
        raise DomainError(
            "windows.invalid_input",
            INVALID_INPUT,
            params={"fields": names},
            field=next(iter(ser.errors), None),
            extra={"errors": ser.errors},
        )
    return ser.validated_data


def not_found(message=NO_SUCH_WINDOW) -> NotFound:
    return NotFound("windows.not_found", message)


def site_school(request) -> School | None:
    return getattr(request, "tenant", None)


def scope_from(request, d: dict) -> tuple[AdministrativeUnit | None, School | None]:
    """The unit or school a new window (or calendar) is for. On a school's site: that school only."""
    school = site_school(request)
    unit_id, school_id = d.get("unit_id"), d.get("school_id")
    if school is not None:
        if unit_id or (school_id and school_id != school.pk):
            raise DomainError(
                "windows.school_site_scope",
                _("Trên trang của trường chỉ đặt lịch khóa cho chính trường."),
                field="unit_id",
            )
        return None, school_by_id(school.pk)
    if bool(unit_id) == bool(school_id):
        raise DomainError("windows.scope", _("Chọn đúng một phạm vi: unit_id hoặc school_id."), field="unit_id")
    if unit_id:
        unit = unit_by_id(unit_id)
        if unit is None:
            raise NotFound("windows.scope_not_found", _("Không tìm thấy đơn vị."))
        return unit, None
    target = school_by_id(school_id)
    if target is None:
        raise NotFound("windows.scope_not_found", _("Không tìm thấy trường."))
    return None, target


def scope_authorised(request) -> tuple[AdministrativeUnit | None, School | None]:
    """The unit or school the body names, refused unless the requester may schedule there — before the rest of the
    body is validated, so a refusal tells nothing about the body."""
    unit, school = scope_from(
        request, {"unit_id": body_id(request, "unit_id"), "school_id": body_id(request, "school_id")}
    )
    svc.window_scope_authorise(actor=request.user, unit=unit, school=school)
    return unit, school


def year_of(d: dict) -> int:
    if d.get("year_start"):
        return d["year_start"]
    moment = d.get("opens_at") or d.get("locks_at")
    return school_year_of(timezone.localtime(moment).date() if moment else timezone.localdate())


def visible_windows(request, year: int | None, include_cancelled: bool = False) -> tuple[list[Window], dict[int, str]]:
    acc = request_access(request)
    school = site_school(request)
    if school is not None:
        windows = windows_for_school(school, year, include_cancelled=include_cancelled)
        tree = acc.tree or unit_tree_on(acc.day)
    else:
        windows, scope = windows_in_scope(acc, year, include_cancelled=include_cancelled)
        tree = scope.tree
    names = school_names(w.school_id for w in windows)
    return windows, {w.pk: scope_name(w, tree, names) for w in windows}


def window_get(request, pk: int) -> Window:
    school = site_school(request)
    if school is not None:
        window = next((w for w in windows_for_school(school, None, include_cancelled=True) if w.pk == pk), None)
    else:
        window = window_in_scope(request_access(request), pk)
    if window is None:
        raise not_found()
    return window


def window_data(window: Window, scope: str, auth: WindowAuthority, now=None) -> dict:
    return {
        "id": window.pk,
        "tier": window.tier,
        "unit_id": window.unit_id,
        "school_id": window.school_id,
        "scope": scope,
        "grades": window.grades,
        "category": window.category,
        "category_label": str(DataCategory(window.category).label),
        "year_start": window.year_start,
        "opens_at": window.opens_at,
        "locks_at": window.locks_at,
        "state": window_state(window, now),
        "set_by": (window.set_by.full_name or window.set_by.username) if window.set_by else "",
        "reason": window.reason,
        "created_at": window.created_at,
        "cancelled_at": window.cancelled_at,
        "can_edit": auth.may_schedule(window) and not window.cancelled_at,
    }


def one_window(request, window: Window) -> dict:
    window = window_with_setter(window.pk)
    acc = request_access(request)
    tree = acc.tree or unit_tree_on(acc.day)
    return window_data(window, scope_name(window, tree, school_names([window.school_id])), WindowAuthority(acc))


# ------------------------------------------------------------------------------------------ windows


class WindowListApi(APIView):
    required_capability = "windows.view"
    write_capability = "windows.schedule"

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, description="school year (its first year); default: the current one"),
            OpenApiParameter("cancelled", bool, description="include cancelled windows"),
        ],
        responses=WindowSerializer(many=True),
        summary="Windows in scope (platform site) or that apply to this school (a school's site)",
    )
    def get(self, request):
        year = year_param(request.query_params.get("year"))
        windows, labels = visible_windows(request, year, request.query_params.get("cancelled") in ("1", "true"))
        auth, now = WindowAuthority(request_access(request)), timezone.now()
        return Response(WindowSerializer([window_data(w, labels[w.pk], auth, now) for w in windows], many=True).data)

    @extend_schema(
        request=WindowCreateSerializer,
        responses={201: WindowSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        summary="Create a window (a unit's or province's; on a school's site: the school's early lock)",
    )
    def post(self, request):
        unit, school = scope_authorised(request)
        d = valid(WindowCreateSerializer, request)
        window = svc.window_create(
            actor=request.user,
            category=d["category"],
            year_start=year_of(d),
            opens_at=d["opens_at"],
            locks_at=d["locks_at"],
            unit=unit,
            school=school,
            grades=d["grades"],
            levels=d["levels"],
            reason=d["reason"],
        )
        return Response(WindowSerializer(one_window(request, window)).data, status=status.HTTP_201_CREATED)


class WindowDetailApi(APIView):
    required_capability = "windows.view"
    write_capability = "windows.schedule"

    @extend_schema(responses=WindowSerializer, summary="One window in scope")
    def get(self, request, pk: int):
        return Response(WindowSerializer(one_window(request, window_get(request, pk))).data)

    @extend_schema(
        request=WindowUpdateSerializer,
        responses={200: WindowSerializer, 400: ErrorSerializer},
        summary="Change a window's times or reason (one row: effective at once for every school)",
    )
    def patch(self, request, pk: int):
        window = window_get(request, pk)
        svc.window_change_authorise(actor=request.user, window=window)
        d = valid(WindowUpdateSerializer, request)
        window = svc.window_update(
            actor=request.user,
            window=window,
            opens_at=d.get("opens_at"),
            locks_at=d.get("locks_at"),
            reason=d.get("reason"),
        )
        return Response(WindowSerializer(one_window(request, window)).data)


class WindowCancelApi(APIView):
    required_capability = "windows.schedule"

    @extend_schema(request=None, responses={200: WindowSerializer, 403: ErrorSerializer}, summary="Cancel a window")
    def post(self, request, pk: int):
        window = svc.window_cancel(actor=request.user, window=window_get(request, pk))
        return Response(WindowSerializer(one_window(request, window)).data)


class WindowPreviewApi(APIView):
    required_capability = "windows.schedule"

    @extend_schema(
        request=WindowPreviewSerializer,
        responses={200: PreviewSerializer, 400: ErrorSerializer},
        summary="What saving would do, saving nothing: the service's verdict, schools and students "
        "reached, the higher-tier windows for the same data",
    )
    def post(self, request):
        # A preview answers the service's verdict, an out-of-scope refusal included, among its errors; it saves
        # nothing and is refused earlier only to those without windows.schedule (the permission class).
        d = valid(WindowPreviewSerializer, request)
        window = window_get(request, d["window_id"]) if d.get("window_id") else None
        if window is not None:
            preview = svc.window_preview(
                request.user,
                window=window,
                year_start=window.year_start,
                opens_at=d.get("opens_at"),
                locks_at=d.get("locks_at"),
                reason=d.get("reason") or window.reason,
            )
        else:
            if not d.get("category"):
                raise DomainError(
                    "windows.invalid_input", INVALID_INPUT, params={"fields": "category"}, field="category"
                )
            unit, school = scope_from(request, d)
            preview = svc.window_preview(
                request.user,
                unit=unit,
                school=school,
                category=d["category"],
                year_start=year_of(d),
                opens_at=d.get("opens_at"),
                locks_at=d.get("locks_at"),
                grades=d["grades"],
                levels=d["levels"],
                reason=d["reason"],
            )
        return Response(PreviewSerializer(preview.as_dict()).data)


class WindowImportApi(APIView):
    required_capability = "windows.schedule"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportSerializer},
        responses={201: ImportReportSerializer, 400: ImportReportSerializer},
        summary="Import a year's calendar from XLSX (Loại dữ liệu, Khối, Mở lúc, Khóa lúc, Lý do): "
        "all rows or none, with a report per row",
        description="The template to fill in (with a “Hướng dẫn” sheet explaining each column): "
        "`GET /manage/windows/import/template.xlsx?year=<start year>` on the platform's address.",
    )
    def post(self, request):
        unit, school = scope_authorised(request)
        d = valid(ImportSerializer, request)
        upload = d["file"]
        check_upload_size(upload.size)
        report = calendar_import(
            actor=request.user, content=upload.read(), year_start=d["year_start"], unit=unit, school=school
        )
        data = report.as_dict()
        if not report.ok:
            texts = both_languages(_("Tệp có %(n)s dòng lỗi; chưa lưu dòng nào."), {"n": len(report.failed)})
            data.update(code="windows.import_failed", detail=texts["vi"], detail_en=texts["en"])
            return Response(data, status=status.HTTP_400_BAD_REQUEST)
        return Response(data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------------------- exceptions


def exception_data(e: WindowException, names: dict[int, str], auth: WindowAuthority, can_decide: bool) -> dict:
    return {
        "id": e.pk,
        "window_id": e.window_id,
        "window_tier": e.window.tier,
        "window_category": e.window.category,
        "school_id": e.school_id,
        "school": names.get(e.school_id, ""),
        "class_ids": e.class_ids,
        "student_ids": e.student_ids,
        "until": e.until,
        "reason": e.reason,
        "status": e.status,
        "requested_by": e.requested_by.full_name or e.requested_by.username,
        "requested_at": e.requested_at,
        "decided_by": (e.decided_by.full_name or e.decided_by.username) if e.decided_by else None,
        "decided_at": e.decided_at,
        "decision_note": e.decision_note,
        "can_decide": can_decide and e.status == ExceptionStatus.REQUESTED and auth.may_decide(e.window),
    }


def exceptions_visible(request):
    school = site_school(request)
    if school is not None:
        return exceptions_of_school(school.pk)
    qs, _scope = exceptions_in_scope(request_access(request))
    return qs


class ExceptionListApi(APIView):
    required_capability = "windows.view"

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=ExceptionStatus.values)],
        responses=ExceptionSerializer(many=True),
        summary="Requests for exceptions: in scope (platform site) or this school's (a school's site)",
    )
    def get(self, request):
        qs = exceptions_visible(request)
        wanted = request.query_params.get("status")
        if wanted in ExceptionStatus.values:
            qs = qs.filter(status=wanted)
        rows = list(qs.order_by("-requested_at")[:500])
        acc = request_access(request)
        names = school_names({e.school_id for e in rows})
        auth, can_decide = WindowAuthority(acc), acc.has("windows.decide")
        return Response(ExceptionSerializer([exception_data(e, names, auth, can_decide) for e in rows], many=True).data)

    @extend_schema(
        request=ExceptionRequestSerializer,
        responses={201: ExceptionSerializer, 400: ErrorSerializer},
        summary="Ask the tier that set a lock to let named classes or students write until a time "
        "(a school's site, the principal)",
    )
    def post(self, request):
        school = site_school(request)
        if school is None:
            if not request_access(request).has("windows.request"):
                raise NotAllowed("windows.request_not_allowed", _("Chỉ Hiệu trưởng mới xin mở khóa cho trường."))
            raise DomainError("windows.request_on_school_site", _("Đề nghị mở khóa được gửi từ trang của trường."))
        svc.exception_request_authorise(actor=request.user, school_id=school.pk)
        d = valid(ExceptionRequestSerializer, request)
        window = window_not_cancelled(d["window_id"])
        if window is None:
            raise not_found()
        unknown = perschool.unknown_class_or_student_ids(school.schema_name, d["class_ids"], d["student_ids"])
        if unknown:
            raise DomainError(
                "windows.unknown_ids",
                _("Có lớp hoặc học sinh không thuộc năm học hiện tại của trường."),
                field="class_ids",
                extra={"unknown": unknown},
            )
        exc = svc.exception_request(
            actor=request.user,
            window=window,
            school=school_by_id(school.pk),
            until=d["until"],
            reason=d["reason"],
            class_ids=d["class_ids"],
            student_ids=d["student_ids"],
        )
        exc = exception_with_people(exc.pk)
        acc = request_access(request)
        data = exception_data(exc, school_names([school.pk]), WindowAuthority(acc), acc.has("windows.decide"))
        return Response(ExceptionSerializer(data).data, status=status.HTTP_201_CREATED)


class ExceptionDecideApi(APIView):
    required_capability = "windows.decide"

    @extend_schema(
        request=DecideSerializer,
        responses={200: ExceptionSerializer, 403: ErrorSerializer},
        summary="Approve or refuse a request (the tier that set the lock, or the province above it)",
    )
    def post(self, request, pk: int):
        exception = exceptions_visible(request).filter(pk=pk).first()
        if exception is None:
            raise not_found(NO_SUCH_REQUEST)
        svc.exception_decide_authorise(actor=request.user, window=exception.window)
        d = valid(DecideSerializer, request)
        exception = svc.exception_decide(
            actor=request.user, exception=exception, approve=d["decision"] == "approve", note=d["note"]
        )
        exception = exception_with_people(exception.pk)
        acc = request_access(request)
        data = exception_data(
            exception, school_names([exception.school_id]), WindowAuthority(acc), acc.has("windows.decide")
        )
        return Response(ExceptionSerializer(data).data)
