"""The board's reads, a constant number of queries whatever the number of schools: the schools of the scope with
their figures (one query, :mod:`.query`: only the rows written since, when the web process keeps the scope's rows),
the year's windows that decide each school's next lock and light (one query), the province's medians (one aggregate
query) and the accounts flagged (one query); one school's classes.

Thousands of schools are judged as plain tuples in parallel lists (their next lock is worked out once per placement
and levels, their light from the few figures it needs), the units are summed column by column from the same tuples,
filters and sort run on them, and the frozen rows of :mod:`.figures` are built only for what is shown — the page of
schools — or exported."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.recordstates import STATES
from hocba.kernel.text import fold

from ...models import (
    ClassRollup,
    ExceptionStatus,
    Window,
    WindowException,
)
from ...reminders import covers_levels
from ..access import Access
from ..arrays import in_array
from .figures import (
    AMBER,
    CAPABILITY,
    FIGURE_FIELDS,
    LIGHT_LABELS,
    LIGHT_RANK,
    MEASURED,
    NO_LOCK,
    RED,
    SCHEMA_BEHIND,
    SCHEMA_FAILED,
    SORTS,
    Board,
    BoardFilters,
    ClassRow,
    Flag,
    SchoolBoard,
    SchoolRow,
    Thresholds,
    UnitRow,
    completion,
    light_of,
    term_two_lock,
)
from .filters import out_of_scope
from .kept import kept
from .query import AT as _AT
from .query import fetch_rows, school_rows
from .query import moment as _moment

PER_PAGE = 50  # schools on one page of the board

# The province's usual rates for the year (see ``_medians``): one pass over the active schools and their rollups.
_MEDIANS = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(mr.edits_after_approval, 0) * 100.0
                                          / greatest(coalesce(mr.students, 0), 1)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(me.n, 0))
  FROM public.tenants_school ms
  LEFT JOIN public.tenants_schoolrollup mr ON mr.school_id = ms.id AND mr.year_start = %(year)s
  LEFT JOIN (SELECT x.school_id, count(*) AS n
               FROM public.tenants_windowexception x JOIN public.tenants_window w ON w.id = x.window_id
              WHERE x.status = 'approved' AND w.year_start = %(year)s GROUP BY 1) me ON me.school_id = ms.id
 WHERE ms.status = 'active' AND ms.schema_name <> 'public'"""


class _Scope:
    """The schools of the board before they are shown, as parallel lists (one entry per school, no object per
    school: thousands of small objects per request cost more in the garbage collector than in the work): the
    query's row, the placement, the next lock's window, the completion and the light. A school is its index."""

    __slots__ = ("raw", "units", "windows", "completions", "lights")

    def __init__(self, raw: list[tuple], placements: dict[int, int]) -> None:
        self.raw = raw
        self.units = [placements.get(r[0]) for r in raw]
        self.windows: list[Window | None] = [None] * len(raw)
        self.completions: list[int | None] = [None] * len(raw)
        self.lights = [NO_LOCK] * len(raw)

    def late(self, i: int) -> bool:
        return self.lights[i] in (RED, AMBER)


