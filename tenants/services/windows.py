"""Scheduling open/lock windows and deciding exceptions. Lower tiers narrow, never widen (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.forms import LOCAL_FORMAT
from hocba.kernel.levels import GRADES, grades_of
from hocba.kernel.schoolyear import school_year_bounds

from ..models import (
    Account,
    AdministrativeUnit,
    DataCategory,
    ExceptionStatus,
    School,
    SchoolRollup,
    Window,
    WindowException,
    WindowTier,
)
from ..selectors import access_for, unit_tree_on
from ..selectors.windows import (
    affected_schools,
    all_grades,
    overlapping_categories,
    school_chain,
    tier_of,
    today,
    units_above,
)
from ..windows import WindowAuthority
from .audit import audit_record


def _window_dict(w: Window) -> dict:
    return {
        "tier": w.tier,
        "unit_id": w.unit_id,
        "school_id": w.school_id,
        "grades": w.grades,
        "category": w.category,
        "year_start": w.year_start,
        "opens_at": w.opens_at,
        "locks_at": w.locks_at,
        "reason": w.reason,
        "cancelled_at": w.cancelled_at,
    }


def _fmt(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M %d/%m/%Y")


def _check_not_widening(
    tier: str,
    unit,
    school,
    category: str,
    year_start: int,
    grades: list[int],
    opens_at: dt.datetime,
    locks_at: dt.datetime,
    exclude: int | None,
    day: dt.date,
) -> None:
    """A window may not open before, or lock after, a higher tier's window for the same data."""
    above = units_above(tier, unit, school, day)
    if not above:
        return
    higher = Window.objects.filter(
        overlapping_categories(category), year_start=year_start, cancelled_at__isnull=True, unit_id__in=above
    )
    for other in higher.exclude(pk=exclude) if exclude else higher:
        if other.grades and grades and not set(other.grades) & set(grades):
            continue
        if locks_at > other.locks_at or opens_at < other.opens_at:
            raise DomainError(
                "windows.widening",
                _("Không thể nới rộng lịch của cấp trên: %(tier)s đã đặt mở %(opens)s, khóa %(locks)s."),
                params={
                    "tier": WindowTier(other.tier).label,
                    "opens": _fmt(other.opens_at),
                    "locks": _fmt(other.locks_at),
                },
            )


def _authorise(
    actor: Account | None, tier: str, unit: AdministrativeUnit | None, school: School | None, day: dt.date
) -> None:
    if actor is None or actor.is_superuser:
        return
    authority = WindowAuthority(access_for(actor, day))
    if not authority.may_schedule_in(tier, unit_id=unit.pk if unit else None, school_id=school.pk if school else None):
        raise NotAllowed("windows.out_of_scope", _("Phạm vi này nằm ngoài thẩm quyền đặt lịch của bạn."))


def window_scope_authorise(*, actor: Account | None, unit: AdministrativeUnit | None, school: School | None) -> None:
    """May ``actor`` schedule windows for this unit or school? The API asks before it reads the rest of the body."""
    day = timezone.localdate()
    _authorise(actor, tier_of(unit, school, unit_tree_on(day)), unit, school, day)


def window_change_authorise(*, actor: Account | None, window: Window) -> None:
    """May ``actor`` change or cancel this window? Asked before the body is read."""
    _authorise(actor, window.tier, window.unit, window.school, timezone.localdate())


def exception_request_authorise(*, actor: Account, school_id: int) -> None:
    """May ``actor`` ask for exceptions for this school? Asked before the body is read, and by the request."""
    if not access_for(actor, timezone.localdate()).has_in_school("windows.request", school_id):
        raise NotAllowed("windows.request_not_allowed", _("Chỉ Hiệu trưởng mới xin mở khóa cho trường."))


def exception_decide_authorise(*, actor: Account, window: Window) -> None:
    """May ``actor`` decide requests about this window? Asked before the body is read, and by the decision."""
    if not actor.is_superuser and not WindowAuthority(access_for(actor, timezone.localdate())).may_decide(window):
        raise NotAllowed("windows.decide_not_allowed", _("Chỉ cấp đã đặt lịch khóa mới duyệt được đề nghị này."))


