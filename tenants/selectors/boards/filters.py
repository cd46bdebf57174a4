"""The board's query string checked against what exists and what the person's scope reaches (no query), and the
school years offered."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVELS

from ...models import (
    SchoolRollup,
)
from ..access import Access
from ..arrays import in_array
from .figures import (
    CAPABILITY,
    DEFAULT_GROUPS,
    GROUPS,
    LIGHT_LABELS,
    SCHEMA_LABELS,
    SORT_GROUPS,
    SORTS,
    BoardFilters,
)
from .kept import kept


def _bad(code: str, message, **params) -> DomainError:
    return DomainError(code, message, params=params, http_status=400)


def out_of_scope(kind: str) -> DomainError:
    """A unit, school or class the person's scope does not reach: answered as not found, so that an id's existence
    outside the scope is not told."""
    messages = {
        "unit": _("Không tìm thấy đơn vị này trong phạm vi theo dõi của bạn."),
        "school": _("Không tìm thấy trường này trong phạm vi theo dõi của bạn."),
        "class": _("Trường này không có lớp này trong năm học đã chọn."),
    }
    return DomainError("out_of_scope", messages[kind], http_status=404)


def parse_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise _bad("board_bad_id", _("Mã “%(value)s” không hợp lệ."), value=raw[:40])
    return int(raw)


def board_filters(params, *, acc: Access) -> BoardFilters:
    """The query string checked against what exists and what the person's scope reaches: an unknown value, or a unit
    or school outside the scope, is refused with a message in both languages (no query)."""
    unit_id, school_id = parse_id(params.get("unit")), parse_id(params.get("school"))
    if unit_id is not None and unit_id not in acc.units_with(CAPABILITY):
        raise out_of_scope("unit")
    if school_id is not None and school_id not in acc.schools_with(CAPABILITY):
        raise out_of_scope("school")
    level = (params.get("level") or "").strip()
    if level and level not in LEVELS:
        raise _bad("board_bad_level", _("Cấp học “%(value)s” không có."), value=level[:40])
    schema = (params.get("schema") or "").strip()
    if schema and schema not in SCHEMA_LABELS:
        raise _bad("board_bad_schema", _("Trạng thái phiên bản “%(value)s” không có."), value=schema[:40])
    light = (params.get("light") or "").strip()
    if light and light not in LIGHT_LABELS:
        raise _bad("board_bad_light", _("Mức tiến độ “%(value)s” không có."), value=light[:40])
    flags = {}
    for key in ("late", "direct"):
        raw = (params.get(key) or "").strip()
        if raw not in ("", "0", "1"):
            raise _bad("board_bad_switch", _("Giá trị “%(value)s” không hợp lệ."), value=raw[:40])
        flags[key] = raw == "1"
    if flags["direct"] and unit_id is None:
        raise _bad("board_bad_switch", _("Giá trị “%(value)s” không hợp lệ."), value="direct")
    sort = (params.get("sort") or "name").strip()
    descending = sort.startswith("-")
    if sort.lstrip("-") not in SORTS:
        raise _bad("board_bad_sort", _("Không sắp xếp được theo “%(value)s”."), value=sort[:40])
    getlist = getattr(params, "getlist", None)
    wanted = [g.strip() for g in (getlist("cols") if getlist else [params.get("cols", "")]) if g and g.strip()]
    for g in wanted:
        if g not in GROUPS and g != "none":
            raise _bad("board_bad_columns", _("Nhóm cột “%(value)s” không có."), value=g[:40])
    groups = tuple(g for g in GROUPS if g in wanted) if wanted else DEFAULT_GROUPS
    shown = SORT_GROUPS.get(sort.lstrip("-"))
    if shown and shown not in groups:
        groups = tuple(g for g in GROUPS if g in groups or g == shown)
    search = (params.get("q") or "").strip()[:100]
    page_raw = (params.get("page") or "").strip()
    if page_raw and (not page_raw.isdigit() or len(page_raw) > 6 or int(page_raw) < 1):
        raise _bad("board_bad_page", _("Trang “%(value)s” không có."), value=page_raw[:40])
    return BoardFilters(
        unit_id,
        school_id,
        level,
        schema,
        search,
        sort.lstrip("-"),
        descending,
        light,
        flags["late"],
        flags["direct"],
        groups,
        int(page_raw) if page_raw else 1,
    )


def board_year(raw: str | None, *, years: tuple[int, ...], default: int) -> int:
    """``?year=`` as a school year's first calendar year: one on record in the scope, or the current one."""
    raw = (raw or "").strip()
    if not raw:
        return default
    head = raw.split("-", 1)[0].split("–", 1)[0].strip()
    if not head.isdigit() or int(head) not in years:
        raise _bad("board_bad_year", _("Không có số liệu năm học “%(value)s”."), value=raw[:20])
    return int(head)


def board_years(school_ids: set[int], *, current: int) -> tuple[tuple[int, ...], int]:
    """The school years offered (those with rollups in the scope, and the current one; newest first) and the one
    shown by default: the latest with rollups up to the current one, else the current one. One query, kept a while
    per scope (:mod:`.kept`)."""

    def ask() -> frozenset[int]:
        rollups = SchoolRollup.objects.filter(school_id__in=in_array(school_ids))
        return frozenset(rollups.values_list("year_start", flat=True).distinct())

    years = kept(("years", frozenset(school_ids)), ask)
    default = max((y for y in years if y <= current), default=current)
    return tuple(sorted(years | {current}, reverse=True)), default
