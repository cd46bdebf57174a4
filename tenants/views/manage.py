"""Administration pages for province and unit staff: units, schools, accounts, roles, audit."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView, View
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_texts
from hocba.kernel.roles import Role
from hocba.kernel.spreadsheets import check_upload_size
from hocba.kernel.text import search_text

from .. import forms, selectors
from ..models import AdministrativeUnit, School
from ..services import accounts as account_services
from ..services import school_files
from ..services import schools as school_services
from ..services import units as unit_services
from .common import access, chosen_outside, refuse, report_error
from .grants import grant_context


def _unit_choices(request, capability: str) -> list[tuple[int, str]]:
    acc = access(request)
    tree = acc.tree or selectors.unit_tree_on()
    allowed = acc.units_with(capability)
    out = []

    def walk(unit_id: int, depth: int) -> None:
        node = tree.nodes[unit_id]
        if unit_id in allowed:
            out.append((unit_id, f"{'— ' * depth}{node.name} ({node.official_code})"))
        for child in tree.children.get(unit_id, ()):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root.id, 0)
    return out


def _unit_or_404(pk: int) -> AdministrativeUnit:
    unit = selectors.unit_get(unit_id=pk)
    if unit is None:
        raise Http404
    return unit


def _school_or_404(pk: int) -> School:
    school = selectors.school_get(school_id=pk)
    if school is None:
        raise Http404
    return school


class UnitListView(CapabilityRequiredMixin, TemplateView):
    required_capability = "units.view"
    template_name = "tenants/unit_list.html"

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        tree = acc.tree or selectors.unit_tree_on()
        visible = acc.units_with("units.view")
        placements = selectors.school_placements_on(tree.day, unit_ids=visible)
        counts: dict[int, int] = {}
        for unit_id in placements.values():
            counts[unit_id] = counts.get(unit_id, 0) + 1
        rows = []

        def walk(unit_id: int, depth: int) -> None:
            if unit_id in visible:
                rows.append({"node": tree.nodes[unit_id], "depth": depth, "schools": counts.get(unit_id, 0)})
            for child in tree.children.get(unit_id, ()):
                walk(child, depth + 1)

        for root in tree.roots():
            walk(root.id, 0)
        query = search_text(self.request.GET.get("q"))
        if query:
            found = selectors.unit_ids_matching(query, tree.day)
            rows = [r for r in rows if r["node"].id in found]
        form = None
        if acc.has("units.manage"):
            form = forms.UnitCreateForm()
            form.fields["parent"].choices = _unit_choices(self.request, "units.manage")
        return super().get_context_data(rows=rows, form=form, query=query, **kwargs)


class UnitCreateView(CapabilityRequiredMixin, View):
    required_capability = "units.manage"

    def post(self, request):
        form = forms.UnitCreateForm(request.POST)
        form.fields["parent"].choices = _unit_choices(request, "units.manage")
        if chosen_outside(request, form, "parent"):
            return refuse(request)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect("unit_list")
        data = form.cleaned_data
        try:
            unit = unit_services.unit_create(
                actor=request.user,
                kind=data["kind"],
                name=data["name"],
                official_code=data["official_code"],
                parent=selectors.unit_get(unit_id=data["parent"]),
                valid_from=data["valid_from"],
            )
        except DomainError as exc:
            report_error(request, exc)
            return redirect("unit_list")
        messages.success(request, _("Đã tạo đơn vị."))
        return redirect("unit_detail", unit.pk)


class UnitDetailView(CapabilityRequiredMixin, TemplateView):
    required_capability = "units.view"
    template_name = "tenants/unit_detail.html"

    def get(self, request, *args, **kwargs):
        self.unit = _unit_or_404(kwargs["pk"])
        if not selectors.unit_in_scope(access(request), unit_id=self.unit.pk, capability="units.view"):
            return refuse(request)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        tree = acc.tree or selectors.unit_tree_on()
        unit = self.unit
        versions = selectors.unit_versions(unit_id=unit.pk)
        parent_names = selectors.unit_names_latest(unit_ids=[v.parent_id for v in versions if v.parent_id])
        can_manage = selectors.unit_in_scope(acc, unit_id=unit.pk, capability="units.manage")
        choices = [c for c in _unit_choices(self.request, "units.manage") if c[0] != unit.pk]
        ctx = {
            "unit": unit,
            "node": tree.nodes.get(unit.pk),
            "path": tree.path(unit.pk) if unit.pk in tree.nodes else [],
            "children": [tree.nodes[c] for c in tree.children.get(unit.pk, ())],
            "versions": [(v, parent_names.get(v.parent_id, "")) for v in versions],
            "placements": selectors.unit_school_placements(unit_id=unit.pk),
            "can_manage": can_manage,
            "memberships": selectors.membership_list(unit_ids=[unit.pk]),
            "can_grant": bool(acc.grantable_roles_in_unit(unit.pk)),
        }
        if can_manage:
            ctx["rename_form"] = forms.UnitRenameForm(initial={"name": ctx["node"].name if ctx["node"] else ""})
            move_form, merge_form = forms.UnitTargetForm(prefix="move"), forms.UnitTargetForm(prefix="merge")
            move_form.fields["target"].choices = choices
            merge_form.fields["target"].choices = choices
            ctx.update(move_form=move_form, merge_form=merge_form, close_form=forms.OnDateForm(prefix="close"))
        roles = sorted(acc.grantable_roles_in_unit(unit.pk), key=list(Role).index)
        if roles:
            ctx["grant_form"] = forms.MembershipGrantForm(roles=roles)
            ctx["account_form"] = forms.AccountCreateForm(roles=roles, prefix="new")
        return super().get_context_data(**ctx, **kwargs)


class UnitOperationView(CapabilityRequiredMixin, View):
    required_capability = "units.manage"

    def post(self, request, pk: int, operation: str):
        unit = _unit_or_404(pk)
        if not selectors.unit_in_scope(access(request), unit_id=pk, capability="units.manage"):
            return refuse(request)
        try:
            if operation == "rename":
                form = forms.UnitRenameForm(request.POST)
                if form.is_valid():
                    d = form.cleaned_data
                    unit_services.unit_rename(
                        actor=request.user,
                        unit=unit,
                        name=d["name"],
                        official_code=d["official_code"] or None,
                        on=d["on"],
                    )
            elif operation in ("move", "merge"):
                form = forms.UnitTargetForm(request.POST, prefix=operation)
                form.fields["target"].choices = _unit_choices(request, "units.manage")
                if chosen_outside(request, form, "target"):
                    return refuse(request)
                if form.is_valid():
                    target = selectors.unit_get(unit_id=form.cleaned_data["target"])
                    if operation == "move":
                        unit_services.unit_move(
                            actor=request.user, unit=unit, parent=target, on=form.cleaned_data["on"]
                        )
                    else:
                        unit_services.unit_merge(
                            actor=request.user, source=unit, target=target, on=form.cleaned_data["on"]
                        )
            elif operation == "close":
                form = forms.OnDateForm(request.POST, prefix="close")
                if form.is_valid():
                    unit_services.unit_close(actor=request.user, unit=unit, on=form.cleaned_data["on"])
            else:
                return refuse(request, status=404)
        except DomainError as exc:
            report_error(request, exc)
            return redirect("unit_detail", pk)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
        else:
            messages.success(request, _("Đã lưu thay đổi."))
        return redirect("unit_detail", pk)


class SchoolListView(CapabilityRequiredMixin, TemplateView):
    required_capability = "schools.view"
    template_name = "tenants/school_list.html"

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        ids = acc.schools_with("schools.view")
        query = search_text(self.request.GET.get("q"))
        schools = selectors.school_list(school_ids=ids, search=query)
        tree = acc.tree or selectors.unit_tree_on()
        ctx = {"schools": schools, "tree": tree, "query": query, "can_manage": acc.has("schools.manage")}
        if ctx["can_manage"]:
            form = forms.SchoolCreateForm()
            form.fields["unit"].choices = _unit_choices(self.request, "schools.manage")
            ctx.update(
                form=form, upload_form=forms.ProvisionUploadForm(), max_schools=school_files.max_schools_per_job()
            )
        ctx["rows"] = [(school, tree.nodes.get(school.unit_id)) for school in schools]
        return super().get_context_data(**ctx, **kwargs)


class SchoolCreateView(CapabilityRequiredMixin, View):
    required_capability = "schools.manage"

    def post(self, request):
        form = forms.SchoolCreateForm(request.POST)
        form.fields["unit"].choices = _unit_choices(request, "schools.manage")
        if chosen_outside(request, form, "unit"):
            return refuse(request)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect("school_list")
        d = form.cleaned_data
        try:
            school = school_services.school_create(
                actor=request.user,
                code=d["code"],
                name=d["name"],
                levels=d["levels"],
                unit=selectors.unit_get(unit_id=d["unit"]),
                slug=d["slug"],
            )
        except DomainError as exc:
            report_error(request, exc)
            return redirect("school_list")
        messages.success(request, _("Đã tạo trường %(name)s.") % {"name": school.name})
        return redirect("school_detail", school.pk)


class SchoolProvisionView(CapabilityRequiredMixin, TemplateView):
    """Schools from a file. The file is read and checked here (type, size, structure: a file that cannot be read is
    a 400 with the form again and the reason). “Kiểm tra trước” (a dry run) checks every row here and shows the
    report; “Tạo trường” queues a background job and opens its page, which names each row's outcome
    (``tenants.services.school_files``)."""

    required_capability = "schools.manage"
    template_name = "tenants/school_provision.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("upload_form", forms.ProvisionUploadForm())
        return super().get_context_data(max_schools=school_files.max_schools_per_job(), **kwargs)

    def _refuse(self, form, exc: DomainError):
        return self.render_to_response(
            self.get_context_data(
                upload_form=form,
                error=refusal_texts(exc),
                problems=[p.as_dict() for p in getattr(exc, "problems", [])],  # a file the kernel cannot read
            ),
            status=exc.http_status,
        )

    def post(self, request):
        form = forms.ProvisionUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._refuse(
                form, DomainError("provision.no_file", gettext_lazy("Hãy chọn một tệp CSV hoặc XLSX."), field="file")
            )
        d = form.cleaned_data
        upload = d["file"]
        try:
            check_upload_size(upload.size)
            content = upload.read()
            if not d["dry_run"]:
                job_id = school_files.schools_provision_start(
                    actor=request.user,
                    access=access(request),
                    name=upload.name,
                    content=content,
                    create_valid=d["create_valid"],
                    back_url=reverse("school_provision"),
                )
                return redirect("job_detail", job_id)
            rows = school_files.provision_rows_check(upload.name, content)
            report = school_services.schools_provision(
                actor=request.user,
                rows=rows,
                dry_run=True,
                create_valid=d["create_valid"],
                most=school_files.max_schools_per_job(),
            )
        except DomainError as exc:
            return self._refuse(form, exc)
        ctx = self.get_context_data(report=report, upload_form=forms.ProvisionUploadForm(initial=d))
        return TemplateResponse(request, "tenants/school_provision_report.html", ctx)


class SchoolProvisionTemplateView(CapabilityRequiredMixin, View):
    """The file to fill for “Tạo nhiều trường từ tệp”: ``template.xlsx`` (with the units this person may use and
    the instructions) or ``template.csv``."""

    required_capability = "schools.manage"

    def get(self, request, fmt: str):
        if fmt not in {"xlsx", "csv"}:
            raise Http404
        content, content_type, filename = school_files.provision_template(
            fmt=fmt, units=school_files.template_units(access(request))
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


class SchoolDetailView(CapabilityRequiredMixin, TemplateView):
    required_capability = "schools.view"
    template_name = "tenants/school_detail.html"

    def get(self, request, *args, **kwargs):
        self.school = _school_or_404(kwargs["pk"])
        if not selectors.school_in_scope(access(request), school_id=self.school.pk, capability="schools.view"):
            return refuse(request, gettext_lazy("Trường này nằm ngoài phạm vi quản lý của bạn."))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        school = self.school
        tree = acc.tree or selectors.unit_tree_on()
        roles = sorted(acc.grantable_roles_in_school(school.pk), key=list(Role).index)
        ctx = {
            "school": school,
            "info": selectors.school_list(school_ids=[school.pk])[0],
            "placements": [(p, p.unit_name) for p in selectors.school_placement_history(school_id=school.pk)],
            "may_view_accounts": selectors.school_in_scope(acc, school_id=school.pk, capability="accounts.view"),
            "can_manage": selectors.school_in_scope(acc, school_id=school.pk, capability="schools.manage"),
            "tree": tree,
            "reconciliation": selectors.reconciliation(school_id=school.pk),
        }
        staff = selectors.membership_list(school_ids=[school.pk])
        # Who holds a membership is for those who see accounts; the others see how many, never "nobody".
        ctx["memberships"] = staff if ctx["may_view_accounts"] else []
        ctx["staff_count"] = len(staff)
        if roles:
            ctx["grant_form"] = forms.MembershipGrantForm(roles=roles)
            ctx["account_form"] = forms.AccountCreateForm(roles=roles, prefix="new")
        ctx.update(grant_context(self.request, school, ctx["info"].domain))
        if ctx["can_manage"]:
            move_form = forms.UnitTargetForm(prefix="move")
            move_form.fields["target"].choices = _unit_choices(self.request, "schools.manage")
            ctx.update(move_form=move_form, close_form=forms.OnDateForm(prefix="close"))
        return super().get_context_data(**ctx, **kwargs)


class SchoolOperationView(CapabilityRequiredMixin, View):
    required_capability = "schools.manage"

    def post(self, request, pk: int, operation: str):
        school = _school_or_404(pk)
        if not selectors.school_in_scope(access(request), school_id=pk, capability="schools.manage"):
            return refuse(request, gettext_lazy("Trường này nằm ngoài phạm vi quản lý của bạn."))
        form = (
            forms.UnitTargetForm(request.POST, prefix="move")
            if operation == "move"
            else forms.OnDateForm(request.POST, prefix="close")
        )
        if operation == "move":
            form.fields["target"].choices = _unit_choices(request, "schools.manage")
            if chosen_outside(request, form, "target"):
                return refuse(request)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect("school_detail", pk)
        try:
            if operation == "move":
                school_services.school_move(
                    actor=request.user,
                    school=school,
                    unit=selectors.unit_get(unit_id=form.cleaned_data["target"]),
                    on=form.cleaned_data["on"],
                )
            else:
                school_services.school_close(actor=request.user, school=school, on=form.cleaned_data["on"])
        except DomainError as exc:
            report_error(request, exc)
            return redirect("school_detail", pk)
        messages.success(request, _("Đã lưu thay đổi."))
        return redirect("school_detail", pk)


def _scope_from(request, kind: str, pk: int):
    """Resolve the unit or school named in the URL, refusing anything outside the requester's scope."""
    acc = access(request)
    if kind == "school":
        school = _school_or_404(pk)
        return None, school, sorted(acc.grantable_roles_in_school(school.pk), key=list(Role).index)
    unit = _unit_or_404(pk)
    return unit, None, sorted(acc.grantable_roles_in_unit(unit.pk), key=list(Role).index)


