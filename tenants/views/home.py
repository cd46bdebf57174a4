"""Each person's home on the platform: for province and unit staff what waits for them first, then a short overview
of their scope, then what their roles let them do; their schools; a school's staff page. (The school's own home is
the school's: ``schools.views.home``.)"""

from __future__ import annotations

from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView
from hocba.kernel.context_processors import platform_url
from hocba.kernel.permissions import SIGNED_IN, CapabilityRequiredMixin
from hocba.kernel.roles import ROLE_CAPABILITIES, Role
from hocba.kernel.schoolyear import current_school_year

from .. import forms, provisioning, selectors
from ..duty import previous_month
from ..selectors import boards
from ..selectors import home as work
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
        ctx = {"grants": grants, "caps": caps}
        if acc.is_platform_staff:
            ctx.update(self.platform_staff(acc))
        return super().get_context_data(**ctx, **kwargs)

    @staticmethod
    def platform_staff(acc) -> dict:
        """What waits for a province or unit officer and the figures of their scope: public tables only, a constant
        number of queries whatever the number of schools (``selectors.home``)."""
        now = timezone.now()
        school_ids = acc.schools_with("schools.view")
        requests = work.requests_awaiting(acc)
        windows = work.windows_soon(acc, now=now)
        schemas = work.schools_behind(school_ids, head=provisioning.migration_head().digest)
        duty = work.duty_gaps(school_ids, month=previous_month(timezone.localdate()))
        return {
            "board": board_summary(acc) if acc.has(boards.CAPABILITY) else None,
            "requests": requests,
            "windows_soon": windows,
            "schemas": schemas,
            "duty": duty,
            "has_work": bool(requests.count or windows.count or schemas.count or duty.schools.count),
            "units": work.units_summary(acc),
            "school_count": len(school_ids),
            "figures": work.rollup_figures(school_ids, year=current_school_year()),
            "staff_home": True,
        }


HOME_LATE_SHOWN = 8


def board_summary(acc) -> dict:
    """The board first on the home of province and unit staff (what they come to watch): the schools per traffic
    light, the first schools behind their next lock (red before amber), and the units summed — the board's first
    page of late schools, so that a province's home builds a few rows, not thousands. A constant number of queries,
    whatever the number of schools."""
    years, default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=current_school_year())
    data = boards.board(
        acc,
        year=default,
        years=years,
        head=provisioning.migration_head().digest,
        filters=boards.BoardFilters(sort="light", late=True),
        with_flags=False,
        paged=True,
        per_page=HOME_LATE_SHOWN,
    )
    late = sorted(data.schools, key=lambda r: (r.light_rank, r.next_lock_at, r.name))
    return {
        "data": data,
        "year_label": f"{data.year}–{data.year + 1}",
        "lights": [(k, v, (data.lights or {}).get(k, 0)) for k, v in boards.LIGHT_LABELS.items()],
        "late": late,
        "late_more": max(0, data.total - len(late)),
        "late_count": data.total,
    }


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
