"""Read grants on the platform site: an inspector or officer asks a school in scope to let them read named records,
sees their requests and the school's answers on the school's page, and may end a grant early."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin

from .. import forms, perschool, selectors
from ..models import School
from ..reminders import site_url
from ..selectors.grants import grant_list, grant_of_holder
from ..services import grants as grant_services
from .common import access, refuse, report_error

OUT_OF_SCOPE = gettext_lazy("Trường này nằm ngoài phạm vi bạn được xin quyền xem học bạ.")


def _form(school: School, data=None) -> forms.AccessGrantRequestForm:
    return forms.AccessGrantRequestForm(
        data,
        classes=perschool.grant_class_choices(school.schema_name) if school.status == "active" else [],
        max_days=grant_services.max_days(),
        prefix="readgrant",
    )


def grant_context(request, school: School, domain: str) -> dict:
    """What the school's page shows a person who may ask it for a read grant: the form and their own grants."""
    if not access(request).has_in_school("grants.request", school.pk):
        return {}
    mine = [
        {"grant": g, "read_url": site_url(domain, f"/grants/{g.id}/read/")}
        for g in grant_list(school_id=school.pk, account_id=request.user.pk)
    ]
    return {"read_grant_form": _form(school) if school.status == "active" else None, "my_read_grants": mine}


class GrantRequestView(CapabilityRequiredMixin, View):
    required_capability = "grants.request"

    def post(self, request, pk: int):
        school = selectors.school_get(school_id=pk)
        if school is None:
            raise Http404
        if not access(request).has_in_school("grants.request", school.pk) or school.status != "active":
            return refuse(request, OUT_OF_SCOPE)
        form = _form(school, request.POST)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect("school_detail", pk)
        names = form.names()
        student_class = form.cleaned_data.get("student_class")
        if names and not student_class:
            messages.error(request, _("Chọn lớp của các học sinh được nêu tên."))
            return redirect("school_detail", pk)
        targets = perschool.grant_targets(
            school.schema_name,
            class_ids=form.cleaned_data.get("class_ids") or [],
            student_class_id=student_class,
            names=names,
        )
        if targets["unknown_names"]:
            messages.error(
                request,
                _("Lớp đã chọn không có học sinh: %(names)s.") % {"names": ", ".join(targets["unknown_names"])},
            )
            return redirect("school_detail", pk)
        label_parts = [_("Lớp %(c)s") % {"c": name} for _pk, name in targets["classes"]]
        label_parts += [f"{name} ({class_name})" for _pk, name, class_name in targets["students"]]
        try:
            grant_services.grant_request(
                actor=request.user,
                school=school,
                class_ids=[c for c, _n in targets["classes"]],
                student_ids=[s for s, _n, _c in targets["students"]],
                targets_label="; ".join(label_parts),
                purpose=form.cleaned_data.get("purpose") or "",
                until=form.cleaned_data.get("until"),
            )
        except DomainError as exc:
            report_error(request, exc)
            return redirect("school_detail", pk)
        messages.success(request, _("Đã gửi đề nghị xem học bạ; hiệu trưởng của trường sẽ duyệt."))
        return redirect("school_detail", pk)


class GrantEndView(CapabilityRequiredMixin, View):
    """The holder ends their own grant before its time."""

    required_capability = "grants.request"

    def post(self, request, pk: int):
        grant = grant_of_holder(grant_id=pk, account_id=request.user.pk)
        if grant is None:
            return refuse(request, gettext_lazy("Không tìm thấy quyền xem này."), status=404)
        try:
            grant_services.grant_revoke(actor=request.user, grant_id=grant.id)
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("Đã kết thúc quyền xem học bạ."))
        return redirect("school_detail", grant.school_id)
