"""The principal's history page: every change to the school's data, from the audit chain (DESIGN §7).

Each change reads as a sentence ("… đã sửa điểm và nhận xét của học sinh … (Toán · HKI · TX1) — qua trang web"),
its fields labelled with their values by name (dates dd/mm/yyyy, frozen results as a small table). A student's record
over time is ``/history/?student=<id>``; filters by person (any account that holds or held a role in the school),
kind of data, source and a date range (dd/mm/yyyy); edits made after the record book was approved are flagged. An
entry that changed many rows at once (a whole sheet) shows its first rows and links to the rest (``?entry=<id>``).
The same selection downloads as an Excel file (``export/``). A constant number of queries per page, whatever it
shows. Personal data (``PERSONAL_FIELDS``) shows only to those who keep the student's profile."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.http import HttpResponseBadRequest
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from hocba.kernel.permissions import CapabilityRequiredMixin

from ..access import request_school_access
from ..audit.history import SOURCE_LABELS, TABLE_LABELS, FieldChange, HistoryPage, history
from ..excel.history import history_workbook
from ..selectors import personal_data_readable, school_people, student_named, students_matching
from ..services.students import PERSONAL_FIELDS
from .common import SchoolPage
from .excel import xlsx_response

PAGE_SIZE = 20  # entries (statements) a page
ROWS_PER_ENTRY = 5  # changed rows shown of one entry; the rest behind ``?entry=<id>``
ENTRY_PAGE_SIZE = 100  # rows a page when one entry is shown
EXPORT_ENTRIES = 2000  # entries in one download (the newest of the selection)
EXPORT_ROWS = 20000  # changed rows in one download: many whole-sheet entries would otherwise make millions
SEARCH_LIMIT = 30
MAX_PAGE = 1_000_000


class HistoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Tìm học sinh theo tên"), required=False, max_length=120)
    student = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    teacher = forms.TypedChoiceField(label=_("Người thực hiện"), required=False, coerce=int, empty_value=None)
    table = forms.ChoiceField(label=_("Loại dữ liệu"), required=False)
    source = forms.ChoiceField(label=_("Nguồn"), required=False)
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
    entry = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Bounded: a page number past the database's integers would fail the query (a 500) instead of showing nothing.
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def __init__(self, *args, people: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].choices = [("", _("Tất cả"))] + people
        self.fields["table"].choices = [("", _("Tất cả"))] + [(t, label) for t, label in TABLE_LABELS.items()]
        self.fields["source"].choices = [("", _("Tất cả"))] + [(s, label) for s, label in SOURCE_LABELS.items()]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("Ngày bắt đầu phải trước ngày kết thúc."))
        return data


def _filters(data: dict) -> dict:
    filters: dict = {}
    if data.get("student"):
        filters["student_id"] = data["student"]
    if data.get("teacher"):
        filters["account_id"] = data["teacher"]
    if data.get("entry"):
        filters["entry_id"] = data["entry"]
    for key in ("date_from", "date_to", "table", "source"):
        if data.get(key):
            filters[key] = data[key]
    return filters


def shown_to(request, page: HistoryPage) -> HistoryPage:
    """The page with the personal data of the students whose profile the requester does not keep hidden (one query
    at most): their identity number, address, guardians… are replaced by a note, in the page and the export."""
    profiles = {c.student_id for c in page.changes if c.table == "schools_student" and c.student_id is not None}
    if not profiles:
        return page
    return personal_hidden(page, personal_data_readable(request_school_access(request), profiles))


def personal_hidden(page: HistoryPage, readable: frozenset[int]) -> HistoryPage:
    """The page with ``PERSONAL_FIELDS`` of the profiles of students not in ``readable`` replaced by a note."""
    hidden = str(_("(dữ liệu cá nhân, chỉ người quản lý hồ sơ được xem)"))
    for c in page.changes:
        if c.table == "schools_student" and c.student_id not in readable:
            c.fields = [
                FieldChange(f.field, f.label, hidden if f.old is not None else None, hidden if f.new else None)
                if f.field in PERSONAL_FIELDS
                else f
                for f in c.fields
            ]
    return page


class HistoryView(CapabilityRequiredMixin, TemplateView):
    required_capability = "school.audit.view"
    template_name = "schools/history_list.html"

    def get_context_data(self, **kwargs):
        school = self.request.tenant
        people = school_people(school.pk)
        form = HistoryFilterForm(self.request.GET or None, people=people)
        ctx: dict = {"form": form, "school": school, "matches": None}
        if form.is_bound and not form.is_valid():
            ctx["page"] = None
            return super().get_context_data(**ctx, **kwargs)
        data = form.cleaned_data if form.is_bound else {}
        filters = _filters(data)
        if data.get("student"):
            ctx["student"] = student_named(data["student"])
        elif data.get("q"):
            ctx["matches"] = students_matching(data["q"], limit=SEARCH_LIMIT)
        if data.get("entry"):
            page = history(**filters, limit=ENTRY_PAGE_SIZE, page=data.get("page") or 1)
            ctx["entry"] = data["entry"]
        else:
            page = history(**filters, rows_per_entry=ROWS_PER_ENTRY, limit=PAGE_SIZE, page=data.get("page") or 1)
        ctx["page"] = shown_to(self.request, page)
        kept = [(k, v) for k, v in self.request.GET.items() if k != "page" and v]
        ctx["query"] = urlencode(kept)
        ctx["export_query"] = urlencode([(k, v) for k, v in kept if k not in ("q",)])
        ctx["without_student"] = urlencode([(k, v) for k, v in kept if k not in ("student", "q")])
        ctx["without_entry"] = urlencode([(k, v) for k, v in kept if k != "entry"])
        return super().get_context_data(**ctx, **kwargs)


class HistoryExportView(SchoolPage):
    """The selection of the history page (its filters) as an Excel file, one row per change, newest first."""

    required_capability = "school.audit.view"

    def get(self, request):
        form = HistoryFilterForm(request.GET or None, people=school_people(request.tenant.pk))
        if form.is_bound and not form.is_valid():
            return self._refused(form)
        page = shown_to(
            request,
            history(**_filters(form.cleaned_data if form.is_bound else {}), limit=EXPORT_ENTRIES, max_rows=EXPORT_ROWS),
        )
        content = history_workbook(page, title=_g("Lịch sử thay đổi dữ liệu"), school=request.tenant.name)
        return xlsx_response(content, f"lich-su-thay-doi-{timezone.localdate():%Y%m%d}.xlsx")

    def _refused(self, form):
        text = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
