"""The principal's history page: every change to the school's data, from the audit chain (DESIGN §7).

A student's record over time is ``/history/?student=<id>``; filters by teacher (any account that holds
or held a role in the school) and by a date range (dd/mm/yyyy); edits made after the record book was
approved are flagged. A constant number of queries per page, whatever it shows."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from hocba.kernel.permissions import CapabilityRequiredMixin

from ..audit.history import TABLE_LABELS, history
from ..selectors import school_people, student_named, students_matching

PAGE_SIZE = 50
SEARCH_LIMIT = 30


class HistoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Tìm học sinh theo tên"), required=False, max_length=120)
    student = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    teacher = forms.TypedChoiceField(label=_("Người thực hiện"), required=False, coerce=int, empty_value=None)
    table = forms.ChoiceField(label=_("Loại dữ liệu"), required=False)
    date_from = forms.DateField(
        label=_("Từ ngày"),
        required=False,
        input_formats=["%d/%m/%Y"],
        widget=forms.TextInput(attrs={"placeholder": "dd/mm/yyyy", "size": 10}),
    )
    date_to = forms.DateField(
        label=_("Đến ngày"),
        required=False,
        input_formats=["%d/%m/%Y"],
        widget=forms.TextInput(attrs={"placeholder": "dd/mm/yyyy", "size": 10}),
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, people: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].choices = [("", _("Tất cả"))] + people
        self.fields["table"].choices = [("", _("Tất cả"))] + [(t, label) for t, label in TABLE_LABELS.items()]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Ngày bắt đầu phải trước ngày kết thúc."))
        return data


class HistoryView(CapabilityRequiredMixin, TemplateView):
    required_capability = "school.audit.view"
    template_name = "schools/history_list.html"

    def get_context_data(self, **kwargs):
        school = self.request.tenant
        people = school_people(school.pk)
        form = HistoryFilterForm(self.request.GET or None, people=people)
        ctx: dict = {"form": form, "school": school, "matches": None}
        filters: dict = {}
        if form.is_bound and not form.is_valid():
            ctx["page"] = None
            return super().get_context_data(**ctx, **kwargs)
        data = form.cleaned_data if form.is_bound else {}
        if data.get("student"):
            ctx["student"] = student_named(data["student"])
            filters["student_id"] = data["student"]
        elif data.get("q"):
            ctx["matches"] = students_matching(data["q"], limit=SEARCH_LIMIT)
        if data.get("teacher"):
            filters["account_id"] = data["teacher"]
        for key in ("date_from", "date_to", "table"):
            if data.get(key):
                filters[key] = data[key]
        ctx["page"] = history(**filters, limit=PAGE_SIZE, page=data.get("page") or 1)
        kept = [(k, v) for k, v in self.request.GET.items() if k != "page" and v]
        ctx["query"] = urlencode(kept)
        ctx["without_student"] = urlencode([(k, v) for k, v in kept if k not in ("student", "q")])
        return super().get_context_data(**ctx, **kwargs)
