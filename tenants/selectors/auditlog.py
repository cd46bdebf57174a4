"""The platform log as people read it (``/manage/audit/`` and a school's ``/audit/``): each entry a sentence in the
reader's language ("Nguyễn Văn An đã giao vai trò cho …"), its fields labelled, ids shown as names (units, schools,
accounts, windows), dates dd/mm/yyyy, the source as people know it; filters by person, action, kind of object and
dates; pages of a constant number of queries (the entries, then one query per kind of name)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from hocba.kernel.levels import LEVEL_LABELS
from hocba.kernel.roles import ROLE_LABELS
from hocba.kernel.text import fold

from ..models import Account, PlatformAuditEntry, School, UnitVersion, Window
from ..models.grants import GrantStatus
from ..models.schools import SchoolStatus
from ..models.windows import DataCategory, ExceptionStatus, WindowTier
from .access import Access

# What each action did, as the verb phrase of the sentence ("<who> <phrase> <object>").
ACTION_LABELS = {
    "unit.create": _("đã tạo đơn vị"),
    "unit.rename": _("đã đổi tên đơn vị"),
    "unit.move": _("đã chuyển đơn vị sang đơn vị cấp trên khác"),
    "unit.merge": _("đã sáp nhập đơn vị"),
    "unit.close": _("đã giải thể đơn vị"),
    "school.create": _("đã tạo trường"),
    "school.move": _("đã chuyển trường sang đơn vị quản lý khác"),
    "school.close": _("đã đóng trường"),
    "school.restore": _("đã khôi phục dữ liệu của trường"),
    "account.create": _("đã tạo tài khoản"),
    "membership.grant": _("đã giao vai trò cho"),
    "membership.end": _("đã kết thúc vai trò của"),
    "api_token.issue": _("đã cấp mã truy cập API"),
    "api_token.revoke": _("đã thu hồi mã truy cập API"),
    "window.create": _("đã đặt lịch mở/khóa nhập liệu"),
    "window.update": _("đã sửa lịch mở/khóa nhập liệu"),
    "window.cancel": _("đã hủy lịch mở/khóa nhập liệu"),
    "window_exception.request": _("đã xin mở khóa ngoại lệ cho"),
    "window_exception.decide": _("đã quyết định yêu cầu mở khóa ngoại lệ của"),
    "grant.request": _("đã xin quyền xem học bạ tại"),
    "grant.approve": _("đã duyệt quyền xem học bạ tại"),
    "grant.refuse": _("đã từ chối quyền xem học bạ tại"),
    "grant.revoke": _("đã kết thúc quyền xem học bạ tại"),
    "grant.read": _("đã xem học bạ theo quyền được duyệt tại"),
    "board.remind": _("đã nhắc tiến độ nhập liệu trước hạn khóa"),
}
OBJECT_LABELS = {
    "administrativeunit": _("Đơn vị hành chính"),
    "school": _("Trường học"),
    "account": _("Tài khoản"),
    "membership": _("Vai trò"),
    "apitoken": _("Mã truy cập API"),
    "window": _("Lịch mở/khóa nhập liệu"),
    "windowexception": _("Ngoại lệ mở khóa"),
    "accessgrant": _("Quyền xem học bạ"),
}
SOURCE_LABELS = {
    "web": _("Trang web"),
    "import": _("Nhập từ Excel"),
    "api": _("API"),
    "system": _("Tác vụ tự động"),
    "command": _("Lệnh quản trị"),
    "migration": _("Nâng cấp hệ thống"),
}
FIELD_LABELS = {
    "name": _("Tên"),
    "official_code": _("Mã đơn vị"),
    "parent_id": _("Đơn vị cấp trên"),
    "valid_from": _("Từ ngày"),
    "valid_to": _("Đến ngày"),
    "moet_code": _("Mã trường"),
    "slug": _("Địa chỉ trang"),
    "levels": _("Cấp học"),
    "status": _("Trạng thái"),
    "unit_id": _("Đơn vị"),
    "school_id": _("Trường"),
    "schema_name": _("Lược đồ dữ liệu"),
    "account_id": _("Tài khoản"),
    "role": _("Vai trò"),
    "username": _("Tên đăng nhập"),
    "full_name": _("Họ và tên"),
    "email": _("Email"),
    "prefix": _("Tiền tố mã"),
    "may_write": _("Được ghi"),
    "expires_at": _("Hết hạn lúc"),
    "revoked_at": _("Thu hồi lúc"),
    "tier": _("Cấp đặt lịch"),
    "grades": _("Khối lớp"),
    "category": _("Loại dữ liệu"),
    "year_start": _("Năm học"),
    "opens_at": _("Mở lúc"),
    "locks_at": _("Khóa lúc"),
    "reason": _("Lý do"),
    "purpose": _("Mục đích"),
    "targets": _("Học bạ"),
    "student_name": _("Học sinh"),
    "student_id": _("Số hiệu học sinh"),
    "year": _("Năm học"),
    "cancelled_at": _("Hủy lúc"),
    "window_id": _("Lịch mở/khóa"),
    "class_ids": _("Lớp"),
    "student_ids": _("Học sinh"),
    "until": _("Đến"),
    "decision_note": _("Ghi chú quyết định"),
    "merged_into": _("Sáp nhập vào"),
    "on": _("Ngày"),
    "closed_on": _("Ngày đóng"),
    "backup": _("Bản sao lưu"),
    "taken_at": _("Sao lưu lúc"),
    "audit_head": _("Mục nhật ký cuối"),
    "completion": _("Mức hoàn thành (phần trăm)"),
    "principals": _("Số hiệu trưởng được nhắc"),
}
UNIT_KEYS = frozenset({"unit_id", "parent_id", "merged_into"})
CHOICES: dict[str, dict[str, Any]] = {
    "role": ROLE_LABELS,
    "category": dict(DataCategory.choices),
    "tier": dict(WindowTier.choices),
}
STATUS_CHOICES = {
    "school": dict(SchoolStatus.choices),
    "windowexception": dict(ExceptionStatus.choices),
    "accessgrant": dict(GrantStatus.choices),
}


@dataclass(frozen=True)
class LogField:
    label: str
    old: str
    new: str


@dataclass
class LogEntry:
    id: int
    at: dt.datetime
    who: str
    role: str
    source: str
    ip: str
    action: str
    object_type: str
    object_label: str
    sentence: str = ""
    fields: list[LogField] = field(default_factory=list)
    actor_id: int | None = None
    unit_id: int | None = None
    school_id: int | None = None

    @property
    def is_update(self) -> bool:
        """Values before and after (a change, its few fields shown open), not a creation listing every field."""
        return any(f.old and f.new for f in self.fields)


@dataclass
class LogPage:
    entries: list[LogEntry]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _scope(access: Access, school_id: int | None) -> Q:
    if school_id is not None:
        return Q(school_id=school_id)
    return Q(unit_id__in=access.units_with("audit.view")) | Q(school_id__in=access.schools_with("audit.view"))


def audit_log_page(
    access: Access,
    *,
    school_id: int | None = None,
    who: str = "",
    action: str = "",
    object_type: str = "",
    source: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
    limit: int = 50,
) -> LogPage:
    """One page of the platform log the requester may read, newest first: on a school's own site (``school_id``)
    that school's entries, elsewhere those of the units and schools where ``audit.view`` holds. ``who`` matches the
    person's name without accents, or the user name."""
    qs = PlatformAuditEntry.objects.filter(_scope(access, school_id)).select_related("actor")
    if who.strip():
        qs = qs.filter(Q(actor__search_name__contains=fold(who)) | Q(actor_name__icontains=who.strip()))
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if source:
        qs = qs.filter(source=source)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tz))
    if date_to:
        qs = qs.filter(at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz))
    page, limit = max(1, page), max(1, limit)
    rows = list(qs.order_by("-at", "-id")[(page - 1) * limit : page * limit + 1])
    return LogPage(_readable(rows[:limit]), page, len(rows) > limit)