def _return_to(request, school, pk: int) -> str:
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    if getattr(request, "tenant", None) is not None:
        return reverse("school_staff")
    return reverse("school_detail", args=[pk]) if school else reverse("unit_detail", args=[pk])


class AccountCreateView(CapabilityRequiredMixin, View):
    """Create a person's account with a first role in a unit or school of the requester's scope."""

    required_capability = "accounts.manage"

    def post(self, request, kind: str, pk: int):
        unit, school, roles = _scope_from(request, kind, pk)
        target = _return_to(request, school, pk)
        if not roles:
            return refuse(request, gettext_lazy("Bạn không thể tạo tài khoản ở phạm vi này."))
        form = forms.AccountCreateForm(request.POST, roles=roles, prefix="new")
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect(target)
        d = form.cleaned_data
        try:
            account = account_services.account_create(
                actor=request.user,
                username=d["username"],
                full_name=d["full_name"],
                email=d["email"],
                password=d["password"],
                role=d["role"],
                unit=unit,
                school=school,
            )
        except DomainError as exc:
            report_error(request, exc)
            return redirect(target)
        messages.success(request, _("Đã tạo tài khoản %(u)s.") % {"u": account.username})
        return redirect(target)


class MembershipGrantView(CapabilityRequiredMixin, View):
    required_capability = "memberships.grant"

    def post(self, request, kind: str, pk: int):
        unit, school, roles = _scope_from(request, kind, pk)
        target = _return_to(request, school, pk)
        if not roles:
            return refuse(request, gettext_lazy("Bạn không thể cấp vai trò ở phạm vi này."))
        form = forms.MembershipGrantForm(request.POST, roles=roles)
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return redirect(target)
        d = form.cleaned_data
        who = d["username"].strip()
        account = selectors.account_find(login=who)
        if account is None:
            messages.error(request, _("Không tìm thấy tài khoản “%(u)s”.") % {"u": who})
            return redirect(target)
        try:
            account_services.membership_grant(
                actor=request.user,
                account=account,
                role=d["role"],
                unit=unit,
                school=school,
                valid_from=d["valid_from"],
                valid_to=d["valid_to"],
            )
        except DomainError as exc:
            report_error(request, exc)
            return redirect(target)
        messages.success(request, _("Đã cấp vai trò."))
        return redirect(target)


class MembershipEndView(CapabilityRequiredMixin, View):
    required_capability = "memberships.grant"

    def post(self, request, pk: int):
        membership = selectors.membership_get(membership_id=pk)
        if membership is None:
            raise Http404
        target = _return_to(request, membership.school, membership.school_id or membership.unit_id)
        try:
            account_services.membership_end(actor=request.user, membership=membership)
        except DomainError as exc:
            report_error(request, exc)
            return redirect(target)
        messages.success(request, _("Đã kết thúc vai trò."))
        return redirect(target)
