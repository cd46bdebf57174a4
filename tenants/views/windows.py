"""Open/lock window pages of the platform site (DESIGN §5): the windows in scope with a timeline of the
school year, create and edit with a preview, cancel, the exceptions to decide, and the calendar import.

Every check of meaning and of authority is the service's (tenants.services.windows); the preview runs
the same service call in a savepoint that is rolled back. Cross-school figures come only from the
public SchoolRollup rows: nothing here reads a school's schema.

The read helpers at the top are shared with the API (tenants.api.windows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.roles import Role

from .. import selectors
from ..models import (
    AdministrativeUnit,
    DataCategory,
    ExceptionStatus,
    School,
    SchoolLevel,
    SchoolPlacement,
    SchoolRollup,
    Window,
    WindowException,
    WindowTier,
)
from ..services import windows as svc
from ..windows_import import (
    DATETIME_INPUT_FORMATS,
    LOCAL_FORMAT,
    LOCAL_PLACEHOLDER,
    BilingualError,
    calendar_import,
    error_texts,
    school_year_of,
    template_bytes,
)
from .common import access

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIER_ORDER = {WindowTier.PROVINCE: 0, WindowTier.UNIT: 1, WindowTier.SCHOOL: 2}


# =========================================================================================== reads


def today() -> dt.date:
    return timezone.localdate()


def current_year() -> int:
    return school_year_of(today())


def year_param(value: Any, default: int | None = None) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default or current_year()
    return year if 2000 <= year <= 2100 else (default or current_year())


@dataclass
class Scope:
    """Where a person sees windows: units (with the units above them, whose windows apply) and schools."""

    units: set[int]
    schools: set[int]
    tree: selectors.UnitTree

    def q(self) -> Q:
        return Q(unit_id__in=self.units) | Q(school_id__in=self.schools)


def window_scope(acc, capability: str = "windows.view") -> Scope:
    day = acc.day
    tree = acc.tree or selectors.unit_tree_on(day)
    units = set(acc.units_with(capability))
    schools = set(acc.schools_with(capability))
    placements = dict(acc.placements)
    missing = [s for s in schools if s not in placements]
    if missing:  # schools held directly (a principal): where they sit today
        placements.update(SchoolPlacement.objects.on(day).filter(school_id__in=missing).values_list("school_id", "unit_id"))
    seen = set(units) | {placements[s] for s in schools if s in placements}
    above: set[int] = set()
    for unit_id in seen:
        above |= {unit_id, *tree.ancestors(unit_id)}
    return Scope(units | above, schools, tree)


class Authority:
    """What the person may do to windows, computed once from their Access (display only: the services decide)."""

    def __init__(self, acc):
        self.acc = acc
        self.schedule_units = acc.units_with("windows.schedule")
        self.schedule_schools = acc.schools_with("windows.schedule")
        self.decide_units = acc.units_with("windows.decide")
        self.province_units = {g.unit_id for g in acc.grants if g.role is Role.PROVINCE_ADMIN and g.unit_id}

    def may_schedule(self, window: Window) -> bool:
        if window.tier == WindowTier.SCHOOL:
            return window.school_id in self.schedule_schools
        if window.tier == WindowTier.PROVINCE:
            return window.unit_id in self.province_units
        return window.unit_id in self.schedule_units

    def may_decide(self, window: Window) -> bool:
        if window.tier == WindowTier.SCHOOL:
            return window.school_id in self.schedule_schools
        return window.unit_id in self.decide_units


def school_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(School.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def scope_name(window: Window, tree: selectors.UnitTree, names: dict[int, str]) -> str:
    if window.school_id:
        return names.get(window.school_id, f"#{window.school_id}")
    node = tree.nodes.get(window.unit_id)
    return node.name if node else f"#{window.unit_id}"


def set_by_name(window: Window) -> str:
    return (window.set_by.full_name or window.set_by.username) if window.set_by else ""


def window_state(window: Window, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if window.cancelled_at:
        return "cancelled"
    if now < window.opens_at:
        return "not_open"
    return "open" if now < window.locks_at else "locked"


STATE_LABELS = {
    "cancelled": gettext_lazy("Đã hủy"),
    "not_open": gettext_lazy("Chưa mở"),
    "open": gettext_lazy("Đang mở"),
    "locked": gettext_lazy("Đã khóa"),
}


CATEGORY_INDEX = {code: i for i, code in enumerate(DataCategory.values)}


def category_order(window: Window) -> tuple:
    return (CATEGORY_INDEX.get(window.category, 99), TIER_ORDER.get(window.tier, 9), window.opens_at, window.pk)


def windows_in_scope(acc, year: int | None, *, include_cancelled: bool = False) -> tuple[list[Window], Scope]:
    scope = window_scope(acc)
    qs = Window.objects.filter(scope.q()).select_related("set_by")
    if year is not None:
        qs = qs.filter(year_start=year)
    if not include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    return sorted(qs, key=category_order), scope


def window_in_scope(acc, pk: int) -> Window | None:
    return Window.objects.filter(window_scope(acc).q(), pk=pk).select_related("set_by").first()


def years_offered(acc, selected: int) -> list[int]:
    now = current_year()
    return sorted({now - 1, now, now + 1, selected}, reverse=True)


# ----------------------------------------------------------------------------------- the timeline


MONTHS = [9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7]


def timeline(windows: list[Window], year: int, labels: dict[int, str], now: dt.datetime | None = None) -> dict:
    """Bars per category across September–July, as percentages for plain HTML/CSS, and today's marker."""
    tz = timezone.get_default_timezone()
    start = dt.datetime(year, 9, 1, tzinfo=tz)
    end = dt.datetime(year + 1, 8, 1, tzinfo=tz)
    span = (end - start).total_seconds()

    def pct(moment: dt.datetime) -> float:
        return round(max(0.0, min(span, (moment - start).total_seconds())) * 100 / span, 2)

    months = []
    for m in MONTHS:
        first = dt.datetime(year if m >= 9 else year + 1, m, 1, tzinfo=tz)
        months.append({"label": f"T{m}", "left": f"{pct(first):.2f}", "month": m})
    rows = []
    for code, label in DataCategory.choices:
        bars = []
        for w in sorted((w for w in windows if w.category == code and not w.cancelled_at),
                        key=lambda w: (TIER_ORDER.get(w.tier, 9), w.opens_at)):
            left, right = pct(w.opens_at), pct(w.locks_at)
            bars.append({
                "window": w, "left": f"{left:.2f}", "width": f"{max(right - left, 0.6):.2f}", "tier": w.tier,
                "top": f"{len(bars) * 1.5 + 0.2:.1f}",
                "tier_label": WindowTier(w.tier).label, "scope": labels.get(w.pk, ""),
                "clipped_left": w.opens_at < start, "clipped_right": w.locks_at > end,
                "outside": w.locks_at <= start or w.opens_at >= end,
                "opens": timezone.localtime(w.opens_at).strftime(LOCAL_FORMAT),
                "locks": timezone.localtime(w.locks_at).strftime(LOCAL_FORMAT),
                "grades": w.grades,
            })
        rows.append({"category": code, "label": label, "bars": bars, "height": f"{max(1, len(bars)) * 1.5 + 0.4:.1f}"})
    now = now or timezone.now()
    marker = f"{pct(now):.2f}" if start <= now < end else None
    return {"year": year, "label": f"{year}–{year + 1}", "months": months, "rows": rows, "today": marker,
            "today_text": timezone.localtime(now).strftime("%d/%m/%Y")}


