"""Each person's home on the platform: what their roles let them do, and their schools; a school's staff page.
(The school's own home is the school's: ``schools.views.home``.)"""

from __future__ import annotations

from django.shortcuts import redirect
from django.views.generic import TemplateView
from hocba.kernel.context_processors import platform_url
from hocba.kernel.permissions import SIGNED_IN, CapabilityRequiredMixin
from hocba.kernel.roles import ROLE_CAPABILITIES, Role

from .. import forms, selectors
from .common import access


def school_url(request, domain: str, path: str = "/") -> str:
    base = platform_url(request)
    scheme, rest = base.split("://", 1)
    port = rest.split(":", 1)[1] if ":" in rest else ""
    return f"{scheme}://{domain}{':' + port if port else ''}{path}"


class HomeView(CapabilityRequiredMixin, TemplateView):
    required_capability = SIGNED_IN
    template_name = "tenants/home.html"

    def get(self, request, *args, **kwargs):
        acc = access(request)
        school_ids = {g.school_id for g in acc.grants if g.school_id}
        if school_ids and not acc.is_platform_staff and len(school_ids) == 1:
            info = selectors.school_list(school_ids=school_ids)[0]
            return redirect(school_url(request, info.domain))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        tree = acc.tree
        school_ids = {g.school_id for g in acc.grants if g.school_id}
        schools = {s.id: s for s in selectors.school_list(school_ids=school_ids)} if school_ids else {}
        grants = []
        for g in acc.grants:
            if g.school_id:
                scope = schools.get(g.school_id)
                grants.append(
                    {
                        "role": g.role,
                        "scope": scope.name if scope else "",
                        "url": school_url(self.request, scope.domain) if scope else "",
                    }
                )
            else:
                node = tree.nodes.get(g.unit_id) if tree else None
                grants.append({"role": g.role, "scope": node.name if node else "", "url": ""})
        caps = set().union(*(ROLE_CAPABILITIES[g.role] for g in acc.grants)) if acc.grants else set()
        return super().get_context_data(grants=grants, caps=caps, **kwargs)


class SchoolStaffView(CapabilityRequiredMixin, TemplateView):
    """The school's staff and their roles; principals and IT admins assign roles here (004 art. 11.2a)."""

    required_capability = "school.staff.view"
    template_name = "tenants/school_staff.html"

    def get_context_data(self, **kwargs):
        acc = access(self.request)
        school = self.request.tenant
        roles = sorted(acc.grantable_roles_in_school(school.pk), key=list(Role).index)
        ctx = {"school": school, "memberships": selectors.membership_list(school_ids=[school.pk])}
        if roles:
            ctx["grant_form"] = forms.MembershipGrantForm(roles=roles)
            ctx["account_form"] = forms.AccountCreateForm(roles=roles, prefix="new")
        return super().get_context_data(**ctx, **kwargs)
