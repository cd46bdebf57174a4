"""API v1 for units, schools, accounts and memberships. Rows are limited to the requester's scope."""

from __future__ import annotations

from dataclasses import asdict

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from hocba.kernel.access import request_access
from hocba.kernel.errors import DomainError, NotAllowed, NotFound
from hocba.kernel.permissions import SIGNED_IN, body_id
from hocba.kernel.spreadsheets import check_upload_size
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..models import AdministrativeUnit, School
from ..services import accounts as account_services
from ..services import school_files
from ..services import schools as school_services
from ..services import units as unit_services
from ..services.jobs import job_url
from . import serializers as s


def _unit_in_scope(request, pk: int, capability: str = "units.view") -> AdministrativeUnit:
    unit = None
    if selectors.unit_in_scope(request_access(request), unit_id=pk, capability=capability):
        unit = selectors.unit_get(unit_id=pk)
    if unit is None:
        raise NotFound("units.not_found", _("Không tìm thấy đơn vị trong phạm vi của bạn."))
    return unit


def _school_in_scope(request, pk: int, capability: str = "schools.view") -> School:
    school = None
    if selectors.school_in_scope(request_access(request), school_id=pk, capability=capability):
        school = selectors.school_get(school_id=pk)
    if school is None:
        raise NotFound("schools.not_found", _("Không tìm thấy trường trong phạm vi của bạn."))
    return school


def _body_unit_in_scope(request, name: str, capability: str) -> None:
    """The unit a write names in its body, refused (404, as a unit outside the scope is) before the body is
    validated; a body naming none is left to the validation."""
    pk = body_id(request, name)
    if pk is not None:
        _unit_in_scope(request, pk, capability)


def _grant_scope(request) -> tuple[AdministrativeUnit | None, School | None]:
    """The unit or school an account or membership is for, and whether the requester may grant there — asked
    before the rest of the body is validated."""
    unit_id, school_id = body_id(request, "unit_id"), body_id(request, "school_id")
    unit = selectors.unit_get(unit_id=unit_id) if unit_id else None
    school = selectors.school_get(school_id=school_id) if school_id else None
    if (unit_id and unit is None) or (school_id and school is None):
        raise NotFound("scope.not_found", _("Không tìm thấy phạm vi."))
    role = request.data.get("role") if hasattr(request.data, "get") else None
    account_services.grant_scope_authorise(
        actor=request.user, role=role if isinstance(role, str) else None, unit=unit, school=school
    )
    return unit, school


def _scope_ids(request, capability: str) -> tuple[set[int], set[int]]:
    school = getattr(request, "tenant", None)
    return selectors.scope_ids(
        request_access(request), capability=capability, school_id=school.pk if school is not None else None
    )


class UnitListApi(APIView):
    required_capability = "units.view"
    write_capability = "units.manage"

    @extend_schema(responses=s.UnitNodeSerializer(many=True), summary="Units in scope, as in force today")
    def get(self, request):
        acc = request_access(request)
        tree = acc.tree or selectors.unit_tree_on()
        visible = acc.units_with("units.view")
        nodes = [asdict(n) for uid, n in sorted(tree.nodes.items()) if uid in visible]
        return Response(s.UnitNodeSerializer(nodes, many=True).data)

    @extend_schema(request=s.UnitCreateSerializer, responses={201: s.UnitNodeSerializer}, summary="Create a unit")
    def post(self, request):
        _body_unit_in_scope(request, "parent_id", "units.manage")
        ser = s.UnitCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        parent = _unit_in_scope(request, d["parent_id"], "units.manage")
        unit = unit_services.unit_create(
            actor=request.user,
            kind=d["kind"],
            name=d["name"],
            official_code=d["official_code"],
            parent=parent,
            valid_from=d.get("valid_from"),
        )
        node = selectors.unit_tree_on(d.get("valid_from")).nodes[unit.pk]
        return Response(s.UnitNodeSerializer(asdict(node)).data, status=status.HTTP_201_CREATED)


class UnitDetailApi(APIView):
    required_capability = "units.view"

    @extend_schema(responses=s.UnitVersionSerializer(many=True), summary="A unit's history of names, codes and parents")
    def get(self, request, pk: int):
        unit = _unit_in_scope(request, pk)
        versions = selectors.unit_versions(unit_id=unit.pk)
        return Response(s.UnitVersionSerializer([asdict(v) for v in versions], many=True).data)