# ------------------------------------------------------------------------------------ the preview


class _DryRun(Exception):
    pass


@dataclass
class Preview:
    tier: str
    schools: int
    schools_with_figures: int
    students: int | None
    classes: int | None
    grades: list[int]
    grades_filtered: bool
    errors: list[dict] = field(default_factory=list)
    higher: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def figures_partial(self) -> bool:
        return 0 < self.schools_with_figures < self.schools

    def as_dict(self) -> dict:
        return {"ok": self.ok, "tier": self.tier, "schools": self.schools, "schools_with_figures": self.schools_with_figures,
                "students": self.students, "classes": self.classes, "grades": self.grades,
                "grades_filtered": self.grades_filtered, "errors": self.errors, "higher": self.higher}


def _tier_of(unit: AdministrativeUnit | None, school: School | None, tree: selectors.UnitTree) -> str:
    if school is not None:
        return WindowTier.SCHOOL
    node = tree.nodes.get(unit.pk) if unit else None
    return WindowTier.PROVINCE if node is not None and node.parent_id is None else WindowTier.UNIT


def all_grades(grades: list[int] | None, levels: list[str] | None) -> list[int]:
    out = set()
    for g in grades or []:
        try:
            out.add(int(g))
        except (TypeError, ValueError):
            continue
    for level in levels or []:
        out |= set(svc.LEVEL_GRADES.get(level, []))
    return sorted(out)


