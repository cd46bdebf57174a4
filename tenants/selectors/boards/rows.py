"""The board's reads: the schools' rows (one query), their next lock and light (one query), the units summed, the
flags (two queries), one school's classes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.db import connection
from django.db.models import Count, F, FilteredRelation, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.recordstates import STATES
from hocba.kernel.text import fold

from ...models import (
    ClassRollup,
    ComplianceSnapshot,
    ExceptionStatus,
    RollupDrift,
    School,
    Window,
    WindowException,
)
from ...reminders import windows_of_schools
from ..access import Access
from .figures import (
    CAPABILITY,
    FIGURE_FIELDS,
    LIGHT_LABELS,
    MEASURED,
    RED,
    SCHEMA_BEHIND,
    SCHEMA_FAILED,
    SCHEMA_OK,
    SORTS,
    Board,
    BoardFilters,
    ClassRow,
    Flag,
    SchoolBoard,
    SchoolRow,
    Thresholds,
    UnitRow,
    light_of,
)
from .filters import out_of_scope

ROLLUP_FIELDS = {
    "students": "students",
    "classes": "classes",
    "archived": "records_archived",
    "sheets_required_term1": "sheets_required_term1",
    "sheets_done_term1": "sheets_done_term1",
    "sheets_required_term2": "sheets_required_term2",
    "sheets_done_term2": "sheets_done_term2",
    "conduct_done_term1": "conduct_done_term1",
    "conduct_done_term2": "conduct_done_term2",
    "profile_complete": "profile_complete",
    "edits_after_approval": "edits_after_approval",
    **{s: f"records_{s}" for s in STATES},
}


def _school_rows(school_ids: set[int], *, year: int, head: str, acc: Access) -> list[SchoolRow]:
    """One query: each school with its rollup of the year, its exception counts, its last lock's snapshot and the
    drift its last reconciliation fixed."""
    requests = (
        WindowException.objects.filter(school_id=OuterRef("pk"), window__year_start=year)
        .values("school_id")
        .annotate(n=Count("id"))
    )
    snapshot = ComplianceSnapshot.objects.filter(school_id=OuterRef("pk"), year_start=year).order_by(
        "-locks_at", "-taken_at", "-id"
    )
    drift = (
        RollupDrift.objects.filter(
            school_id=OuterRef("pk"), year_start=year, found_at=OuterRef("this_year__reconciled_at")
        )
        .values("school_id")
        .annotate(n=Count("id"))
    )
    fields = [
        "pk",
        "name",
        "moet_code",
        "levels",
        "status",
        "schema_head",
        "schema_error",
        "this_year__id",
        *(f"this_year__{c}" for c in ROLLUP_FIELDS.values()),
        "this_year__updated_at",
        "this_year__reconciled_at",
        "open_requests",
        "approved_exceptions",
        "lock_at",
        "lock_figures",
        "drift",
    ]
    qs = (
        School.objects.filter(pk__in=school_ids)
        .annotate(
            this_year=FilteredRelation("rollups", condition=Q(rollups__year_start=year)),
            open_requests=Coalesce(
                Subquery(requests.filter(status=ExceptionStatus.REQUESTED).values("n")[:1]),
                0,
                output_field=IntegerField(),
            ),
            approved_exceptions=Coalesce(
                Subquery(requests.filter(status=ExceptionStatus.APPROVED).values("n")[:1]),
                0,
                output_field=IntegerField(),
            ),
            lock_at=Subquery(snapshot.values("locks_at")[:1]),
            lock_figures=Subquery(snapshot.values("figures")[:1]),
            drift=Coalesce(Subquery(drift.values("n")[:1]), 0, output_field=IntegerField()),
        )
        .values(*fields)
    )
    out = []
    for r in qs:
        unit_id = acc.placements.get(r["pk"])
        node = acc.tree.nodes.get(unit_id) if acc.tree and unit_id else None
        schema = SCHEMA_FAILED if r["schema_error"] else SCHEMA_BEHIND if r["schema_head"] != head else SCHEMA_OK
        figures = r["lock_figures"] or None
        lock_records = lock_approved = None
        if figures is not None:
            recs = figures.get("records") or {}
            lock_records = int(figures.get("records_total") or 0)
            lock_approved = sum(int(recs.get(s) or 0) for s in ("approved", "signed", "locked"))
        out.append(
            SchoolRow(
                id=r["pk"],
                name=r["name"],
                moet_code=r["moet_code"],
                levels=tuple(r["levels"] or ()),
                status=r["status"],
                unit_id=unit_id,
                unit_name=node.name if node else "",
                has_rollup=r["this_year__id"] is not None,
                **{k: r[f"this_year__{c}"] or 0 for k, c in ROLLUP_FIELDS.items()},
                open_requests=r["open_requests"],
                approved_exceptions=r["approved_exceptions"],
                schema=schema,
                updated_at=r["this_year__updated_at"],
                reconciled_at=r["this_year__reconciled_at"],
                drift=r["drift"],
                lock_at=r["lock_at"],
                lock_records=lock_records,
                lock_approved=lock_approved,
            )
        )
    return out


def _with_lights(rows: list[SchoolRow], acc: Access, *, year: int, now: dt.datetime, t: Thresholds) -> list[SchoolRow]:
    """Each school's next lock and light. One query (the year's windows that reach the scope: set for its schools or
    for their units or the units above); which window covers which school is ``tenants.reminders``' rule."""
    if not rows:
        return rows
    units: set[int] = set()
    for r in rows:
        if r.unit_id is not None:
            units |= {r.unit_id, *(acc.tree.ancestors(r.unit_id) if acc.tree else ())}
    windows = list(
        Window.objects.filter(year_start=year, cancelled_at__isnull=True, category__in=list(MEASURED)).filter(
            Q(school_id__in=[r.id for r in rows]) | Q(unit_id__in=units)
        )
    )
    covering = windows_of_schools(
        windows,
        tree=acc.tree,
        placements={r.id: r.unit_id for r in rows if r.unit_id is not None},
        levels={r.id: r.levels for r in rows if r.status == "active"},
    )
    out = []
    for r in rows:
        # The effective lock of each category: the earliest lock of the windows covering the school (every
        # applicable window must allow a write); a category whose effective lock has passed is closed.
        first: dict[str, Window] = {}
        for w in covering.get(r.id, ()):
            if w.category not in first or w.locks_at < first[w.category].locks_at:
                first[w.category] = w
        ahead = sorted((w for w in first.values() if w.locks_at > now), key=lambda w: (w.locks_at, w.pk))
        if not ahead:
            out.append(r)
            continue
        nxt = ahead[0]
        completion = r.completion_for(nxt.category, nxt.locks_at, year)
        days_left = (nxt.locks_at - now).total_seconds() / 86400
        out.append(
            replace(
                r,
                next_lock_at=nxt.locks_at,
                next_window_id=nxt.pk,
                next_category=nxt.category,
                completion=completion,
                light=light_of(completion, days_left, t),
            )
        )
    return out