def _validate(tier, unit, school, category, year_start, grades, opens_at, locks_at, day) -> list[int]:
    if category not in DataCategory.values:
        raise DomainError("windows.bad_category", _("Loại dữ liệu không hợp lệ."), field="category")
    if opens_at is None or locks_at is None:
        raise DomainError("windows.missing_time", _("Cần thời điểm mở và thời điểm khóa."))
    if locks_at <= opens_at:
        raise DomainError("windows.lock_before_open", _("Thời điểm khóa phải sau thời điểm mở."), field="locks_at")
    start, end = school_year_bounds(year_start)
    if opens_at < start or locks_at > end:
        raise DomainError(
            "windows.outside_year",
            _("Lịch phải nằm trong năm học %(y)s (01/08/%(a)s – 31/07/%(b)s)."),
            params={"y": f"{year_start}–{year_start + 1}", "a": year_start, "b": year_start + 1},
            field="opens_at",
        )
    if tier == WindowTier.PROVINCE and (
        unit is None
        or unit_tree_on(day).nodes.get(unit.pk) is None
        or unit_tree_on(day).nodes[unit.pk].parent_id is not None
    ):
        raise DomainError("windows.needs_province", _("Lịch cấp Sở phải gắn với một tỉnh/thành phố."))
    grades = sorted({int(g) for g in grades or []})
    if any(g not in GRADES for g in grades):
        raise DomainError("windows.bad_grade", _("Khối lớp phải từ 1 đến 12."), field="grades")
    return grades


@transaction.atomic
def window_create(
    *,
    actor: Account | None,
    category: str,
    year_start: int,
    opens_at: dt.datetime,
    locks_at: dt.datetime,
    unit: AdministrativeUnit | None = None,
    school: School | None = None,
    grades: list[int] | None = None,
    levels: list[str] | None = None,
    reason: str = "",
) -> Window:
    day = timezone.localdate()
    if (unit is None) == (school is None):
        raise DomainError("windows.scope", _("Chọn đúng một phạm vi: một đơn vị hoặc một trường."))
    tier = (
        WindowTier.SCHOOL
        if school is not None
        else (
            WindowTier.PROVINCE
            if unit_tree_on(day).nodes.get(unit.pk) and unit_tree_on(day).nodes[unit.pk].parent_id is None
            else WindowTier.UNIT
        )
    )
    all_grades = list(grades or []) + sorted(grades_of(levels))
    grades = _validate(tier, unit, school, category, year_start, all_grades, opens_at, locks_at, day)
    _authorise(actor, tier, unit, school, day)
    _check_not_widening(tier, unit, school, category, year_start, grades, opens_at, locks_at, None, day)
    window = Window.objects.create(
        tier=tier,
        unit=unit,
        school=school,
        grades=grades,
        category=category,
        year_start=year_start,
        opens_at=opens_at,
        locks_at=locks_at,
        set_by=actor,
        reason=(reason or "").strip()[:300],
    )
    audit_record(
        actor=actor,
        action="window.create",
        obj=window,
        after=_window_dict(window),
        unit_id=unit.pk if unit else None,
        school_id=school.pk if school else None,
    )
    return window