def affected_schools(unit: AdministrativeUnit | None, school: School | None, grades: list[int],
                     tree: selectors.UnitTree) -> list[int]:
    """The schools a window of this scope reaches today: placements under the unit, by level when grades are named."""
    if school is not None:
        ids = [school.pk]
    elif unit is not None and unit.pk in tree.nodes:
        ids = list(selectors.school_placements_on(tree.day, unit_ids=tree.descendants(unit.pk)))
    else:
        return []
    if not grades or not ids:
        return ids
    wanted = set(grades)
    keep = []
    for school_id, levels in School.objects.filter(pk__in=ids).values_list("pk", "levels"):
        if any(set(svc.LEVEL_GRADES.get(level, [])) & wanted for level in levels or []):
            keep.append(school_id)
    return keep


def window_preview(actor, *, unit: AdministrativeUnit | None = None, school: School | None = None, category: str = "",
                   year_start: int, opens_at: dt.datetime | None, locks_at: dt.datetime | None,
                   grades: list[int] | None = None, levels: list[str] | None = None, reason: str = "",
                   window: Window | None = None) -> Preview:
    """What saving would do — the service's own verdict (run in a savepoint, rolled back) and the reach."""
    if window is not None:
        unit, school, category = window.unit, window.school, window.category
        year_start, grades, levels = window.year_start, window.grades, []
    tree = selectors.unit_tree_on(today())
    wanted = all_grades(grades, levels)
    errors: list[dict] = []
    try:
        with transaction.atomic():
            if window is not None:
                svc.window_update(actor=actor, window=window, opens_at=opens_at, locks_at=locks_at, reason=reason)
            else:
                svc.window_create(actor=actor, category=category, year_start=year_start, opens_at=opens_at,
                                  locks_at=locks_at, unit=unit, school=school, grades=grades, levels=levels,
                                  reason=reason)
            raise _DryRun
    except _DryRun:
        pass
    except DomainError as exc:
        errors.append(exc.as_dict())
    tier = _tier_of(unit, school, tree) if (unit or school) else ""
    school_ids = affected_schools(unit, school, wanted, tree)
    figures = list(SchoolRollup.objects.filter(school_id__in=school_ids, year_start=year_start).values_list("students", flat=True))
    higher = []
    if (unit or school) and category in DataCategory.values:
        above = svc.units_above(tier, unit, school, tree.day)
        if above:
            qs = Window.objects.filter(svc.overlapping_categories(category), year_start=year_start, cancelled_at__isnull=True,
                                       unit_id__in=above).select_related("set_by").order_by("opens_at")
            if window is not None:
                qs = qs.exclude(pk=window.pk)
            for other in qs:
                node = tree.nodes.get(other.unit_id)
                higher.append({
                    "id": other.pk, "tier": other.tier, "tier_label": str(WindowTier(other.tier).label),
                    "scope": node.name if node else "", "category": other.category,
                    "category_label": str(DataCategory(other.category).label), "grades": other.grades,
                    "opens_at": other.opens_at, "locks_at": other.locks_at,
                    "opens": timezone.localtime(other.opens_at).strftime(LOCAL_FORMAT),
                    "locks": timezone.localtime(other.locks_at).strftime(LOCAL_FORMAT),
                    "set_by": (other.set_by.full_name or other.set_by.username) if other.set_by else "",
                })
    return Preview(
        tier=tier, schools=len(school_ids), schools_with_figures=len(figures),
        students=sum(figures) if figures else None, classes=None, grades=wanted, grades_filtered=bool(wanted),
        errors=errors, higher=higher,
    )


# ------------------------------------------------------------------------------- choices of scope


def scope_choices(acc) -> list[tuple[str, str]]:
    """The units the person may schedule (tree order, indented) then the schools (school-tier locks)."""
    tree = acc.tree or selectors.unit_tree_on(acc.day)
    auth = Authority(acc)
    out: list[tuple[str, str]] = []

    def allowed(unit_id: int) -> bool:
        node = tree.nodes[unit_id]
        if node.parent_id is None:
            return unit_id in auth.province_units
        return unit_id in auth.schedule_units

    def walk(unit_id: int, depth: int) -> None:
        node = tree.nodes[unit_id]
        if allowed(unit_id):
            out.append((f"unit:{unit_id}", f"{'— ' * depth}{node.name} ({node.official_code})"))
        for child in tree.children.get(unit_id, ()):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root.id, 0)
    if auth.schedule_schools:
        for school_id, name in sorted(school_names(auth.schedule_schools).items(), key=lambda x: x[1]):
            out.append((f"school:{school_id}", _("Trường: %(name)s") % {"name": name}))
    return out