class UnitOperationApi(APIView):
    required_capability = "units.manage"
    operation = ""

    def get_serializer_class(self):
        return s.UnitRenameSerializer if self.operation == "rename" else s.UnitTargetSerializer

    def post(self, request, pk: int):
        unit = _unit_in_scope(request, pk, "units.manage")
        if self.operation != "rename":
            _body_unit_in_scope(request, "target_id", "units.manage")
        ser = self.get_serializer_class()(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        if self.operation == "rename":
            unit_services.unit_rename(
                actor=request.user,
                unit=unit,
                name=d["name"],
                official_code=d.get("official_code") or None,
                on=d.get("on"),
            )
            return Response(status=status.HTTP_204_NO_CONTENT)
        target = _unit_in_scope(request, d["target_id"], "units.manage")
        if self.operation == "move":
            unit_services.unit_move(actor=request.user, unit=unit, parent=target, on=d.get("on"))
            return Response(status=status.HTTP_204_NO_CONTENT)
        moved = unit_services.unit_merge(actor=request.user, source=unit, target=target, on=d.get("on"))
        return Response(s.MergeResultSerializer(moved).data)


class UnitRenameApi(UnitOperationApi):
    operation = "rename"

    @extend_schema(request=s.UnitRenameSerializer, responses={204: None}, summary="Rename a unit from a date")
    def post(self, request, pk: int):
        return super().post(request, pk)


class UnitMoveApi(UnitOperationApi):
    operation = "move"

    @extend_schema(request=s.UnitTargetSerializer, responses={204: None}, summary="Move a unit under another")
    def post(self, request, pk: int):
        return super().post(request, pk)


class UnitMergeApi(UnitOperationApi):
    operation = "merge"

    @extend_schema(
        request=s.UnitTargetSerializer,
        responses=s.MergeResultSerializer,
        summary="Merge a unit into another; its units, schools and staff scopes follow",
    )
    def post(self, request, pk: int):
        return super().post(request, pk)


class SchoolListApi(APIView):
    required_capability = "schools.view"
    write_capability = "schools.manage"

    @extend_schema(responses=s.SchoolSerializer(many=True), summary="Schools in scope")
    def get(self, request):
        ids = request_access(request).schools_with("schools.view")
        return Response(s.SchoolSerializer([asdict(x) for x in selectors.school_list(school_ids=ids)], many=True).data)

    @extend_schema(
        request=s.SchoolCreateSerializer, responses={201: s.SchoolSerializer}, summary="Create a school and its schema"
    )
    def post(self, request):
        if not request_access(request).has("schools.manage"):
            raise NotAllowed("schools.not_allowed", _("Bạn không có quyền tạo trường."))
        _body_unit_in_scope(request, "unit_id", "schools.manage")
        ser = s.SchoolCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        unit = _unit_in_scope(request, d["unit_id"], "schools.manage")
        school = school_services.school_create(
            actor=request.user, code=d["code"], name=d["name"], levels=d["levels"], unit=unit, slug=d["slug"]
        )
        info = selectors.school_list(school_ids=[school.pk])[0]
        return Response(s.SchoolSerializer(asdict(info)).data, status=status.HTTP_201_CREATED)


class SchoolProvisionApi(APIView):
    required_capability = "schools.manage"

    @extend_schema(
        request={"multipart/form-data": s.ProvisionSerializer},
        responses={200: s.ProvisionReportSerializer, 202: s.ProvisionJobSerializer},
        summary="Create schools from a CSV/XLSX file. The file is read and checked at once (a file that cannot be "
        "read is refused, nothing queued); dry_run checks every row and answers with a report per row (200); "
        "otherwise a background job creates the schools (202): GET status_url for its progress and, once it has "
        "ended, each row's outcome. A file with refused rows creates nothing unless create_valid; each school is "
        "created on its own, so one that fails does not stop the others. Template: "
        "/manage/schools/provision/template.xlsx (or .csv).",
    )
    def post(self, request):
        ser = s.ProvisionSerializer(data=request.data)
        if not ser.is_valid():
            if "file" in ser.errors:
                raise DomainError("provision.no_file", _("Hãy chọn một tệp CSV hoặc XLSX."), field="file")
            raise DomainError(
                "invalid", _("Dữ liệu chưa hợp lệ ở: %(fields)s."), params={"fields": ", ".join(sorted(ser.errors))}
            )
        d = ser.validated_data
        upload = d["file"]
        check_upload_size(upload.size)
        content = upload.read()
        if not d["dry_run"]:
            job_id = school_files.schools_provision_start(
                actor=request.user,
                access=request_access(request),
                name=upload.name,
                content=content,
                create_valid=d["create_valid"],
                back_url="/manage/schools/provision/",
            )
            data = {
                "job_id": job_id,
                "state": "queued",
                "status_url": f"/api/v1/jobs/{job_id}/",
                "page_url": job_url(job_id),
            }
            return Response(data, status=status.HTTP_202_ACCEPTED)
        rows = school_files.provision_rows_check(upload.name, content)
        report = school_services.schools_provision(
            actor=request.user,
            rows=rows,
            dry_run=True,
            create_valid=d["create_valid"],
            most=school_files.max_schools_per_job(),
        )
        return Response(report.as_dict())


class SchoolDetailApi(APIView):
    required_capability = "schools.view"

    @extend_schema(
        responses=s.PlacementSerializer(many=True), summary="Which units oversaw the school, from when to when"
    )
    def get(self, request, pk: int):
        school = _school_in_scope(request, pk)
        rows = selectors.school_placement_history(school_id=school.pk)
        return Response(s.PlacementSerializer([asdict(p) for p in rows], many=True).data)


class SchoolMoveApi(APIView):
    required_capability = "schools.manage"

    @extend_schema(request=s.UnitTargetSerializer, responses={204: None}, summary="Move a school to another unit")
    def post(self, request, pk: int):
        school = _school_in_scope(request, pk, "schools.manage")
        _body_unit_in_scope(request, "target_id", "schools.manage")
        ser = s.UnitTargetSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        unit = _unit_in_scope(request, ser.validated_data["target_id"], "schools.manage")
        school_services.school_move(actor=request.user, school=school, unit=unit, on=ser.validated_data.get("on"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountListApi(APIView):
    required_capability = "accounts.view"
    write_capability = "accounts.manage"

    @extend_schema(responses=s.AccountSerializer(many=True), summary="Accounts holding a role in scope")
    def get(self, request):
        school_ids, unit_ids = _scope_ids(request, "accounts.view")
        rows = selectors.membership_list(school_ids=school_ids, unit_ids=unit_ids)
        seen: dict[int, dict] = {}
        for m in rows:
            seen.setdefault(
                m.account_id, {"id": m.account_id, "username": m.username, "full_name": m.full_name, "email": m.email}
            )
        return Response(s.AccountSerializer(list(seen.values()), many=True).data)

    @extend_schema(
        request=s.AccountCreateSerializer,
        responses={201: s.AccountSerializer},
        summary="Create an account with its first role in a unit or school of your scope",
    )
    def post(self, request):
        _grant_scope(request)
        ser = s.AccountCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        unit = selectors.unit_get(unit_id=d["unit_id"]) if d.get("unit_id") else None
        school = selectors.school_get(school_id=d["school_id"]) if d.get("school_id") else None
        if (d.get("unit_id") and unit is None) or (d.get("school_id") and school is None):
            raise NotFound("scope.not_found", _("Không tìm thấy phạm vi."))
        account = account_services.account_create(
            actor=request.user,
            username=d["username"],
            full_name=d["full_name"],
            email=d.get("email", ""),
            password=d["password"],
            role=d["role"],
            unit=unit,
            school=school,
        )
        return Response(s.AccountSerializer(account).data, status=status.HTTP_201_CREATED)


class MembershipListApi(APIView):
    required_capability = "accounts.view"
    write_capability = "memberships.grant"

    @extend_schema(responses=s.MembershipSerializer(many=True), summary="Memberships in force in scope")
    def get(self, request):
        school_ids, unit_ids = _scope_ids(request, "accounts.view")
        rows = selectors.membership_list(school_ids=school_ids, unit_ids=unit_ids)
        return Response(s.MembershipSerializer([asdict(m) for m in rows], many=True).data)

    @extend_schema(
        request=s.MembershipGrantSerializer,
        responses={201: s.MembershipSerializer},
        summary="Grant a role (only roles you may grant, only in your scope)",
    )
    def post(self, request):
        _grant_scope(request)
        ser = s.MembershipGrantSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        account = selectors.account_get(account_id=d["account_id"])
        unit = selectors.unit_get(unit_id=d["unit_id"]) if d.get("unit_id") else None
        school = selectors.school_get(school_id=d["school_id"]) if d.get("school_id") else None
        if account is None or (d.get("unit_id") and unit is None) or (d.get("school_id") and school is None):
            raise NotFound("scope.not_found", _("Không tìm thấy tài khoản hoặc phạm vi."))
        m = account_services.membership_grant(
            actor=request.user,
            account=account,
            role=d["role"],
            unit=unit,
            school=school,
            valid_from=d.get("valid_from"),
            valid_to=d.get("valid_to"),
        )
        info = next(
            x
            for x in selectors.membership_list(
                school_ids=[m.school_id] if m.school_id else [],
                unit_ids=[m.unit_id] if m.unit_id else [],
                include_ended=True,
            )
            if x.id == m.id
        )
        return Response(s.MembershipSerializer(asdict(info)).data, status=status.HTTP_201_CREATED)


class MembershipEndApi(APIView):
    required_capability = "memberships.grant"

    @extend_schema(request=None, responses={204: None}, summary="End a membership today")
    def post(self, request, pk: int):
        membership = selectors.membership_get(membership_id=pk)
        if membership is None:
            raise NotFound("memberships.not_found", _("Không tìm thấy vai trò."))
        account_services.membership_end(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    required_capability = SIGNED_IN

    @extend_schema(responses=s.MembershipSerializer(many=True), summary="Your own roles in force today")
    def get(self, request):
        rows = selectors.account_memberships(account_id=request.user.pk)
        return Response(s.MembershipSerializer([asdict(m) for m in rows], many=True).data)