def _levels(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def _judge(raw: list[tuple], acc: Access, *, year: int, now: dt.datetime, t: Thresholds) -> _Scope:
    """Each school's next lock and light. One query (the year's windows that reach the scope: set for its schools or
    for their units or the units above); which window covers which school is ``tenants.reminders``' rule (a window
    of a unit covers the active schools placed in it or below whose levels its grades reach; a school's own window,
    that school), worked out once per placement and levels."""
    sc = _Scope(raw, acc.placements)
    if not raw:
        return sc
    tree = acc.tree
    units: set[int] = set()
    for unit_id in {u for u in sc.units if u is not None}:
        units |= {unit_id, *(tree.ancestors(unit_id) if tree else ())}
    windows = list(
        Window.objects.filter(year_start=year, cancelled_at__isnull=True, category__in=list(MEASURED)).filter(
            Q(school_id__in=in_array(r[0] for r in raw)) | Q(unit_id__in=units)
        )
    )
    if not windows:
        return sc
    own: dict[int, list[Window]] = defaultdict(list)
    shared: list[tuple[Window, set[int]]] = []
    for w in windows:
        if w.school_id is not None:
            own[w.school_id].append(w)
        else:
            shared.append((w, tree.descendants(w.unit_id) if tree else {w.unit_id}))

    def next_of(covering: list[Window]) -> Window | None:
        # The effective lock of each category: the earliest lock of the windows covering the school (every
        # applicable window must allow a write); a category whose effective lock has passed is closed.
        first: dict[str, Window] = {}
        for w in covering:
            if w.category not in first or w.locks_at < first[w.category].locks_at:
                first[w.category] = w
        ahead = [w for w in first.values() if w.locks_at > now]
        return min(ahead, key=lambda w: (w.locks_at, w.pk)) if ahead else None

    by_place: dict[tuple, list[Window]] = {}
    nexts: dict[tuple, Window | None] = {}
    lock_of: dict[int, tuple[str, bool, float]] = {}
    status, levels_at = _AT["status"], _AT["levels"]
    for i, r in enumerate(raw):
        if r[status] != "active":
            continue
        unit_id = sc.units[i]
        key = (unit_id, r[levels_at])
        if key not in by_place:
            levels = _levels(r[levels_at])
            by_place[key] = [
                w for w, below in shared if unit_id is not None and unit_id in below and covers_levels(w, levels)
            ]
        mine = own.get(r[0])
        if mine:
            levels = _levels(r[levels_at])
            nxt = next_of(by_place[key] + [w for w in mine if covers_levels(w, levels)])
        else:
            if key not in nexts:
                nexts[key] = next_of(by_place[key])
            nxt = nexts[key]
        if nxt is None:
            continue
        judged = lock_of.get(nxt.pk)
        if judged is None:  # a window's category, term and days left, once for all its schools
            days_left = (nxt.locks_at - now).total_seconds() / 86400
            judged = lock_of[nxt.pk] = (nxt.category, term_two_lock(nxt.category, nxt.locks_at, year), days_left)
        done = _completion(r, judged[0], judged[1])
        sc.windows[i], sc.completions[i] = nxt, done
        sc.lights[i] = light_of(done, judged[2], t)
    return sc


_S = {k: _AT[k] for k in FIGURE_FIELDS if k in _AT}


# the positions the completion reads, looked up once (it runs for every school of the scope)
_STATES_AT = tuple(_AT[s] for s in STATES)
_APPROVED_AT = (_AT["approved"], _AT["signed"], _AT["locked"])
_SHEETS_AT = tuple(
    _AT[f] for f in ("sheets_done_term1", "sheets_required_term1", "sheets_done_term2", "sheets_required_term2")
)
_CONDUCT_AT = (_AT["conduct_done_term1"], _AT["conduct_done_term2"])
_STUDENTS_AT, _PROFILE_AT = _AT["students"], _AT["profile_complete"]


def _completion(r: tuple, category: str, term_two: bool) -> int | None:
    return completion(
        category,
        term_two,
        students=r[_STUDENTS_AT],
        records=sum([r[i] for i in _STATES_AT]),
        approved=sum([r[i] for i in _APPROVED_AT]),
        sheets=tuple([r[i] for i in _SHEETS_AT]),
        conduct=(r[_CONDUCT_AT[0]], r[_CONDUCT_AT[1]]),
        profile=r[_PROFILE_AT],
    )


def _school_row(sc: _Scope, i: int, acc: Access) -> SchoolRow:
    r, unit_id, w = sc.raw[i], sc.units[i], sc.windows[i]
    node = acc.tree.nodes.get(unit_id) if acc.tree and unit_id else None
    return SchoolRow(
        id=r[0],
        name=r[_AT["name"]],
        moet_code=r[_AT["moet_code"]],
        levels=_levels(r[_AT["levels"]]),
        status=r[_AT["status"]],
        unit_id=unit_id,
        unit_name=node.name if node else "",
        has_rollup=r[_AT["has_rollup"]],
        **{k: r[i] for k, i in _S.items()},
        schema=r[_AT["schema"]],
        updated_at=_moment(r[_AT["updated_at"]]),
        reconciled_at=_moment(r[_AT["reconciled_at"]]),
        lock_at=_moment(r[_AT["lock_at"]]),
        lock_records=r[_AT["lock_records"]],
        lock_approved=r[_AT["lock_approved"]],
        next_lock_at=w.locks_at if w else None,
        next_window_id=w.pk if w else None,
        next_category=w.category if w else "",
        completion=sc.completions[i],
        light=sc.lights[i],
    )


# --- the units, summed -------------------------------------------------------------------------------------------


def _unit_sums(sc: _Scope) -> dict:
    """Per placement unit, its schools summed, with the schools late and red for their next lock. No query: the
    integers the schools' query already read, grouped by unit and added up column by column (a second scan of the
    same tables in SQL cost several times more on 3,000 schools)."""
    groups: dict[int | None, list[tuple]] = defaultdict(list)
    late: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for r, unit_id, light in zip(sc.raw, sc.units, sc.lights, strict=True):
        groups[unit_id].append(r)
        if light in (RED, AMBER):
            counts = late[unit_id]
            counts[0] += 1
            counts[1] += light == RED
    sums: dict = {}
    for unit_id, rows in groups.items():
        cols = list(zip(*rows, strict=True))
        locks = [x for x in cols[_AT["lock_records"]] if x is not None]
        approved = [x for x in cols[_AT["lock_approved"]] if x is not None]
        schemas = cols[_AT["schema"]]
        sums[unit_id] = {
            "schools": len(rows),
            **{f: sum(cols[_AT[f]]) for f in FIGURE_FIELDS},
            "locks": len(locks),
            "lock_records": sum(locks),
            "lock_approved": sum(approved),
            "schemas_behind": schemas.count(SCHEMA_BEHIND),
            "schemas_failed": schemas.count(SCHEMA_FAILED),
            "updated_at": max((x for x in cols[_AT["updated_at"]] if x is not None), default=None),
            "reconciled_at": min((x for x in cols[_AT["reconciled_at"]] if x is not None), default=None),
            "late": late[unit_id][0] if unit_id in late else 0,
            "red": late[unit_id][1] if unit_id in late else 0,
        }
    return sums


def _sum_units(parts: list[dict], **identity) -> UnitRow:
    locks = sum(p["locks"] for p in parts)
    updated = [p["updated_at"] for p in parts if p["updated_at"]]
    reconciled = [p["reconciled_at"] for p in parts if p["reconciled_at"]]
    return UnitRow(
        **identity,
        schools=sum(p["schools"] for p in parts),
        **{f: sum(p[f] for p in parts) for f in FIGURE_FIELDS},
        lock_records=sum(p["lock_records"] for p in parts) if locks else None,
        lock_approved=sum(p["lock_approved"] for p in parts) if locks else None,
        schemas_behind=sum(p["schemas_behind"] for p in parts),
        schemas_failed=sum(p["schemas_failed"] for p in parts),
        late=sum(p["late"] for p in parts),
        red=sum(p["red"] for p in parts),
        updated_at=_moment(max(updated, default=None)),
        reconciled_at=_moment(min(reconciled, default=None)),
    )


def _unit_rows(sums: dict, acc: Access, units: list[int], *, direct_of: list[int]) -> tuple[UnitRow, ...]:
    """Per unit of ``units``: its schools (placed in it or below) summed; then, per unit of ``direct_of`` with schools
    placed in it directly (a province's upper-secondary schools), those schools as their own group row. No query:
    the sums per placement unit are added up along the tree."""
    out = []
    for unit_id in units:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        if node is None:
            continue
        below = acc.tree.descendants(unit_id)
        parts = [p for u, p in sums.items() if u in below]
        out.append(_sum_units(parts, id=unit_id, name=node.name, kind_label=node.kind_label))
    for unit_id in direct_of:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        if node is None or unit_id not in sums:
            continue
        name = str(_("Trường trực thuộc %(unit)s")) % {"unit": node.name}
        out.append(_sum_units([sums[unit_id]], id=unit_id, name=name, kind_label=node.kind_label, direct=True))
    return tuple(out)


# --- sorting, flags ----------------------------------------------------------------------------------------------


def _sort_key(attr: str):
    def key(row):
        value = getattr(row, attr)
        if value is None:
            return (1, 0, fold(row.name))
        if isinstance(value, str):
            value = fold(value)
        return (0, value, fold(row.name))

    return key


def _folded_name(r: tuple) -> str:
    return r[_AT["search"]] or fold(r[_AT["name"]])


def _sort_index(sort: str, sc: _Scope, acc: Access):
    """The sort key of a school (its index) for the sorts that read its query row, its light or its next lock
    directly (None: a figure derived from several, read from the built row)."""
    attr, raw = SORTS[sort], sc.raw
    if attr == "name":
        return lambda i: _folded_name(raw[i])
    if attr == "light_rank":
        return lambda i: (LIGHT_RANK[sc.lights[i]], _folded_name(raw[i]))
    if attr == "next_lock_at":
        return lambda i: (
            (1, 0, _folded_name(raw[i])) if sc.windows[i] is None else (0, sc.windows[i].locks_at, _folded_name(raw[i]))
        )
    if attr == "unit_name":
        names = {}
        for u in set(sc.units):
            node = acc.tree.nodes.get(u) if acc.tree and u else None
            names[u] = fold(node.name) if node else ""
        return lambda i: (names[sc.units[i]], _folded_name(raw[i]))
    if attr in _AT and attr not in ("name", "search"):
        at = _AT[attr]
        return lambda i: (1, 0, _folded_name(raw[i])) if raw[i][at] is None else (0, raw[i][at], _folded_name(raw[i]))
    return None


def _medians(year: int) -> dict[str, float]:
    """The province's usual rates for the year, over every active school (the deployment is one province, DESIGN
    §9): edits after approval per 100 students, and approved lock exceptions per school (the yardstick of an account
    too: a school's requests are mostly one principal's). One query, kept a while (:mod:`.kept`)."""

    def ask() -> dict[str, float]:
        with connection.cursor() as cursor:
            cursor.execute(_MEDIANS, {"year": year})
            edits, exceptions = cursor.fetchone()
        return {"edits": float(edits or 0), "exceptions": float(exceptions or 0)}

    return kept(("medians", year), ask)


def _account_flags(rows: list[tuple], *, year: int, t: Thresholds, medians: dict[str, float]) -> list[Flag]:
    """The accounts far above the usual rate of approved lock exceptions at the schools of ``rows`` (an account's
    count is at most its school's, so only schools at the minimum count are asked). One query, none for no row."""
    if not rows:
        return []
    name = _AT["name"]
    names = {r[0]: r[name] for r in rows}
    accounts = (
        WindowException.objects.filter(
            status=ExceptionStatus.APPROVED, window__year_start=year, school_id__in=in_array(names)
        )
        .values("requested_by_id", "school_id", name=F("requested_by__full_name"), username=F("requested_by__username"))
        .annotate(n=Count("id"))
        .filter(n__gte=t.flag_min_exceptions)
    )
    return [
        Flag(
            "exceptions",
            a["school_id"],
            names[a["school_id"]],
            a["n"],
            float(a["n"]),
            medians["exceptions"],
            account_id=a["requested_by_id"],
            account_name=a["name"] or a["username"],
        )
        for a in accounts
        if a["n"] > t.flag_factor * medians["exceptions"]
    ]


def _flags(rows: list[tuple], *, year: int, t: Thresholds) -> tuple[Flag, ...]:
    """The schools of ``rows`` and the accounts requesting at them that are far above the province's usual rate:
    more than ``flag_factor`` × the median and at least the minimum count. No query when no school reaches a minimum
    count (the usual case: a flag needs both); else two (the medians, the accounts)."""
    name, students = _AT["name"], _AT["students"]
    edits, exceptions = _AT["edits_after_approval"], _AT["approved_exceptions"]
    min_edits, min_exceptions = t.flag_min_edits, t.flag_min_exceptions
    rows = [r for r in rows if r[edits] >= min_edits or r[exceptions] >= min_exceptions]
    if not rows:
        return ()
    medians = _medians(year)
    out: list[Flag] = []
    for r in rows:
        if r[edits] >= min_edits:
            rate = r[edits] * 100 / max(r[students], 1)
            if rate > t.flag_factor * medians["edits"]:
                out.append(Flag("edits", r[0], r[name], r[edits], round(rate, 1), medians["edits"]))
        if r[exceptions] >= min_exceptions and r[exceptions] > t.flag_factor * medians["exceptions"]:
            out.append(Flag("exceptions", r[0], r[name], r[exceptions], float(r[exceptions]), medians["exceptions"]))
    out.extend(_account_flags([r for r in rows if r[exceptions] >= min_exceptions], year=year, t=t, medians=medians))
    out.sort(key=lambda f: (f.kind, -f.rate, fold(f.school_name), f.account_name))
    return tuple(out)


def board(
    acc: Access,
    *,
    year: int,
    years: tuple[int, ...],
    head: str,
    filters: BoardFilters,
    now: dt.datetime | None = None,
    thresholds: Thresholds | None = None,
    with_flags: bool = True,
    paged: bool = False,
    per_page: int = PER_PAGE,
) -> Board:
    """The board of the person's scope for ``year``: the units they hold ``boards.view`` in (the top ones, then one
    level down, and the schools placed directly in them as their own group) and their schools, filtered and sorted;
    ``paged``: only the page ``filters.page`` of the schools is built (``per_page`` a page; a page past the last
    shows the last), with the count of all the filters kept. ``head``: the current migration head's digest (a
    school elsewhere is behind). Four queries at most, whatever the number of schools."""
    now = now or timezone.now()
    t = thresholds or Thresholds.from_settings()
    scope = acc.schools_with(CAPABILITY)
    sc = _judge(school_rows(scope, year=year, head=head) if scope else [], acc, year=year, now=now, t=t)
    raw, lights_of = sc.raw, sc.lights
    sums = _unit_sums(sc)
    unit = None
    held = [g.unit_id for g in acc.grants if g.unit_id and g.unit_id in acc.units_with(CAPABILITY)]
    top = [filters.unit_id] if filters.unit_id is not None else list(dict.fromkeys(held))
    if filters.unit_id is not None:
        unit = (_unit_rows(sums, acc, [filters.unit_id], direct_of=[]) or (None,))[0]
    children = [c for u in top for c in (acc.tree.children.get(u, ()) if acc.tree else ())]
    if filters.direct:
        units: tuple[UnitRow, ...] = ()
    elif children:
        units = _unit_rows(sums, acc, children, direct_of=top)
    else:
        units = _unit_rows(sums, acc, [] if filters.unit_id is not None else top, direct_of=[])
    chosen = list(range(len(raw)))
    if filters.unit_id is not None:
        below = acc.tree.descendants(filters.unit_id) if acc.tree else set()
        us = sc.units
        chosen = [i for i in chosen if (us[i] == filters.unit_id if filters.direct else us[i] in below)]
    flags = _flags([raw[i] for i in chosen], year=year, t=t) if with_flags and chosen else ()
    lights = dict.fromkeys(LIGHT_LABELS, 0)
    for i in chosen:
        lights[lights_of[i]] += 1
    if filters.school_id is not None:
        chosen = [i for i in chosen if raw[i][0] == filters.school_id]
    if filters.level:
        at = _AT["levels"]
        chosen = [i for i in chosen if filters.level in _levels(raw[i][at])]
    if filters.schema:
        at = _AT["schema"]
        chosen = [i for i in chosen if raw[i][at] == filters.schema]
    if filters.light:
        chosen = [i for i in chosen if lights_of[i] == filters.light]
    if filters.late:
        chosen = [i for i in chosen if sc.late(i)]
    if filters.search:
        folded = fold(filters.search)
        unit_names = {}
        for u in {sc.units[i] for i in chosen}:
            node = acc.tree.nodes.get(u) if acc.tree and u else None
            unit_names[u] = fold(node.name) if node else ""
        code = _AT["moet_code"]
        chosen = [
            i
            for i in chosen
            if folded in _folded_name(raw[i]) or folded in raw[i][code].lower() or folded in unit_names[sc.units[i]]
        ]
    total = len(chosen)
    late_total = sum(1 for i in chosen if lights_of[i] in (RED, AMBER))
    pages = max(1, math.ceil(total / per_page)) if paged else 1
    page = min(filters.page, pages) if paged else 1
    key = _sort_index(filters.sort, sc, acc)
    if key is not None:
        # sorted on the query's values, then only the shown page built
        chosen.sort(key=key, reverse=filters.descending)
        if paged:
            chosen = chosen[(page - 1) * per_page : page * per_page]
        rows = [_school_row(sc, i, acc) for i in chosen]
    else:
        rows = [_school_row(sc, i, acc) for i in chosen]
        rows.sort(key=_sort_key(SORTS[filters.sort]), reverse=filters.descending)
        if paged:
            rows = rows[(page - 1) * per_page : page * per_page]
    return Board(
        year,
        years,
        units,
        tuple(rows),
        unit,
        now,
        t,
        flags,
        lights,
        total=total,
        late_total=late_total,
        page=page,
        pages=pages,
        per_page=per_page if paged else None,
    )


def school_board(
    acc: Access,
    *,
    school_id: int,
    year: int,
    years: tuple[int, ...],
    head: str,
    class_id: int | None = None,
    now: dt.datetime | None = None,
) -> SchoolBoard:
    """One school of the scope for ``year``: its row (as on the board, with its light) and its classes' rows
    (``ClassRollup``: figures only, no student); ``class_id``: only that class of the school, refused when the
    school has no such class that year. Three queries."""
    if school_id not in acc.schools_with(CAPABILITY):
        raise out_of_scope("school")
    now = now or timezone.now()
    sc = _judge(fetch_rows({school_id}, year=year, head=head), acc, year=year, now=now, t=Thresholds.from_settings())
    rows = [_school_row(sc, i, acc) for i in range(len(sc.raw))]
    if not rows:
        raise out_of_scope("school")
    qs = ClassRollup.objects.filter(school_id=school_id, year_start=year)
    if class_id is not None:
        qs = qs.filter(class_id=class_id)
    classes = tuple(
        ClassRow(
            class_id=c["class_id"],
            name=c["name"],
            grade=c["grade"],
            students=c["students"],
            **{s: c[f"records_{s}"] for s in STATES},
            sheets_required_term1=c["sheets_required_term1"],
            sheets_done_term1=c["sheets_done_term1"],
            sheets_required_term2=c["sheets_required_term2"],
            sheets_done_term2=c["sheets_done_term2"],
            stale=c["stale_since"] is not None,
            updated_at=c["updated_at"],
        )
        for c in qs.order_by("grade", "name", "class_id").values(
            "class_id",
            "name",
            "grade",
            "students",
            *(f"records_{s}" for s in STATES),
            "sheets_required_term1",
            "sheets_done_term1",
            "sheets_required_term2",
            "sheets_done_term2",
            "stale_since",
            "updated_at",
        )
    )
    if class_id is not None and not classes:
        raise out_of_scope("class")
    return SchoolBoard(year, years, rows[0], classes, now)
