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
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError

from tenants.models import DataCategory, School, Window, WindowException, WindowTier
from tenants.models.windows import ExceptionStatus
from tenants.services import windows as svc
from tenants.views import windows as shared
from tenants.windows_import import LOCAL_FORMAT, school_year_of

from ..models import Enrolment, SchoolClass, Student
from ..selectors import current_year
from .common import SchoolPage, error_text


def unknown_class_or_student_ids(class_ids: list[int], student_ids: list[int]) -> dict[str, list[int]]:
    """The ids that are not a class (or a student enrolled in a class) of the school's current year."""
    year = current_year()
    out: dict[str, list[int]] = {}
    if class_ids:
        known = set(SchoolClass.objects.filter(year=year, pk__in=class_ids).values_list("pk", flat=True)) if year else set()
        if set(class_ids) - known:
            out["class_ids"] = sorted(set(class_ids) - known)
    if student_ids:
        known = set(Enrolment.objects.filter(school_class__year=year, student_id__in=student_ids)
                    .values_list("student_id", flat=True)) if year else set()
        if set(student_ids) - known:
            out["student_ids"] = sorted(set(student_ids) - known)
    return out


def _window_label(w: Window) -> str:
    local = timezone.localtime(w.locks_at).strftime(LOCAL_FORMAT)
    grades = (" · " + _("khối %(g)s") % {"g": ", ".join(map(str, w.grades))}) if w.grades else ""
    return f"{DataCategory(w.category).label} — {WindowTier(w.tier).label}{grades} — {_('khóa lúc')} {local}"


def _class_choices(year) -> list[tuple[int, str]]:
    if year is None:
        return []
    return [(c.pk, c.name) for c in SchoolClass.objects.filter(year=year).order_by("grade", "name")]


def _student_choices(year) -> list[tuple[str, list[tuple[int, str]]]]:
    """Students of the current year, grouped by class (optgroups)."""
    if year is None:
        return []
    groups: dict[str, list[tuple[int, str]]] = {}
    rows = (Enrolment.objects.filter(school_class__year=year, ends_on__isnull=True)
            .select_related("student", "school_class").order_by("school_class__grade", "school_class__name",
                                                                 "student__sort_key"))
    for e in rows:
        groups.setdefault(e.school_class.name, []).append((e.student_id, e.student.full_name))
    return list(groups.items())


class EarlyLockForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Loại dữ liệu"), choices=DataCategory.choices)
    grades = forms.TypedMultipleChoiceField(label=gettext_lazy("Khối"), coerce=int, required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text=gettext_lazy("Để trống: mọi khối của trường."))
    locks_at = shared.moment_field(gettext_lazy("Khóa lúc"))
    opens_at = shared.moment_field(gettext_lazy("Mở từ (không bắt buộc)"), required=False)
    reason = forms.CharField(label=gettext_lazy("Lý do"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args, grades: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grades"].choices = [(g, str(g)) for g in grades]
        self.fields["opens_at"].help_text = gettext_lazy(
            "dd/mm/yyyy HH:MM; để trống: từ lúc cấp trên mở (hoặc đầu năm học).")


class ExceptionRequestForm(forms.Form):
    window = forms.TypedChoiceField(label=gettext_lazy("Lịch đang khóa"), coerce=int)
    classes = forms.TypedMultipleChoiceField(label=gettext_lazy("Lớp"), coerce=int, required=False,
                                             widget=forms.CheckboxSelectMultiple)
    students = forms.TypedMultipleChoiceField(label=gettext_lazy("Hoặc học sinh"), coerce=int, required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 8}))
    until = shared.moment_field(gettext_lazy("Mở đến"))
    reason = forms.CharField(label=gettext_lazy("Lý do"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args, windows: list[Window], year, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].choices = [(w.pk, _window_label(w)) for w in windows]
        self.fields["classes"].choices = _class_choices(year)
        self.fields["students"].choices = _student_choices(year)

    def clean(self):
        data = super().clean()
        if not data.get("classes") and not data.get("students"):
            raise forms.ValidationError(_("Chọn lớp hoặc học sinh được mở khóa."))
        return data


def _requestable(windows: list[Window], now: dt.datetime) -> list[Window]:
    """The windows above the school one may ask an exception to, those refusing writes now first."""
    above = [w for w in windows if w.tier != WindowTier.SCHOOL]
    return sorted(above, key=lambda w: (shared.window_state(w, now) == "open", w.locks_at))


def default_opening(school: School, category: str, year: int, grades: list[int]) -> dt.datetime:
    """Where an early lock starts when the principal leaves it blank: the latest opening among the windows
    above for the same data (so that the lock only narrows them), else the start of the school year."""
    day = timezone.localdate()
    above = svc.units_above(WindowTier.SCHOOL, None, school, day)
    start, _end = svc.school_year_bounds(year)
    if not above:
        return start
    qs = Window.objects.filter(svc.overlapping_categories(category), year_start=year, cancelled_at__isnull=True, unit_id__in=above)
    opens = [w.opens_at for w in qs if not (w.grades and grades and not set(w.grades) & set(grades))]
    return max([start, *opens])


class SchoolWindowsView(SchoolPage):
    required_capability = "windows.view"

    def school(self) -> School:
        return School.objects.get(pk=self.request.tenant.pk)

    def year(self) -> int:
        return school_year_of(timezone.localdate())

    def context(self, *, lock_form=None, request_form=None) -> dict:
        school, year, access = self.school(), self.year(), self.access
        windows = shared.windows_for_school(school, year)
        now = timezone.now()
        can_lock, can_request = access.can("windows.schedule"), access.can("windows.request")
        rows = [{"window": w, "tier_label": WindowTier(w.tier).label, "category_label": DataCategory(w.category).label,
                 "state": shared.window_state(w, now), "state_label": shared.STATE_LABELS[shared.window_state(w, now)],
                 "set_by": (w.set_by.full_name or w.set_by.username) if w.set_by else "",
                 "can_cancel": can_lock and w.tier == WindowTier.SCHOOL and w.school_id == school.pk} for w in windows]
        tree = shared.selectors.unit_tree_on(timezone.localdate())
        labels = {w.pk: shared.scope_name(w, tree, {school.pk: school.name}) for w in windows}
        for row in rows:
            row["scope"] = labels[row["window"].pk]
        school_year = current_year()
        requestable = _requestable(windows, now)
        if can_lock and lock_form is None:
            lock_form = EarlyLockForm(grades=sorted(shared.school_grades(school)))
        if can_request and request_form is None and requestable:
            request_form = ExceptionRequestForm(windows=requestable, year=school_year)
        requests = list(WindowException.objects.filter(school_id=school.pk)
                        .select_related("window", "requested_by", "decided_by").order_by("-requested_at")[:100])
        class_names = dict(SchoolClass.objects.filter(pk__in={c for e in requests for c in e.class_ids})
                           .values_list("pk", "name"))
        student_names = dict(Student.objects.filter(pk__in={s for e in requests for s in e.student_ids})
                             .values_list("pk", "full_name"))
        request_rows = [{
            "exception": e, "category_label": DataCategory(e.window.category).label,
            "tier_label": WindowTier(e.window.tier).label, "status_label": ExceptionStatus(e.status).label,
            "classes": [class_names.get(c, f"#{c}") for c in e.class_ids],
            "students": [student_names.get(s, f"#{s}") for s in e.student_ids],
            "active": e.status == ExceptionStatus.APPROVED and e.until > now,
        } for e in requests]
        return {"school": school, "year": year, "year_label": f"{year}–{year + 1}", "rows": rows,
                "timeline": shared.timeline(windows, year, labels, now),
                "lock_form": lock_form if can_lock else None, "request_form": request_form if can_request else None,
                "can_request": can_request, "requestable": bool(requestable), "requests": request_rows,
                "school_year": school_year}

    def render(self, status: int = 200, **forms_):
        return TemplateResponse(self.request, "schools/window_school.html", self.context(**forms_), status=status)

    def get(self, request):
        return self.render()


class EarlyLockView(SchoolWindowsView):
    required_capability = "windows.schedule"
    http_method_names = ["post"]

    def post(self, request):
        school, year = self.school(), self.year()
        form = EarlyLockForm(request.POST, grades=sorted(shared.school_grades(school)))
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return self.render(400, lock_form=form)
        d = form.cleaned_data
        opens_at = d["opens_at"] or default_opening(school, d["category"], year, d["grades"])
        try:
            svc.window_create(actor=request.user, category=d["category"], year_start=year, opens_at=opens_at,
                              locks_at=d["locks_at"], school=school, grades=d["grades"], reason=d["reason"])
        except DomainError as exc:
            messages.error(request, error_text(exc))
            return self.render(exc.http_status, lock_form=form)
        messages.success(request, _("Đã đặt lịch khóa sớm cho trường."))
        return redirect("windows:school_windows")


class ExceptionRequestView(SchoolWindowsView):
    required_capability = "windows.request"
    http_method_names = ["post"]

    def post(self, request):
        school, year = self.school(), self.year()
        requestable = _requestable(shared.windows_for_school(school, year), timezone.now())
        form = ExceptionRequestForm(request.POST, windows=requestable, year=current_year())
        if not form.is_valid():
            messages.error(request, _("Dữ liệu chưa hợp lệ: %(e)s") % {"e": form.errors.as_text()})
            return self.render(400, request_form=form)
        d = form.cleaned_data
        window = next(w for w in requestable if w.pk == d["window"])
        try:
            svc.exception_request(actor=request.user, window=window, school=school, until=d["until"],
                                  reason=d["reason"], class_ids=d["classes"], student_ids=d["students"])
        except DomainError as exc:
            messages.error(request, error_text(exc))
            return self.render(exc.http_status, request_form=form)
        messages.success(request, _("Đã gửi đề nghị mở khóa; cấp đặt lịch sẽ xem xét."))
        return redirect("windows:school_windows")


class SchoolWindowCancelView(SchoolWindowsView):
    required_capability = "windows.schedule"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school = self.school()
        window = Window.objects.filter(pk=pk, school_id=school.pk, tier=WindowTier.SCHOOL).first()
        if window is None:
            messages.error(request, _("Không tìm thấy lịch khóa của trường."))
            return redirect("windows:school_windows")
        try:
            svc.window_cancel(actor=request.user, window=window)
        except DomainError as exc:
            messages.error(request, error_text(exc))
            return redirect("windows:school_windows")
        messages.success(request, _("Đã hủy lịch khóa sớm."))
        return redirect("windows:school_windows")