@transaction.atomic
def window_update(
    *,
    actor: Account | None,
    window: Window,
    opens_at: dt.datetime | None = None,
    locks_at: dt.datetime | None = None,
    reason: str | None = None,
) -> Window:
    """One row, effective at once for every school in scope."""
    day = timezone.localdate()
    window = Window.objects.select_for_update().get(pk=window.pk)
    if window.cancelled_at is not None:
        raise DomainError("windows.cancelled", _("Lịch này đã hủy."))
    before = _window_dict(window)
    opens_at, locks_at = opens_at or window.opens_at, locks_at or window.locks_at
    _validate(
        window.tier,
        window.unit,
        window.school,
        window.category,
        window.year_start,
        window.grades,
        opens_at,
        locks_at,
        day,
    )
    _authorise(actor, window.tier, window.unit, window.school, day)
    _check_not_widening(
        window.tier,
        window.unit,
        window.school,
        window.category,
        window.year_start,
        window.grades,
        opens_at,
        locks_at,
        window.pk,
        day,
    )
    window.opens_at, window.locks_at = opens_at, locks_at
    if reason is not None:
        window.reason = reason.strip()[:300]
    window.save(update_fields=["opens_at", "locks_at", "reason"])
    audit_record(
        actor=actor,
        action="window.update",
        obj=window,
        before=before,
        after=_window_dict(window),
        unit_id=window.unit_id,
        school_id=window.school_id,
    )
    return window


@transaction.atomic
def window_cancel(*, actor: Account | None, window: Window) -> Window:
    window = Window.objects.select_for_update().get(pk=window.pk)
    _authorise(actor, window.tier, window.unit, window.school, timezone.localdate())
    before = _window_dict(window)
    window.cancelled_at = timezone.now()
    window.save(update_fields=["cancelled_at"])
    audit_record(
        actor=actor,
        action="window.cancel",
        obj=window,
        before=before,
        after=_window_dict(window),
        unit_id=window.unit_id,
        school_id=window.school_id,
    )
    return window


def _exception_dict(e: WindowException) -> dict:
    return {
        "window_id": e.window_id,
        "school_id": e.school_id,
        "class_ids": e.class_ids,
        "student_ids": e.student_ids,
        "until": e.until,
        "status": e.status,
        "reason": e.reason,
        "decision_note": e.decision_note,
    }


@transaction.atomic
def exception_request(
    *,
    actor: Account,
    window: Window,
    school: School,
    until: dt.datetime,
    reason: str,
    class_ids: list[int] | None = None,
    student_ids: list[int] | None = None,
) -> WindowException:
    day = timezone.localdate()
    access = access_for(actor, day)
    if not access.has_in_school("windows.request", school.pk):
        raise NotAllowed("windows.request_not_allowed", _("Chỉ Hiệu trưởng mới xin mở khóa cho trường."))
    chain = school_chain(school.pk, day)
    if window.school_id not in (None, school.pk) or (window.unit_id and window.unit_id not in chain):
        raise DomainError("windows.not_applicable", _("Lịch này không áp dụng cho trường."))
    if not class_ids and not student_ids:
        raise DomainError("windows.exception_scope", _("Cần nêu lớp hoặc học sinh được mở khóa."), field="class_ids")
    now = timezone.now()
    longest = now + dt.timedelta(days=settings.WINDOW_EXCEPTION_MAX_DAYS)
    _start, year_end = school_year_bounds(window.year_start)
    if until <= now or until > min(longest, year_end):
        raise DomainError(
            "windows.exception_until",
            _("Thời hạn mở khóa phải sau bây giờ và không quá %(limit)s."),
            params={"limit": _fmt(min(longest, year_end))},
            field="until",
        )
    if not (reason or "").strip():
        raise DomainError("windows.reason_required", _("Cần ghi lý do xin mở khóa."), field="reason")
    exc = WindowException.objects.create(
        window=window,
        school=school,
        class_ids=sorted(set(class_ids or [])),
        student_ids=sorted(set(student_ids or [])),
        until=until,
        reason=reason.strip()[:500],
        requested_by=actor,
    )
    audit_record(
        actor=actor, action="window_exception.request", obj=exc, after=_exception_dict(exc), school_id=school.pk
    )
    return exc


