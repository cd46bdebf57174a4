"""The province's and units' board of the homeroom teachers' monthly duty (Long An reg. art. 7.2): per school in
scope, the classes without an attendance or conduct update in a month, from the public rows of the beat job."""

from __future__ import annotations

from django.views.generic import TemplateView
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_text

from ..duty import parse_month
from ..selectors.duty import latest_checked_month, monthly_duty_board
from .common import access


class MonthlyDutyView(CapabilityRequiredMixin, TemplateView):
    required_capability = "schools.view"
    template_name = "tenants/monthly_duty.html"

    def get_context_data(self, **kwargs):
        school_ids = access(self.request).schools_with("schools.view")
        asked = self.request.GET.get("month", "").strip()
        error = ""
        month = None
        if asked:
            try:
                month = parse_month(asked)
            except DomainError as exc:
                error = refusal_text(exc)
        else:
            month = latest_checked_month(school_ids)
        rows = monthly_duty_board(school_ids=school_ids, month=month) if month else []
        return super().get_context_data(
            month=month,
            asked=asked if error else (f"{month:%m/%Y}" if month else ""),
            error=error,
            rows=rows,
            schools_in_scope=len(school_ids),
            classes=sum(r.classes for r in rows),
            without_update=sum(r.classes_without_update for r in rows),
            **kwargs,
        )