def _sum_rows(mine: list[SchoolRow], **identity) -> UnitRow:
    locks = [r for r in mine if r.lock_records is not None]
    updated = [r.updated_at for r in mine if r.updated_at]
    reconciled = [r.reconciled_at for r in mine if r.reconciled_at]
    return UnitRow(
        **identity,
        schools=len(mine),
        **{f: sum(getattr(r, f) for r in mine) for f in FIGURE_FIELDS},
        lock_records=sum(r.lock_records or 0 for r in locks) if locks else None,
        lock_approved=sum(r.lock_approved or 0 for r in locks) if locks else None,
        schemas_behind=sum(1 for r in mine if r.schema == SCHEMA_BEHIND),
        schemas_failed=sum(1 for r in mine if r.schema == SCHEMA_FAILED),
        late=sum(1 for r in mine if r.late),
        red=sum(1 for r in mine if r.light == RED),
        updated_at=max(updated, default=None),
        reconciled_at=min(reconciled, default=None),
    )


def _unit_rows(rows: list[SchoolRow], acc: Access, units: list[int], *, direct_of: list[int]) -> tuple[UnitRow, ...]:
    """Per unit of ``units``: its schools (placed in it or below) summed; then, per unit of ``direct_of`` with schools
    placed in it directly (a province's upper-secondary schools), those schools as their own group row. No query."""
    out = []
    for unit_id in units:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        if node is None:
            continue
        below = acc.tree.descendants(unit_id)
        mine = [r for r in rows if r.unit_id in below]
        out.append(_sum_rows(mine, id=unit_id, name=node.name, kind_label=node.kind_label))
    for unit_id in direct_of:
        node = acc.tree.nodes.get(unit_id) if acc.tree else None
        mine = [r for r in rows if r.unit_id == unit_id]
        if node is None or not mine:
            continue
        name = str(_("Trường trực thuộc %(unit)s")) % {"unit": node.name}
        out.append(_sum_rows(mine, id=unit_id, name=name, kind_label=node.kind_label, direct=True))
    return tuple(out)


def _sort_key(attr: str):
    def key(row):
        value = getattr(row, attr)
        if value is None:
            return (1, 0, fold(row.name))
        if isinstance(value, str):
            value = fold(value)
        return (0, value, fold(row.name))

    return key


