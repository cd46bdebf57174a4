"""The open/lock windows as the school sees them (``/windows/`` on the school's site): the windows that
apply to the school now and their state, the principal's early lock of the school (a school-tier
window, Long An reg. art. 6.3), requests for exceptions to a lock and their status.

Scheduling, requesting and their checks are the public services' (tenants.services.windows); this
module only reads the school's own classes and students to offer them and to name them.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError
from hocba.kernel.forms import LOCAL_FORMAT, moment_field
from hocba.kernel.refusals import refusal_text
from hocba.kernel.schoolyear import current_school_year

from tenants.selectors import unit_tree_on
from tenants.selectors.windows import (
    default_opening,
    exceptions_of_school,
    school_by_id,
    school_grades,
    school_lock,
    scope_name,
    timeline,
    windows_for_school,
)
from tenants.services import windows as svc
from tenants.windows import (
    STATE_LABELS,
    DataCategory,
    ExceptionStatus,
    WindowTier,
    setter_label,
    setter_tiers,
    window_state,
)

from ..selectors import current_year, school_years
from ..selectors.windows import class_and_student_names, class_choices, student_choices
from .common import SchoolPage


def _window_label(w, setters: dict[int, str]) -> str:
    local = timezone.localtime(w.locks_at).strftime(LOCAL_FORMAT)
    grades = (" · " + _("khối %(g)s") % {"g": ", ".join(map(str, w.grades))}) if w.grades else ""
    return f"{DataCategory(w.category).label} — {setter_label(setters, w)}{grades} — {_('khóa lúc')} {local}"


class EarlyLockForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Loại dữ liệu"), choices=DataCategory.choices)
    grades = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Khối"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Để trống: mọi khối của trường."),
    )
    locks_at = moment_field(gettext_lazy("Khóa lúc"))
    opens_at = moment_field(gettext_lazy("Mở từ (không bắt buộc)"), required=False)
    reason = forms.CharField(label=gettext_lazy("Lý do"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args, grades: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grades"].choices = [(g, str(g)) for g in grades]
        self.fields["opens_at"].help_text = gettext_lazy(
            "dd/mm/yyyy HH:MM; để trống: từ lúc cấp trên mở (hoặc đầu năm học)."
        )


class ExceptionRequestForm(forms.Form):
    window = forms.TypedChoiceField(label=gettext_lazy("Lịch đang khóa"), coerce=int)
    classes = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Lớp"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    students = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Hoặc học sinh"), coerce=int, required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )
    until = moment_field(gettext_lazy("Mở đến"))
    reason = forms.CharField(
        label=gettext_lazy("Lý do"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )

    def __init__(self, *args, windows: list, year, **kwargs):
        super().__init__(*args, **kwargs)
        setters = setter_tiers(windows)
        self.fields["window"].choices = [(w.pk, _window_label(w, setters)) for w in windows]
        self.fields["classes"].choices = class_choices(year)
        self.fields["students"].choices = student_choices(year)

    def clean(self):
        data = super().clean()
        if not data.get("classes") and not data.get("students"):
            raise forms.ValidationError(_("Chọn lớp hoặc học sinh được mở khóa."))
        return data


def _requestable(windows: list, now: dt.datetime) -> list:
    """The windows above the school one may ask an exception to, those refusing writes now first."""
    above = [w for w in windows if w.tier != WindowTier.SCHOOL]
    return sorted(above, key=lambda w: (window_state(w, now) == "open", w.locks_at))


class SchoolWindowsView(SchoolPage):
    required_capability = "windows.view"

    def school(self):
        return school_by_id(self.request.tenant.pk)

    def year(self) -> int:
        """The year asked (``?year=2025``) if the school has it; else the calendar's school year if the school has
        it, else the school's latest year (a school that has not opened this year yet is not shown an empty one);
        a school without any year: the calendar's."""
        have = [y.start_year for y in school_years()]
        asked = self.request.GET.get("year", "")
        if asked.isdigit() and int(asked) in have:
            return int(asked)
        calendar = current_school_year()
        return calendar if not have or calendar in have else have[0]

    def page_url(self, year: int) -> str:
        return f"{reverse('windows:school_windows')}?year={year}"

    def context(self, *, lock_form=None, request_form=None) -> dict:
        school, year, access = self.school(), self.year(), self.access
        windows = windows_for_school(school, year)
        now = timezone.now()
        can_lock, can_request = access.can("windows.schedule"), access.can("windows.request")
        setters = setter_tiers(windows)
        rows = [
            {
                "window": w,
                "tier_label": setter_label(setters, w),
                "category_label": DataCategory(w.category).label,
                "state": window_state(w, now),
                "state_label": STATE_LABELS[window_state(w, now)],
                "set_by": (w.set_by.full_name or w.set_by.username) if w.set_by else "",
                "can_cancel": can_lock and w.tier == WindowTier.SCHOOL and w.school_id == school.pk,
            }
            for w in windows
        ]
        tree = unit_tree_on(timezone.localdate())
        labels = {w.pk: scope_name(w, tree, {school.pk: school.name}) for w in windows}
        for row in rows:
            row["scope"] = labels[row["window"].pk]
        school_year = current_year()
        requestable = _requestable(windows, now)
        if can_lock and lock_form is None:
            lock_form = EarlyLockForm(grades=sorted(school_grades(school)))
        if can_request and request_form is None and requestable:
            request_form = ExceptionRequestForm(windows=requestable, year=school_year)
        requests = list(exceptions_of_school(school.pk).order_by("-requested_at")[:100])
        setters.update(setter_tiers({e.window for e in requests if e.window_id not in setters}))
        class_names, student_names = class_and_student_names(
            {c for e in requests for c in e.class_ids}, {s for e in requests for s in e.student_ids}
        )
        request_rows = [
            {
                "exception": e,
                "category_label": DataCategory(e.window.category).label,
                "tier_label": setter_label(setters, e.window),
                "status_label": ExceptionStatus(e.status).label,
                "classes": [class_names.get(c, f"#{c}") for c in e.class_ids],
                "students": [student_names.get(s, f"#{s}") for s in e.student_ids],
                "active": e.status == ExceptionStatus.APPROVED and e.until > now,
            }
            for e in requests
        ]
        return {
            "school": school,
            "year": year,
            "year_label": f"{year}–{year + 1}",
            "years": [(y.start_year, y.label) for y in school_years()],
            "rows": rows,
            "timeline": timeline(windows, year, labels, now),
            "lock_form": lock_form if can_lock else None,
            "request_form": request_form if can_request else None,
            "can_request": can_request,
            "requestable": bool(requestable),
            "requests": request_rows,
            "school_year": school_year,
        }

    def render(self, status: int = 200, **forms_):
        return TemplateResponse(self.request, "schools/window_school.html", self.context(**forms_), status=status)

    def get(self, request):
        return self.render()


