"""Open/lock window pages of the platform site (DESIGN §5): the windows in scope with a timeline of the
school year, create and edit with a preview, cancel, the exceptions to decide, and the calendar import.

Every check of meaning and of authority is the service's (tenants.services.windows); the preview runs
the same service call in a savepoint that is rolled back. Cross-school figures come only from the
public SchoolRollup rows: nothing here reads a school's schema.

Reads are ``tenants.selectors.windows``; what a person may do to a window is ``tenants.windows.WindowAuthority``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from hocba.kernel.errors import DomainError
from hocba.kernel.forms import moment_field
from hocba.kernel.levels import GRADES
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_text, refusal_texts
from hocba.kernel.schoolyear import year_param
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE

from .. import selectors
from ..models import (
    DataCategory,
    ExceptionStatus,
    SchoolLevel,
)
from ..selectors.windows import (
    exceptions_in_scope,
    pending_exceptions,
    resolve_scope,
    school_names,
    scope_choices,
    scope_name,
    set_by_name,
    timeline,
    window_in_scope,
    windows_in_scope,
    years_offered,
)
from ..services import windows as svc
from ..windows import (
    NO_SUCH_REQUEST,
    NO_SUCH_WINDOW,
    STATE_LABELS,
    WindowAuthority,
    setter_label,
    setter_tiers,
    window_state,
)
from ..windows_import import (
    calendar_import,
    check_upload_size,
    template_bytes,
)
from .common import access, chosen_outside, refuse

# =========================================================================================== forms


GRADE_CHOICES = [(g, str(g)) for g in GRADES]


class WindowForm(forms.Form):
    scope = forms.ChoiceField(label=gettext_lazy("Phạm vi"))
    category = forms.ChoiceField(label=gettext_lazy("Loại dữ liệu"), choices=DataCategory.choices)
    levels = forms.MultipleChoiceField(
        label=gettext_lazy("Cấp học"), choices=SchoolLevel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    grades = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Khối"),
        choices=GRADE_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Để trống cả cấp học và khối: mọi khối."),
    )
    year_start = forms.TypedChoiceField(label=gettext_lazy("Năm học"), coerce=int)
    opens_at = moment_field(gettext_lazy("Mở lúc"))
    locks_at = moment_field(gettext_lazy("Khóa lúc"))
    reason = forms.CharField(
        label=gettext_lazy("Lý do, căn cứ"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60})
    )

    def __init__(self, *args, scopes: list[tuple[str, str]], years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scopes
        self.fields["year_start"].choices = [(y, f"{y}–{y + 1}") for y in years]


class WindowEditForm(forms.Form):
    opens_at = moment_field(gettext_lazy("Mở lúc"))
    locks_at = moment_field(gettext_lazy("Khóa lúc"))
    reason = forms.CharField(
        label=gettext_lazy("Lý do, căn cứ"), max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60})
    )


class CalendarImportForm(forms.Form):
    scope = forms.ChoiceField(label=gettext_lazy("Phạm vi"))
    year_start = forms.TypedChoiceField(label=gettext_lazy("Năm học"), coerce=int)
    file = forms.FileField(label=gettext_lazy("Tệp XLSX (cột Loại dữ liệu, Khối, Mở lúc, Khóa lúc, Lý do)"))

    def __init__(self, *args, scopes: list[tuple[str, str]], years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scopes
        self.fields["year_start"].choices = [(y, f"{y}–{y + 1}") for y in years]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Duyệt")), ("refuse", gettext_lazy("Từ chối"))])
    note = forms.CharField(label=gettext_lazy("Ghi chú"), max_length=300, required=False)


# =========================================================================================== pages


NO_SCOPE = gettext_lazy("Bạn không có phạm vi nào để đặt lịch.")
OUT_OF_SCOPE = gettext_lazy("Phạm vi này nằm ngoài thẩm quyền đặt lịch của bạn.")


def _invalid_text(form: forms.Form) -> str:
    return _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()}


def _list_url(year: int) -> str:
    return f"{reverse('window_list')}?year={year}"


class WindowListView(CapabilityRequiredMixin, View):
    """The windows in scope for a school year, their timeline, and what the person may do."""

    required_capability = "windows.view"

    def get(self, request):
        acc = access(request)
        year = year_param(request.GET.get("year"))
        show_cancelled = request.GET.get("cancelled") == "1"
        windows, scope = windows_in_scope(acc, year, include_cancelled=show_cancelled)
        names = school_names(w.school_id for w in windows)
        labels = {w.pk: scope_name(w, scope.tree, names) for w in windows}
        auth = WindowAuthority(acc)
        pending = pending_exceptions([w.pk for w in windows])
        setters = setter_tiers(windows)
        now = timezone.now()
        rows = [
            {
                "window": w,
                "scope": labels[w.pk],
                "state": window_state(w, now),
                "state_label": STATE_LABELS[window_state(w, now)],
                "can_edit": auth.may_schedule(w) and not w.cancelled_at,
                "pending": pending.get(w.pk, 0),
                "tier_label": setter_label(setters, w),
                "set_by": set_by_name(w),
                "category_label": DataCategory(w.category).label,
            }
            for w in windows
        ]
        ctx = {
            "year": year,
            "year_label": f"{year}–{year + 1}",
            "years": years_offered(acc, year),
            "rows": rows,
            "timeline": timeline(windows, year, labels, now),
            "show_cancelled": show_cancelled,
            "can_schedule": acc.has("windows.schedule") and bool(scope_choices(acc)),
            "can_decide": acc.has("windows.decide"),
        }
        return TemplateResponse(request, "tenants/window_list.html", ctx)


class WindowCreateView(CapabilityRequiredMixin, View):
    """Create a window: the form, its preview (nothing saved), then save through the service."""

    required_capability = "windows.schedule"

    def _form(self, request, data=None):
        acc = access(request)
        year = year_param(request.GET.get("year"))
        initial = {"year_start": year}
        return WindowForm(data, scopes=scope_choices(acc), years=years_offered(acc, year), initial=initial)

    def _render(self, request, form, preview=None, status=200):
        return TemplateResponse(
            request,
            "tenants/window_form.html",
            {"form": form, "preview": preview, "window": None, "creating": True},
            status=status,
        )

    def get(self, request):
        form = self._form(request)
        if not form.fields["scope"].choices:
            return refuse(request, NO_SCOPE)
        return self._render(request, form)

    def post(self, request):
        form = self._form(request, request.POST)
        if chosen_outside(request, form, "scope"):
            return refuse(request, OUT_OF_SCOPE)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return self._render(request, form, status=400)
        d = form.cleaned_data
        unit, school = resolve_scope(d["scope"])
        args = {
            "unit": unit,
            "school": school,
            "category": d["category"],
            "year_start": d["year_start"],
            "opens_at": d["opens_at"],
            "locks_at": d["locks_at"],
            "grades": d["grades"],
            "levels": d["levels"],
            "reason": d["reason"],
        }
        if request.POST.get("action") == "preview":
            return self._render(request, form, svc.window_preview(request.user, **args))
        try:
            window = svc.window_create(actor=request.user, **args)
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return self._render(request, form, svc.window_preview(request.user, **args), status=exc.http_status)
        messages.success(request, _("Đã lưu lịch."))
        return redirect(_list_url(window.year_start))


class WindowEditView(CapabilityRequiredMixin, View):
    """One window: its details, the edit form with a preview (times and reason), and cancelling it."""

    required_capability = "windows.view"

    def _render(self, request, window, form, preview=None, status=200):
        acc = access(request)
        tree = acc.tree or selectors.unit_tree_on(acc.day)
        names = school_names([window.school_id])
        ctx = {
            "window": window,
            "form": form,
            "preview": preview,
            "creating": False,
            "scope": scope_name(window, tree, names),
            "state_label": STATE_LABELS[window_state(window)],
            "tier_label": setter_label(setter_tiers([window]), window),
            "category_label": DataCategory(window.category).label,
            "can_edit": form is not None,
            "set_by": set_by_name(window),
        }
        visible, _scope = exceptions_in_scope(acc)
        exceptions = list(visible.filter(window=window).order_by("-requested_at")[:50])
        names = school_names(e.school_id for e in exceptions)
        ctx["exception_rows"] = [(e, names.get(e.school_id, "")) for e in exceptions]
        return TemplateResponse(request, "tenants/window_form.html", ctx, status=status)

    def get(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return refuse(request, NO_SUCH_WINDOW, status=404)
        form = None
        if WindowAuthority(acc).may_schedule(window) and not window.cancelled_at:
            form = WindowEditForm(
                initial={"opens_at": window.opens_at, "locks_at": window.locks_at, "reason": window.reason}
            )
        return self._render(request, window, form)

    def post(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return refuse(request, NO_SUCH_WINDOW, status=404)
        if not WindowAuthority(acc).may_schedule(window):
            return refuse(request, gettext_lazy("Lịch này do cấp khác đặt; bạn không sửa được."))
        form = WindowEditForm(request.POST)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return self._render(request, window, form, status=400)
        d = form.cleaned_data
        args = {"opens_at": d["opens_at"], "locks_at": d["locks_at"], "reason": d["reason"]}
        if request.POST.get("action") == "preview":
            return self._render(
                request,
                window,
                form,
                svc.window_preview(request.user, year_start=window.year_start, window=window, **args),
            )
        try:
            svc.window_update(actor=request.user, window=window, **args)
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return self._render(
                request,
                window,
                form,
                svc.window_preview(request.user, year_start=window.year_start, window=window, **args),
                status=exc.http_status,
            )
        messages.success(request, _("Đã lưu thay đổi."))
        return redirect(_list_url(window.year_start))


class WindowCancelView(CapabilityRequiredMixin, View):
    required_capability = "windows.schedule"

    def post(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return refuse(request, NO_SUCH_WINDOW, status=404)
        if not WindowAuthority(acc).may_schedule(window):
            return refuse(request, gettext_lazy("Lịch này do cấp khác đặt; bạn không hủy được."))
        try:
            svc.window_cancel(actor=request.user, window=window)
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return redirect("window_edit", pk)
        messages.success(request, _("Đã hủy lịch."))
        return redirect(_list_url(window.year_start))


# --------------------------------------------------------------------------------------- exceptions


class ExceptionListView(CapabilityRequiredMixin, View):
    """Requests to unlock: those waiting for this tier's decision first, then the decided ones."""

    required_capability = "windows.view"

    def get(self, request):
        acc = access(request)
        show = request.GET.get("status", "requested")
        qs, scope = exceptions_in_scope(acc, status=show if show in ExceptionStatus.values else None)
        rows_all = list(qs.order_by("-requested_at")[:300])
        names = school_names({e.school_id for e in rows_all} | {e.window.school_id for e in rows_all})
        auth, can_decide = WindowAuthority(acc), acc.has("windows.decide")
        setters = setter_tiers({e.window for e in rows_all})
        rows = []
        for e in rows_all:
            w = e.window
            rows.append(
                {
                    "exception": e,
                    "window": w,
                    "school": names.get(e.school_id, ""),
                    "scope": scope_name(w, scope.tree, names),
                    "tier_label": setter_label(setters, w),
                    "category_label": DataCategory(w.category).label,
                    "classes": len(e.class_ids),
                    "students": len(e.student_ids),
                    "status_label": ExceptionStatus(e.status).label,
                    "can_decide": can_decide and e.status == ExceptionStatus.REQUESTED and auth.may_decide(w),
                }
            )
        ctx = {"rows": rows, "status": show, "statuses": ExceptionStatus.choices, "form": DecideForm()}
        return TemplateResponse(request, "tenants/exception_list.html", ctx)