def _ids(rows: list[PlatformAuditEntry], keys: frozenset[str], object_type: str) -> set[int]:
    out: set[int] = set()
    for r in rows:
        if r.object_type == object_type and r.object_id.isdigit():
            out.add(int(r.object_id))
        for data in (r.before, r.after):
            for key in keys & set(data or {}):
                if isinstance(data[key], int):
                    out.add(data[key])
    return out


def _readable(rows: list[PlatformAuditEntry]) -> list[LogEntry]:
    """Entries with names for their ids: one query per kind of name (units, schools, accounts, windows)."""
    unit_ids = _ids(rows, UNIT_KEYS, "administrativeunit") | {r.unit_id for r in rows if r.unit_id}
    units = {
        u: n
        for u, n in UnitVersion.objects.filter(unit_id__in=unit_ids)
        .order_by("unit_id", "-valid_from")
        .distinct("unit_id")
        .values_list("unit_id", "name")
    }
    schools = dict(
        School.objects.filter(
            pk__in=_ids(rows, frozenset({"school_id"}), "school") | {r.school_id for r in rows if r.school_id}
        ).values_list("id", "name")
    )
    account_ids = _ids(rows, frozenset({"account_id"}), "account")
    accounts = {
        pk: full_name or username
        for pk, full_name, username in Account.objects.filter(pk__in=account_ids).values_list(
            "id", "full_name", "username"
        )
    }
    window_ids = _ids(rows, frozenset({"window_id"}), "window")
    windows = {
        pk: _window_label(category, year)
        for pk, category, year in Window.objects.filter(pk__in=window_ids).values_list("id", "category", "year_start")
    }
    names = {"unit": units, "school": schools, "account": accounts, "window": windows}
    return [_entry(r, names) for r in rows]