class EarlyLockView(SchoolWindowsView):
    required_capability = "windows.schedule"
    http_method_names = ["post"]

    def post(self, request):
        school, year = self.school(), self.year()
        form = EarlyLockForm(request.POST, grades=sorted(school_grades(school)))
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return self.render(400, lock_form=form)
        d = form.cleaned_data
        opens_at = d["opens_at"] or default_opening(school, d["category"], year, d["grades"])
        try:
            svc.window_create(
                actor=request.user,
                category=d["category"],
                year_start=year,
                opens_at=opens_at,
                locks_at=d["locks_at"],
                school=school,
                grades=d["grades"],
                reason=d["reason"],
            )
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return self.render(exc.http_status, lock_form=form)
        messages.success(request, _("Đã đặt lịch khóa sớm cho trường."))
        return redirect(self.page_url(year))


class ExceptionRequestView(SchoolWindowsView):
    required_capability = "windows.request"
    http_method_names = ["post"]

    def post(self, request):
        school, year = self.school(), self.year()
        requestable = _requestable(windows_for_school(school, year), timezone.now())
        form = ExceptionRequestForm(request.POST, windows=requestable, year=current_year())
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return self.render(400, request_form=form)
        d = form.cleaned_data
        window = next(w for w in requestable if w.pk == d["window"])
        try:
            svc.exception_request(
                actor=request.user,
                window=window,
                school=school,
                until=d["until"],
                reason=d["reason"],
                class_ids=d["classes"],
                student_ids=d["students"],
            )
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return self.render(exc.http_status, request_form=form)
        messages.success(request, _("Đã gửi đề nghị mở khóa; cấp đặt lịch sẽ xem xét."))
        return redirect(self.page_url(year))


class SchoolWindowCancelView(SchoolWindowsView):
    required_capability = "windows.schedule"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school = self.school()
        window = school_lock(school.pk, pk)
        if window is None:
            messages.error(request, _("Không tìm thấy lịch khóa của trường."))
            return redirect("windows:school_windows")
        try:
            svc.window_cancel(actor=request.user, window=window)
        except DomainError as exc:
            messages.error(request, refusal_text(exc))
            return redirect("windows:school_windows")
        messages.success(request, _("Đã hủy lịch khóa sớm."))
        return redirect(self.page_url(window.year_start))