class ExceptionDecideView(CapabilityRequiredMixin, View):
    required_capability = "windows.decide"

    def post(self, request, pk: int):
        acc = access(request)
        qs, _scope = exceptions_in_scope(acc)
        exception = qs.filter(pk=pk).first()
        target = reverse("window_exceptions")
        if exception is None:
            return refuse(request, NO_SUCH_REQUEST, status=404)
        try:
            svc.exception_decide_authorise(actor=request.user, window=exception.window)
        except DomainError as exc:
            return refuse(request, exc.message, status=exc.http_status)
        form = DecideForm(request.POST)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return redirect(target)
        try:
            svc.exception_decide(
                actor=request.user,
                exception=exception,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return redirect(target)
        messages.success(
            request, _("Đã duyệt đề nghị.") if form.cleaned_data["decision"] == "approve" else _("Đã từ chối đề nghị.")
        )
        return redirect(target)


# ------------------------------------------------------------------------------------------ import


class CalendarImportView(CapabilityRequiredMixin, View):
    """A year's calendar from XLSX: every row checked by the service, saved all together or not at all."""

    required_capability = "windows.schedule"

    def _form(self, request, data=None, files=None):
        acc = access(request)
        year = year_param(request.GET.get("year") or request.POST.get("year_start"))
        return CalendarImportForm(
            data, files, scopes=scope_choices(acc), years=years_offered(acc, year), initial={"year_start": year}
        )

    def get(self, request):
        form = self._form(request)
        if not form.fields["scope"].choices:
            return refuse(request, NO_SCOPE)
        return TemplateResponse(request, "tenants/window_import.html", {"form": form})

    def post(self, request):
        form = self._form(request, request.POST, request.FILES)
        if chosen_outside(request, form, "scope"):
            return refuse(request, OUT_OF_SCOPE)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return TemplateResponse(request, "tenants/window_import.html", {"form": form}, status=400)
        d = form.cleaned_data
        unit, school = resolve_scope(d["scope"])
        upload = d["file"]
        try:
            check_upload_size(upload.size)
            report = calendar_import(
                actor=request.user, content=upload.read(), year_start=d["year_start"], unit=unit, school=school
            )
        except DomainError as exc:
            problems = [p.as_dict() for p in getattr(exc, "problems", [])]
            return TemplateResponse(
                request,
                "tenants/window_import.html",
                {"form": form, "error": refusal_texts(exc), "problems": problems},
                status=400,
            )
        ctx = {"form": form, "report": report, "year": d["year_start"], "list_url": _list_url(d["year_start"])}
        return TemplateResponse(request, "tenants/window_import_result.html", ctx, status=200 if report.ok else 400)


class CalendarTemplateView(CapabilityRequiredMixin, View):
    required_capability = "windows.schedule"

    def get(self, request):
        year = year_param(request.GET.get("year"))
        content = template_bytes(year_start=year)
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, f"lich-mo-khoa-{year}-{year + 1}.xlsx")
        return response