@transaction.atomic
def exception_decide(*, actor: Account, exception: WindowException, approve: bool, note: str = "") -> WindowException:
    """Decided by the tier that set the lock (or the province above it)."""
    exception = WindowException.objects.select_for_update().select_related("window").get(pk=exception.pk)
    if exception.status != ExceptionStatus.REQUESTED:
        raise DomainError("windows.already_decided", _("Đề nghị này đã được quyết định."))
    window = exception.window
    exception_decide_authorise(actor=actor, window=window)
    before = _exception_dict(exception)
    exception.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REFUSED
    exception.decided_by, exception.decided_at, exception.decision_note = (
        actor,
        timezone.now(),
        (note or "").strip()[:300],
    )
    exception.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="window_exception.decide",
        obj=exception,
        before=before,
        after=_exception_dict(exception),
        unit_id=window.unit_id,
        school_id=exception.school_id,
    )
    return exception


# ------------------------------------------------------------------------------------------- preview


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
        return {
            "ok": self.ok,
            "tier": self.tier,
            "schools": self.schools,
            "schools_with_figures": self.schools_with_figures,
            "students": self.students,
            "classes": self.classes,
            "grades": self.grades,
            "grades_filtered": self.grades_filtered,
            "errors": self.errors,
            "higher": self.higher,
        }


def window_preview(
    actor,
    *,
    unit: AdministrativeUnit | None = None,
    school: School | None = None,
    category: str = "",
    year_start: int,
    opens_at: dt.datetime | None,
    locks_at: dt.datetime | None,
    grades: list[int] | None = None,
    levels: list[str] | None = None,
    reason: str = "",
    window: Window | None = None,
) -> Preview:
    """What saving would do — the service's own verdict (run in a savepoint, rolled back) and the reach."""
    if window is not None:
        unit, school, category = window.unit, window.school, window.category
        year_start, grades, levels = window.year_start, window.grades, []
    tree = unit_tree_on(today())
    wanted = all_grades(grades, levels)
    errors: list[dict] = []
    try:
        with transaction.atomic():
            if window is not None:
                window_update(actor=actor, window=window, opens_at=opens_at, locks_at=locks_at, reason=reason)
            else:
                window_create(
                    actor=actor,
                    category=category,
                    year_start=year_start,
                    opens_at=opens_at,
                    locks_at=locks_at,
                    unit=unit,
                    school=school,
                    grades=grades,
                    levels=levels,
                    reason=reason,
                )
            raise _DryRun
    except _DryRun:
        pass
    except DomainError as exc:
        errors.append(exc.as_dict())
    tier = tier_of(unit, school, tree) if (unit or school) else ""
    school_ids = affected_schools(unit, school, wanted, tree)
    figures = list(
        SchoolRollup.objects.filter(school_id__in=school_ids, year_start=year_start).values_list("students", "classes")
    )
    higher = []
    if (unit or school) and category in DataCategory.values:
        above = units_above(tier, unit, school, tree.day)
        if above:
            qs = (
                Window.objects.filter(
                    overlapping_categories(category),
                    year_start=year_start,
                    cancelled_at__isnull=True,
                    unit_id__in=above,
                )
                .select_related("set_by")
                .order_by("opens_at")
            )
            if window is not None:
                qs = qs.exclude(pk=window.pk)
            for other in qs:
                node = tree.nodes.get(other.unit_id)
                higher.append(
                    {
                        "id": other.pk,
                        "tier": other.tier,
                        "tier_label": str(WindowTier(other.tier).label),
                        "scope": node.name if node else "",
                        "category": other.category,
                        "category_label": str(DataCategory(other.category).label),
                        "grades": other.grades,
                        "opens_at": other.opens_at,
                        "locks_at": other.locks_at,
                        "opens": timezone.localtime(other.opens_at).strftime(LOCAL_FORMAT),
                        "locks": timezone.localtime(other.locks_at).strftime(LOCAL_FORMAT),
                        "set_by": (other.set_by.full_name or other.set_by.username) if other.set_by else "",
                    }
                )
    return Preview(
        tier=tier,
        schools=len(school_ids),
        schools_with_figures=len(figures),
        students=sum(students for students, _classes in figures) if figures else None,
        classes=sum(classes for _students, classes in figures) if figures else None,
        grades=wanted,
        grades_filtered=bool(wanted),
        errors=errors,
        higher=higher,
    )
