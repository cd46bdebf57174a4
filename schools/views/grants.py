"""Read grants on the school's site: the principal decides the requests of unit and province officers, revokes a
grant, and sees every read under them; a grant's holder opens the granted records, read-only (no profile, sheet,
print, PDF or export), each read a platform audit entry."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from hocba.kernel.access import request_access
from hocba.kernel.errors import DomainError

from tenants.selectors.grants import grant_get, grant_list, grant_reads
from tenants.services import grants as grant_services

from ..selectors.scope import asked_year, granted_students, granted_years, not_found, student_granted
from .common import SchoolPage, SchoolTemplatePage, report
from .students import StudentRecordView


class GrantListView(SchoolTemplatePage):
    """The school's read grants: requests to decide, grants in force, ended ones, and every read under them."""

    required_capability = "grants.decide"
    template_name = "schools/grant_list.html"

    def get_context_data(self, **kwargs):
        school_id = self.request.tenant.pk
        grants = grant_list(school_id=school_id)
        return super().get_context_data(
            pending=[g for g in grants if g.status == "requested"],
            in_force=[g for g in grants if g.in_force],
            ended=[g for g in grants if g.status != "requested" and not g.in_force],
            reads=grant_reads(school_id=school_id),
            **kwargs,
        )


class GrantDecideView(SchoolPage):
    required_capability = "grants.decide"

    def post(self, request, pk: int):
        decision = request.POST.get("decision", "")
        if decision not in ("approve", "refuse"):
            report(request, DomainError("grants.bad_decision", _("Chọn duyệt hoặc từ chối.")))
            return redirect("grants:list")
        try:
            grant_services.grant_decide(
                actor=request.user,
                grant_id=pk,
                school_id=request.tenant.pk,
                approve=decision == "approve",
                note=request.POST.get("note", ""),
            )
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(
                request, _("Đã duyệt quyền xem học bạ.") if decision == "approve" else _("Đã từ chối đề nghị.")
            )
        return redirect("grants:list")


class GrantRevokeView(SchoolPage):
    required_capability = "grants.decide"

    def post(self, request, pk: int):
        try:
            grant_services.grant_revoke(actor=request.user, grant_id=pk, school_id=request.tenant.pk)
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(request, _("Đã thu hồi quyền xem học bạ."))
        return redirect("grants:list")


def _grant_in_force(request, grant_id: int):
    """The requester's grant in force at this school with that id (another's, another school's: absent)."""
    grant = request_access(request).read_grant(grant_id, request.tenant.pk)
    if grant is None:
        raise not_found()
    return grant


class GrantReadView(SchoolTemplatePage):
    """The holder's list of the records a grant opens."""

    required_capability = "records.view_granted"
    template_name = "schools/grant_read.html"

    def get_context_data(self, **kwargs):
        grant = _grant_in_force(self.request, self.kwargs["grant"])
        info = grant_get(grant_id=grant.grant_id, school_id=self.request.tenant.pk)
        return super().get_context_data(
            grant=info, students=granted_students(grant.student_ids, grant.class_ids), **kwargs
        )


class GrantedRecordView(StudentRecordView):
    """One granted record, read-only; every read a platform audit entry the school sees."""

    required_capability = "records.view_granted"
    granted = True

    def get(self, request, *args, **kwargs):
        self.grant = _grant_in_force(request, self.kwargs["grant"])
        context = self.get_context_data(grant=grant_get(grant_id=self.grant.grant_id, school_id=request.tenant.pk))
        grant_services.grant_read_record(
            actor=request.user,
            grant_id=self.grant.grant_id,
            school_id=request.tenant.pk,
            student_id=context["student"].pk,
            student_name=context["student"].full_name,
            year=context["year"].label,
        )
        return self.render_to_response(context)

    def student_and_record(self):
        return student_granted(
            self.grant.student_ids, self.grant.class_ids, self.kwargs["pk"], year_start=asked_year(self.request)
        )

    def years_of(self, student):
        return granted_years(self.grant.student_ids, self.grant.class_ids, student)
