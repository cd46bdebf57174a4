"""Open/lock windows as both sides see them: a window's facts as plain data, the state of an entry page, the
database's refusals turned into clear messages, and who may schedule a window or decide an exception to it.

The rule itself lives in the database (``hocba_window_blocking``), checked by every school table's trigger at write
time by the database clock — one rule for UI, API, import and SQL. School code imports this module (never
``tenants.models``): ``__all__`` is the vocabulary it may use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.roles import ROLE_CAPABILITIES, ROLE_TIERS, Role

from .models import DataCategory, ExceptionStatus, Membership, Window, WindowTier

__all__ = [
    "STATE_LABELS",
    "TIER_LABELS",
    "DataCategory",
    "EntryState",
    "ExceptionStatus",
    "WindowAuthority",
    "WindowInfo",
    "WindowLocked",
    "WindowTier",
    "category_of_term",
    "entry_state",
    "locked_from_db_error",
    "setter_label",
    "setter_tiers",
    "window_info",
    "window_state",
]

TIER_LABELS = {"province": _("Sở GD&ĐT"), "unit": _("Phòng/xã"), "school": _("Nhà trường")}
# What a person is told about a window or a request outside their scope (404: it reads as absent).
NO_SUCH_WINDOW = _("Không tìm thấy lịch này trong phạm vi của bạn.")
NO_SUCH_REQUEST = _("Không tìm thấy đề nghị này trong phạm vi của bạn.")


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M %d/%m/%Y")


@dataclass(frozen=True)
class WindowInfo:
    id: int
    tier: str  # the scope's tier: a province, a unit, or one school
    category: str
    opens_at: dt.datetime
    locks_at: dt.datetime
    set_by_name: str
    reason: str
    set_by_tier: str = ""  # the level of whoever set it (``setter_tiers``); the Sở may lock one school

    @property
    def setter_label(self) -> str:
        """Who set it, by level — Sở GD&ĐT, Phòng/xã, Nhà trường — as a person reads it."""
        return str(TIER_LABELS.get(self.set_by_tier or self.tier, self.tier))


TIER_RANK = {"province": 0, "unit": 1, "school": 2}


def setter_tiers(windows) -> dict[int, str]:
    """``{window id: tier}``: the level of whoever set each window (``pk``, ``tier``, ``set_by_id``), by the setter's
    own memberships — the highest level at which they schedule windows — not by the window's target: a window the
    Sở puts on one school is the Sở's. A window without a setter (seeded, the system) keeps its scope's tier.
    One query."""
    windows = list(windows)
    setters = {w.set_by_id for w in windows if w.set_by_id}
    best: dict[int, str] = {}
    if setters:
        for account_id, role in Membership.objects.filter(account_id__in=setters).values_list("account_id", "role"):
            if role not in Role.__members__.values() or "windows.schedule" not in ROLE_CAPABILITIES[Role(role)]:
                continue
            tier = str(ROLE_TIERS[Role(role)])
            if TIER_RANK.get(tier, 9) < TIER_RANK.get(best.get(account_id, ""), 9):
                best[account_id] = tier
    return {w.pk: best.get(w.set_by_id, w.tier) for w in windows}


def setter_label(tiers: dict[int, str], window) -> str:
    """The "set by" level of a window of a list, from ``setter_tiers`` of that list."""
    return str(TIER_LABELS.get(tiers.get(window.pk, window.tier), window.tier))


def window_info(window_id: int) -> WindowInfo | None:
    """A window as plain data: tier, times, who set it and at which level."""
    w = Window.objects.select_related("set_by").filter(pk=window_id).first()
    if w is None:
        return None
    who = (w.set_by.full_name or w.set_by.username) if w.set_by else ""
    return WindowInfo(w.id, w.tier, w.category, w.opens_at, w.locks_at, who, w.reason, setter_tiers([w])[w.pk])


class WindowLocked(DomainError):
    """HTTP 423: a window refuses the write. Names the window, its time and who set it."""

    http_status = 423

    def __init__(self, window: WindowInfo | None, *, not_yet_open: bool = False):
        if window is None:
            super().__init__("window.locked", _("Dữ liệu này đang khóa theo lịch nhập liệu."))
        elif not_yet_open:
            super().__init__(
                "window.not_open",
                _("Chưa đến thời gian nhập: mở lúc %(opens)s theo lịch của %(tier)s (%(who)s). %(reason)s"),
                params={
                    "opens": _local(window.opens_at),
                    "tier": window.setter_label,
                    "who": window.set_by_name,
                    "reason": window.reason,
                },
            )
        else:
            super().__init__(
                "window.locked",
                _("Đã khóa nhập từ %(locks)s theo lịch của %(tier)s (%(who)s). %(reason)s"),
                params={
                    "locks": _local(window.locks_at),
                    "tier": window.setter_label,
                    "who": window.set_by_name,
                    "reason": window.reason,
                },
            )
        self.window = window

    def as_dict(self):
        data = super().as_dict()
        if self.window is not None:
            data["window"] = {
                "id": self.window.id,
                "tier": self.window.tier,
                "set_by_tier": self.window.set_by_tier or self.window.tier,
                "category": self.window.category,
                "opens_at": self.window.opens_at.isoformat(),
                "locks_at": self.window.locks_at.isoformat(),
                "set_by": self.window.set_by_name,
            }
        return data


def locked_from_db_error(exc: BaseException) -> WindowLocked | None:
    """The trigger's refusal (SQLSTATE HB423, window id in DETAIL) as a WindowLocked, else None."""
    cause = exc.__cause__ or exc
    diag = getattr(cause, "diag", None)
    if getattr(cause, "sqlstate", None) != "HB423" or diag is None:
        return None
    try:
        window = window_info(int(diag.message_detail))
    except (TypeError, ValueError):
        window = None
    not_yet = window is not None and timezone.now() < window.opens_at
    return WindowLocked(window, not_yet_open=not_yet)


