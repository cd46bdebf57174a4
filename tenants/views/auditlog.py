"""The platform log (``/manage/audit/``; on a school's address, ``/audit/``: that school's entries): each entry a
sentence with its fields by name, filters (person, action, kind of object, source, dates dd/mm/yyyy), pages, and
the same selection as an Excel file."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView, View
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE, listing_workbook

from ..selectors.auditlog import ACTION_LABELS, OBJECT_LABELS, SOURCE_LABELS, LogPage, audit_log_page
from .common import access

PAGE_SIZE = 50
EXPORT_ENTRIES = 5000
MAX_PAGE = 1_000_000


class AuditFilterForm(forms.Form):
    who = forms.CharField(
        label=_("Người thực hiện"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("tên, gõ không dấu cũng được")}),
    )
    action = forms.ChoiceField(
        label=_("Thao tác"),
        required=False,
        choices=[("", _("Tất cả"))] + [(k, str(v)[:1].upper() + str(v)[1:]) for k, v in ACTION_LABELS.items()],
    )
    object_type = forms.ChoiceField(
        label=_("Đối tượng"), required=False, choices=[("", _("Tất cả")), *OBJECT_LABELS.items()]
    )
    source = forms.ChoiceField(label=_("Nguồn"), required=False, choices=[("", _("Tất cả")), *SOURCE_LABELS.items()])
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
    # Bounded: a page number past the database's integers would fail the query (a 500) instead of showing nothing.
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Ngày bắt đầu phải trước ngày kết thúc."))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound else {}
        keys = ("who", "action", "object_type", "source", "date_from", "date_to")
        return {k: data[k] for k in keys if data.get(k)}


def _school_id(request) -> int | None:
    school = getattr(request, "tenant", None)
    return school.pk if school is not None and school.schema_name != "public" else None


class AuditListView(CapabilityRequiredMixin, TemplateView):
    required_capability = "audit.view"
    template_name = "tenants/audit_list.html"

    def get_context_data(self, **kwargs):
        form = AuditFilterForm(self.request.GET or None)
        ctx: dict = {"form": form, "page": None}
        if not form.is_bound or form.is_valid():
            page_number = (form.cleaned_data.get("page") if form.is_bound else None) or 1
            ctx["page"] = audit_log_page(
                access(self.request),
                school_id=_school_id(self.request),
                page=page_number,
                limit=PAGE_SIZE,
                **form.filters(),
            )
        ctx["entries"] = ctx["page"].entries if ctx["page"] else []
        kept = [(k, v) for k, v in self.request.GET.items() if k != "page" and v]
        ctx["query"] = urlencode(kept)
        return super().get_context_data(**ctx, **kwargs)


class AuditExportView(CapabilityRequiredMixin, View):
    """The selection of the log page (its filters) as an Excel file, newest first."""

    required_capability = "audit.view"

    def get(self, request):
        form = AuditFilterForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            text = " ".join(str(e) for errors in form.errors.values() for e in errors)
            return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
        page = audit_log_page(access(request), school_id=_school_id(request), limit=EXPORT_ENTRIES, **form.filters())
        response = HttpResponse(log_workbook(page), content_type=XLSX_CONTENT_TYPE)
        name = f"nhat-ky-thay-doi-{timezone.localdate():%Y%m%d}.xlsx"
        response["Content-Disposition"] = content_disposition_header(True, name)
        response["Cache-Control"] = "no-store"
        return response


def log_workbook(page: LogPage) -> bytes:
    rows = [
        [
            timezone.localtime(e.at).strftime("%H:%M:%S %d/%m/%Y"),
            e.who,
            e.role,
            e.source,
            e.ip,
            str(OBJECT_LABELS.get(e.object_type, e.object_type)),
            e.object_label,
            e.sentence,
            "\n".join(f"{f.label}: {f.old or '—'} → {f.new or '—'}" for f in e.fields),
            e.id,
        ]
        for e in page.entries
    ]
    note = _g("Chỉ gồm các mục mới nhất; hãy lọc hẹp hơn để xem các mục cũ hơn.") if page.has_next else ""
    return listing_workbook(
        title=_g("Nhật ký thay đổi"),
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=[
            _g("Thời điểm"),
            _g("Người thực hiện"),
            _g("Vai trò"),
            _g("Nguồn"),
            _g("Địa chỉ IP"),
            _g("Đối tượng"),
            _g("Tên đối tượng"),
            _g("Nội dung"),
            _g("Trước → sau"),
            _g("Mục nhật ký"),
        ],
        rows=rows,
        widths=[19, 22, 20, 14, 16, 18, 30, 60, 60, 11],
        note=note,
    )