def _medians(year: int) -> dict[str, float]:
    """The province's usual rates for the year, over every active school (the deployment is one province, DESIGN
    §9): edits after approval per 100 students, and approved lock exceptions per school (the yardstick of an account
    too: a school's requests are mostly one principal's). One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH s AS (SELECT id FROM public.tenants_school WHERE status = 'active' AND schema_name <> 'public'),
            e AS (SELECT x.school_id, count(*) AS n
                    FROM public.tenants_windowexception x JOIN public.tenants_window w ON w.id = x.window_id
                   WHERE x.status = 'approved' AND w.year_start = %s GROUP BY 1)
            SELECT
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(r.edits_after_approval, 0) * 100.0
                                                         / greatest(coalesce(r.students, 0), 1))
                 FROM s LEFT JOIN public.tenants_schoolrollup r ON r.school_id = s.id AND r.year_start = %s),
              (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(e.n, 0))
                 FROM s LEFT JOIN e ON e.school_id = s.id)
            """,
            [year, year],
        )
        edits, exceptions = cursor.fetchone()
    return {"edits": float(edits or 0), "exceptions": float(exceptions or 0)}


def _flags(rows: list[SchoolRow], *, year: int, t: Thresholds) -> tuple[Flag, ...]:
    """The schools of ``rows`` and the accounts requesting at them that are far above the province's usual rate:
    more than ``flag_factor`` × the median and at least the minimum count. Two queries."""
    if not rows:
        return ()
    medians = _medians(year)
    out: list[Flag] = []
    for r in rows:
        rate = r.edits_after_approval * 100 / max(r.students, 1)
        if r.edits_after_approval >= t.flag_min_edits and rate > t.flag_factor * medians["edits"]:
            out.append(Flag("edits", r.id, r.name, r.edits_after_approval, round(rate, 1), medians["edits"]))
        if r.approved_exceptions >= t.flag_min_exceptions and r.approved_exceptions > (
            t.flag_factor * medians["exceptions"]
        ):
            out.append(
                Flag(
                    "exceptions",
                    r.id,
                    r.name,
                    r.approved_exceptions,
                    float(r.approved_exceptions),
                    medians["exceptions"],
                )
            )
    names = {r.id: r.name for r in rows}
    accounts = (
        WindowException.objects.filter(
            status=ExceptionStatus.APPROVED, window__year_start=year, school_id__in=list(names)
        )
        .values("requested_by_id", "school_id", name=F("requested_by__full_name"), username=F("requested_by__username"))
        .annotate(n=Count("id"))
        .filter(n__gte=t.flag_min_exceptions)
    )
    for a in accounts:
        if a["n"] > t.flag_factor * medians["exceptions"]:
            out.append(
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
            )
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
) -> Board:
    """The board of the person's scope for ``year``: the units they hold ``boards.view`` in (the top ones, then one
    level down, and the schools placed directly in them as their own group) and their schools, filtered and sorted.
    ``head``: the current migration head's digest (a school elsewhere is behind). Five queries at most."""
    now = now or timezone.now()
    t = thresholds or Thresholds.from_settings()
    scope = acc.schools_with(CAPABILITY)
    rows = _school_rows(scope, year=year, head=head, acc=acc) if scope else []
    rows = _with_lights(rows, acc, year=year, now=now, t=t)
    unit = None
    held = [g.unit_id for g in acc.grants if g.unit_id and g.unit_id in acc.units_with(CAPABILITY)]
    top = [filters.unit_id] if filters.unit_id is not None else list(dict.fromkeys(held))
    if filters.unit_id is not None:
        unit = (_unit_rows(rows, acc, [filters.unit_id], direct_of=[]) or (None,))[0]
    children = [c for u in top for c in (acc.tree.children.get(u, ()) if acc.tree else ())]
    if filters.direct:
        units: tuple[UnitRow, ...] = ()
    elif children:
        units = _unit_rows(rows, acc, children, direct_of=top)
    else:
        units = _unit_rows(rows, acc, [] if filters.unit_id is not None else top, direct_of=[])
    if filters.unit_id is not None:
        below = acc.tree.descendants(filters.unit_id) if acc.tree else set()
        rows = [r for r in rows if (r.unit_id == filters.unit_id if filters.direct else r.unit_id in below)]
    flags = _flags(rows, year=year, t=t) if with_flags else ()
    lights = {k: sum(1 for r in rows if r.light == k) for k in LIGHT_LABELS}
    if filters.school_id is not None:
        rows = [r for r in rows if r.id == filters.school_id]
    if filters.level:
        rows = [r for r in rows if filters.level in r.levels]
    if filters.schema:
        rows = [r for r in rows if r.schema == filters.schema]
    if filters.light:
        rows = [r for r in rows if r.light == filters.light]
    if filters.late:
        rows = [r for r in rows if r.late]
    if filters.search:
        folded = fold(filters.search)
        rows = [
            r for r in rows if folded in fold(r.name) or folded in r.moet_code.lower() or folded in fold(r.unit_name)
        ]
    rows.sort(key=_sort_key(SORTS[filters.sort]), reverse=filters.descending)
    return Board(year, years, units, tuple(rows), unit, now, t, flags, lights)


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
    rows = _with_lights(
        _school_rows({school_id}, year=year, head=head, acc=acc), acc, year=year, now=now, t=Thresholds.from_settings()
    )
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