def resolve_scope(value: str) -> tuple[AdministrativeUnit | None, School | None]:
    kind, _sep, raw = (value or "").partition(":")
    try:
        pk = int(raw)
    except ValueError:
        return None, None
    if kind == "unit":
        return AdministrativeUnit.objects.filter(pk=pk).first(), None
    if kind == "school":
        return None, School.objects.filter(pk=pk).first()
    return None, None


# =========================================================================================== forms


DATETIME_WIDGET = forms.DateTimeInput(format=LOCAL_FORMAT, attrs={"placeholder": LOCAL_PLACEHOLDER, "inputmode": "numeric"})


def moment_field(label, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, required=required, input_formats=DATETIME_INPUT_FORMATS,
                               widget=DATETIME_WIDGET, help_text=gettext_lazy("dd/mm/yyyy HH:MM, giờ Việt Nam"))


GRADE_CHOICES = [(g, str(g)) for g in range(1, 13)]


class WindowForm(forms.Form):
    scope = forms.ChoiceField(label=gettext_lazy("Phạm vi"))
    category = forms.ChoiceField(label=gettext_lazy("Loại dữ liệu"), choices=DataCategory.choices)
    levels = forms.MultipleChoiceField(label=gettext_lazy("Cấp học"), choices=SchoolLevel.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple)
    grades = forms.TypedMultipleChoiceField(label=gettext_lazy("Khối"), choices=GRADE_CHOICES, coerce=int, required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text=gettext_lazy("Để trống cả cấp học và khối: mọi khối."))
    year_start = forms.TypedChoiceField(label=gettext_lazy("Năm học"), coerce=int)
    opens_at = moment_field(gettext_lazy("Mở lúc"))
    locks_at = moment_field(gettext_lazy("Khóa lúc"))
    reason = forms.CharField(label=gettext_lazy("Lý do, căn cứ"), max_length=300, required=False,
                             widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args, scopes: list[tuple[str, str]], years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scopes
        self.fields["year_start"].choices = [(y, f"{y}–{y + 1}") for y in years]


class WindowEditForm(forms.Form):
    opens_at = moment_field(gettext_lazy("Mở lúc"))
    locks_at = moment_field(gettext_lazy("Khóa lúc"))
    reason = forms.CharField(label=gettext_lazy("Lý do, căn cứ"), max_length=300, required=False,
                             widget=forms.TextInput(attrs={"size": 60}))


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


def _lang_text(exc: DomainError) -> str:
    texts = error_texts(exc)
    return texts["en"] if translation.get_language() == "en" else texts["vi"]


def _refuse(request, vi_en: tuple[str, str] | None = None, status: int = 404) -> TemplateResponse:
    vi, en = vi_en or ("Không tìm thấy lịch này trong phạm vi của bạn.", "No such window in your scope.")
    return TemplateResponse(request, "refusal.html", {"status": status, "texts": {"vi": vi, "en": en}}, status=status)


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
        auth = Authority(acc)
        pending = dict(WindowException.objects.filter(window__in=[w.pk for w in windows], status=ExceptionStatus.REQUESTED)
                       .values("window_id").annotate(n=Count("id")).values_list("window_id", "n"))
        now = timezone.now()
        rows = [{"window": w, "scope": labels[w.pk], "state": window_state(w, now),
                 "state_label": STATE_LABELS[window_state(w, now)], "can_edit": auth.may_schedule(w) and not w.cancelled_at,
                 "pending": pending.get(w.pk, 0), "tier_label": WindowTier(w.tier).label, "set_by": set_by_name(w),
                 "category_label": DataCategory(w.category).label} for w in windows]
        ctx = {
            "year": year, "year_label": f"{year}–{year + 1}", "years": years_offered(acc, year), "rows": rows,
            "timeline": timeline(windows, year, labels, now), "show_cancelled": show_cancelled,
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
        return TemplateResponse(request, "tenants/window_form.html",
                                {"form": form, "preview": preview, "window": None, "creating": True}, status=status)

    def get(self, request):
        form = self._form(request)
        if not form.fields["scope"].choices:
            return _refuse(request, ("Bạn không có phạm vi nào để đặt lịch.", "You have no scope to schedule windows for."),
                           status=403)
        return self._render(request, form)

    def post(self, request):
        form = self._form(request, request.POST)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return self._render(request, form, status=400)
        d = form.cleaned_data
        unit, school = resolve_scope(d["scope"])
        args = {"unit": unit, "school": school, "category": d["category"], "year_start": d["year_start"],
                "opens_at": d["opens_at"], "locks_at": d["locks_at"], "grades": d["grades"], "levels": d["levels"],
                "reason": d["reason"]}
        if request.POST.get("action") == "preview":
            return self._render(request, form, window_preview(request.user, **args))
        try:
            window = svc.window_create(actor=request.user, **args)
        except DomainError as exc:
            messages.error(request, _lang_text(exc))
            return self._render(request, form, window_preview(request.user, **args), status=exc.http_status)
        messages.success(request, _("Đã lưu lịch."))
        return redirect(_list_url(window.year_start))


class WindowEditView(CapabilityRequiredMixin, View):
    """One window: its details, the edit form with a preview (times and reason), and cancelling it."""

    required_capability = "windows.view"

    def _render(self, request, window, form, preview=None, status=200):
        acc = access(request)
        tree = acc.tree or selectors.unit_tree_on(acc.day)
        names = school_names([window.school_id])
        ctx = {"window": window, "form": form, "preview": preview, "creating": False,
               "scope": scope_name(window, tree, names), "state_label": STATE_LABELS[window_state(window)],
               "tier_label": WindowTier(window.tier).label, "category_label": DataCategory(window.category).label,
               "can_edit": form is not None, "set_by": set_by_name(window)}
        visible, _scope = exceptions_in_scope(acc)
        exceptions = list(visible.filter(window=window).order_by("-requested_at")[:50])
        names = school_names(e.school_id for e in exceptions)
        ctx["exception_rows"] = [(e, names.get(e.school_id, "")) for e in exceptions]
        return TemplateResponse(request, "tenants/window_form.html", ctx, status=status)

    def get(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return _refuse(request)
        form = None
        if Authority(acc).may_schedule(window) and not window.cancelled_at:
            form = WindowEditForm(initial={"opens_at": window.opens_at, "locks_at": window.locks_at, "reason": window.reason})
        return self._render(request, window, form)

    def post(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return _refuse(request)
        if not Authority(acc).may_schedule(window):
            return _refuse(request, ("Lịch này do cấp khác đặt; bạn không sửa được.",
                                     "This window was set by another tier; you cannot change it."), status=403)
        form = WindowEditForm(request.POST)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return self._render(request, window, form, status=400)
        d = form.cleaned_data
        args = {"opens_at": d["opens_at"], "locks_at": d["locks_at"], "reason": d["reason"]}
        if request.POST.get("action") == "preview":
            return self._render(request, window, form, window_preview(request.user, year_start=window.year_start,
                                                                      window=window, **args))
        try:
            svc.window_update(actor=request.user, window=window, **args)
        except DomainError as exc:
            messages.error(request, _lang_text(exc))
            return self._render(request, window, form, window_preview(request.user, year_start=window.year_start,
                                                                      window=window, **args), status=exc.http_status)
        messages.success(request, _("Đã lưu thay đổi."))
        return redirect(_list_url(window.year_start))


class WindowCancelView(CapabilityRequiredMixin, View):
    required_capability = "windows.schedule"

    def post(self, request, pk: int):
        acc = access(request)
        window = window_in_scope(acc, pk)
        if window is None:
            return _refuse(request)
        if not Authority(acc).may_schedule(window):
            return _refuse(request, ("Lịch này do cấp khác đặt; bạn không hủy được.",
                                     "This window was set by another tier; you cannot cancel it."), status=403)
        try:
            svc.window_cancel(actor=request.user, window=window)
        except DomainError as exc:
            messages.error(request, _lang_text(exc))
            return redirect("window_edit", pk)
        messages.success(request, _("Đã hủy lịch."))
        return redirect(_list_url(window.year_start))


# --------------------------------------------------------------------------------------- exceptions


def exceptions_in_scope(acc, *, status: str | None = None):
    """Requests from the schools in scope, and those on windows the person decides. Never another branch's
    schools' requests, even on a province window that applies to both."""
    scope = window_scope(acc)
    qs = WindowException.objects.filter(
        Q(school_id__in=scope.schools) | Q(window__unit_id__in=acc.units_with("windows.decide"))
    ).select_related("window", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs, scope


class ExceptionListView(CapabilityRequiredMixin, View):
    """Requests to unlock: those waiting for this tier's decision first, then the decided ones."""

    required_capability = "windows.view"

    def get(self, request):
        acc = access(request)
        show = request.GET.get("status", "requested")
        qs, scope = exceptions_in_scope(acc, status=show if show in ExceptionStatus.values else None)
        rows_all = list(qs.order_by("-requested_at")[:300])
        names = school_names({e.school_id for e in rows_all} | {e.window.school_id for e in rows_all})
        auth, can_decide = Authority(acc), acc.has("windows.decide")
        rows = []
        for e in rows_all:
            w = e.window
            rows.append({
                "exception": e, "window": w, "school": names.get(e.school_id, ""),
                "scope": scope_name(w, scope.tree, names), "tier_label": WindowTier(w.tier).label,
                "category_label": DataCategory(w.category).label, "classes": len(e.class_ids),
                "students": len(e.student_ids), "status_label": ExceptionStatus(e.status).label,
                "can_decide": can_decide and e.status == ExceptionStatus.REQUESTED and auth.may_decide(w),
            })
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
            return _refuse(request, ("Không tìm thấy đề nghị này trong phạm vi của bạn.",
                                     "No such request in your scope."))
        form = DecideForm(request.POST)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return redirect(target)
        try:
            svc.exception_decide(actor=request.user, exception=exception,
                                 approve=form.cleaned_data["decision"] == "approve", note=form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, _lang_text(exc))
            return redirect(target)
        messages.success(request, _("Đã duyệt đề nghị.") if form.cleaned_data["decision"] == "approve"
                         else _("Đã từ chối đề nghị."))
        return redirect(target)


# ------------------------------------------------------------------------------------------ import


class CalendarImportView(CapabilityRequiredMixin, View):
    """A year's calendar from XLSX: every row checked by the service, saved all together or not at all."""

    required_capability = "windows.schedule"

    def _form(self, request, data=None, files=None):
        acc = access(request)
        year = year_param(request.GET.get("year") or request.POST.get("year_start"))
        return CalendarImportForm(data, files, scopes=scope_choices(acc), years=years_offered(acc, year),
                                  initial={"year_start": year})

    def get(self, request):
        form = self._form(request)
        if not form.fields["scope"].choices:
            return _refuse(request, ("Bạn không có phạm vi nào để đặt lịch.", "You have no scope to schedule windows for."),
                           status=403)
        return TemplateResponse(request, "tenants/window_import.html", {"form": form})

    def post(self, request):
        form = self._form(request, request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, _invalid_text(form))
            return TemplateResponse(request, "tenants/window_import.html", {"form": form}, status=400)
        d = form.cleaned_data
        unit, school = resolve_scope(d["scope"])
        upload = d["file"]
        try:
            if upload.size > 5 * 1024 * 1024:
                raise BilingualError("windows.import_too_large", "Tệp lớn quá 5 MB.", "The file is larger than 5 MB.")
            report = calendar_import(actor=request.user, content=upload.read(), year_start=d["year_start"],
                                     unit=unit, school=school)
        except DomainError as exc:
            problems = [p.as_dict() for p in getattr(exc, "problems", [])]
            return TemplateResponse(request, "tenants/window_import.html",
                                    {"form": form, "error": error_texts(exc), "problems": problems}, status=400)
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


# ------------------------------------------------------------------------------- a school's windows


def school_chain(school_id: int, day: dt.date | None = None) -> set[int]:
    """The units above a school today (its unit and their ancestors): their windows apply to it."""
    day = day or today()
    node = selectors.unit_overseeing(school_id, day)
    return {node.id, *selectors.unit_tree_on(day).ancestors(node.id)} if node else set()


def school_grades(school: School) -> set[int]:
    return {g for level in school.levels or [] for g in svc.LEVEL_GRADES.get(level, [])}


def windows_for_school(school: School, year: int | None, *, include_cancelled: bool = False) -> list[Window]:
    """The windows that apply to one school (its own, its units'), keeping only those for its grades."""
    chain = school_chain(school.pk)
    qs = Window.objects.filter(Q(school_id=school.pk) | Q(unit_id__in=chain)).select_related("set_by")
    if year is not None:
        qs = qs.filter(year_start=year)
    if not include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    grades = school_grades(school)
    return sorted((w for w in qs if not w.grades or not grades or set(w.grades) & grades), key=category_order)