@dataclass(frozen=True)
class EntryState:
    """What an entry page shows: open (and until when) or refused (by which window)."""

    open: bool
    window: WindowInfo | None
    until: dt.datetime | None
    not_yet_open: bool = False

    @property
    def message(self):
        if self.open:
            return None
        return WindowLocked(self.window, not_yet_open=self.not_yet_open).as_dict()


def entry_state(
    *, school_id: int, category: str, year_start: int, grade: int | None, class_id: int | None
) -> EntryState:
    """One query: the blocking window now, else the earliest lock ahead among the windows that apply."""
    grades = [grade] if grade else []
    classes = [class_id] if class_id else []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.window_id, b.not_yet_open,
                   (SELECT min(w.locks_at) FROM tenants_window w
                     WHERE w.year_start = %(y)s AND w.cancelled_at IS NULL
                       AND (w.category = %(c)s OR w.category = 'whole_year')
                       AND (w.school_id = %(s)s
                            OR w.unit_id = ANY (hocba_school_units(%(s)s,
                                                                   (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)))
                       AND (w.grades = '{}' OR w.grades::integer[] && %(g)s::integer[])
                       AND w.locks_at > now())
              FROM (SELECT 1) one
              LEFT JOIN LATERAL hocba_window_blocking(%(s)s, %(c)s, %(y)s, %(g)s::integer[], %(k)s::bigint[],
                                                      '{}'::bigint[], now()) b ON true
            """,
            {"s": school_id, "c": category, "y": year_start, "g": grades, "k": classes},
        )
        window_id, not_yet_open, next_lock = cursor.fetchone()
    if window_id is not None:
        return EntryState(False, window_info(window_id), None, bool(not_yet_open))
    return EntryState(True, None, next_lock)


class WindowAuthority:
    """Who may schedule (create, change, cancel) a window and who decides an exception to it — the one rule, computed
    once from an access profile. The services enforce it; pages and API use it to show what a person may do.

    A province window: a province administrator of that province. A unit window: ``windows.schedule`` in that unit
    (held there or above). A school window: ``windows.schedule`` in that school. An exception is decided by the tier
    that set the lock: ``windows.decide`` in the window's unit, or, for a school's own lock, its principal.

    Each set is worked out on first use: a service deciding one window pays only for the tier it asks about (the
    schools of a province are thousands), a page listing many windows pays once per set."""

    def __init__(self, access):
        self.access = access

    @cached_property
    def schedule_units(self) -> set[int]:
        return self.access.units_with("windows.schedule")

    @cached_property
    def schedule_schools(self) -> set[int]:
        return self.access.schools_with("windows.schedule")

    @cached_property
    def decide_units(self) -> set[int]:
        return self.access.units_with("windows.decide")

    @cached_property
    def province_units(self) -> set[int]:
        return {g.unit_id for g in self.access.grants if g.role is Role.PROVINCE_ADMIN and g.unit_id}

    def may_schedule_in(self, tier: str, *, unit_id: int | None, school_id: int | None) -> bool:
        if tier == WindowTier.SCHOOL:
            return school_id in self.schedule_schools
        if tier == WindowTier.PROVINCE:
            return unit_id in self.province_units
        return unit_id in self.schedule_units

    def may_schedule(self, window: Window) -> bool:
        return self.may_schedule_in(window.tier, unit_id=window.unit_id, school_id=window.school_id)

    def may_decide(self, window: Window) -> bool:
        if window.tier == WindowTier.SCHOOL:
            return window.school_id in self.schedule_schools
        return window.unit_id in self.decide_units


def window_state(window: Window, now: dt.datetime | None = None) -> str:
    """cancelled, not_open, open or locked — at ``now`` (default: this moment)."""
    now = now or timezone.now()
    if window.cancelled_at:
        return "cancelled"
    if now < window.opens_at:
        return "not_open"
    return "open" if now < window.locks_at else "locked"


STATE_LABELS = {
    "cancelled": _("Đã hủy"),
    "not_open": _("Chưa mở"),
    "open": _("Đang mở"),
    "locked": _("Đã khóa"),
}


def category_of_term(term: int) -> str:
    return "scores_1" if term == 1 else "scores_2"