def _window_label(category: str, year: int | None) -> str:
    label = str(dict(DataCategory.choices).get(category, category))
    return f"{label} {year}–{year + 1}" if year else label


def _object_label(r: PlatformAuditEntry, names: dict[str, dict]) -> str:
    pk = int(r.object_id) if r.object_id.isdigit() else None
    data = r.after or r.before or {}
    if r.object_type == "administrativeunit":
        return names["unit"].get(pk) or data.get("name") or r.object_id
    if r.object_type == "school":
        return names["school"].get(pk) or data.get("name") or r.object_id
    if r.object_type == "account":
        return names["account"].get(pk) or data.get("full_name") or data.get("username") or r.object_id
    if r.object_type == "membership":
        who = names["account"].get(data.get("account_id"), "")
        role = str(ROLE_LABELS.get(data.get("role"), data.get("role") or ""))
        where = names["school"].get(data.get("school_id")) or names["unit"].get(data.get("unit_id")) or ""
        return _g("%(who)s — %(role)s tại %(where)s") % {"who": who, "role": role, "where": where} if where else who
    if r.object_type == "apitoken":
        return f"“{data.get('name') or r.object_id}”"
    if r.object_type == "window":
        return names["window"].get(pk) or _window_label(data.get("category", ""), data.get("year_start"))
    if r.object_type in ("windowexception", "accessgrant"):
        return names["school"].get(data.get("school_id")) or names["school"].get(r.school_id) or r.object_id
    return r.object_id


def _value(key: str, value: Any, object_type: str, names: dict[str, dict]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _g("Có") if value else _g("Không")
    if key in UNIT_KEYS:
        return names["unit"].get(value, str(value))
    if key == "school_id":
        return names["school"].get(value, str(value))
    if key == "account_id":
        return names["account"].get(value, str(value))
    if key == "window_id":
        return names["window"].get(value, str(value))
    if key in ("class_ids", "student_ids") and isinstance(value, list):
        return _g("%(n)s lớp") % {"n": len(value)} if key == "class_ids" else _g("%(n)s học sinh") % {"n": len(value)}
    if key == "levels" and isinstance(value, list):
        return ", ".join(str(LEVEL_LABELS.get(v, v)) for v in value)
    if key == "status":
        return str(STATUS_CHOICES.get(object_type, {}).get(value, value))
    if key in CHOICES:
        return str(CHOICES[key].get(value, value))
    if key == "year_start" and isinstance(value, int):
        return f"{value}–{value + 1}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return _date_text(value)
    return str(value)


def _date_text(value: str) -> str:
    """An ISO date as dd/mm/yyyy, an ISO moment as HH:MM dd/mm/yyyy (local time); any other text as it is."""
    if len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%H:%M %d/%m/%Y")
    return value


def _entry(r: PlatformAuditEntry, names: dict[str, dict]) -> LogEntry:
    who = (r.actor.full_name or r.actor.username) if r.actor is not None else ""
    if not who:
        who = r.actor_name if r.actor_name and r.actor_name != "system" else _g("Hệ thống")
    role = ", ".join(str(ROLE_LABELS[x]) for x in r.role.split(",") if x in ROLE_LABELS)
    source = str(SOURCE_LABELS.get(r.source, r.source))
    object_label = _object_label(r, names)
    phrase = str(ACTION_LABELS.get(r.action, r.action))
    sentence = _g("%(who)s %(action)s %(object)s") % {"who": who, "action": phrase, "object": object_label}
    sentence += " — " + _g("qua %(source)s") % {"source": source[:1].lower() + source[1:]} + "."
    before, after = r.before or {}, r.after or {}
    fields = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if r.before is not None and r.after is not None and old == new:
            continue
        fields.append(
            LogField(
                str(FIELD_LABELS.get(key, key)),
                _value(key, old, r.object_type, names) if r.before is not None else "",
                _value(key, new, r.object_type, names) if r.after is not None else "",
            )
        )
    return LogEntry(
        r.pk,
        r.at,
        who,
        role,
        source,
        r.ip or "",
        r.action,
        r.object_type,
        object_label,
        sentence,
        fields,
        r.actor_id,
        r.unit_id,
        r.school_id,
    )
