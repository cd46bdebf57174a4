"""Statistics for province and unit staff (004 art. 4.3, 5.3; 000 IV.1): counts per level, grade, unit and school
(students, classes, record books by state, sheets and conduct completed, identity profiles complete), the results of
the approved record books (TT22 learning, conduct, titles, promotion; TT27 end-of-year evaluation, commendations) by
grade, gender or ethnic group, and completion over time.

Public tables only, never a school's schema (DESIGN §3): ``SchoolRollup`` (per school), ``ClassRollup`` (per class,
for anything by grade or level), ``ResultDistribution`` and ``RollupDay``. A constant number of queries whatever the
number of schools: the scope comes with the access profile, each table is read once, grouped by the database.

The "< 5" rule: below unit level (the scope is one school) a result cell under 5 is shown as "< 5", and the groups'
totals of such a scope are not shown (a hidden cell could be recovered from a total and the other cells)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel import ethnicity
from hocba.kernel.errors import DomainError, NotFound
from hocba.kernel.levels import GRADES, LEVEL_GRADES, LEVEL_LABELS, LEVELS, level_of_grade
from hocba.kernel.recordstates import STATES

from ..models import ClassRollup, ResultDistribution, School, SchoolPlacement, SchoolRollup
from .access import Access
from .distributions import SMALL_CELL, SMALL_CELL_TEXT

CAPABILITY = "statistics.view"
EXPORT_CAPABILITY = "statistics.export"
BYS = ("grade", "gender", "ethnicity")

# The measures of the result distributions and their values in the order they are listed: the same as
# ``schools.rollups.MEASURES`` (a test holds them equal; public code does not import school code).
MEASURES: dict[str, tuple[str, ...]] = {
    "learning": ("tot", "kha", "dat", "chua_dat", "none"),
    "conduct": ("tot", "kha", "dat", "chua_dat", "none"),
    "title": ("hoc_sinh_xuat_sac", "hoc_sinh_gioi", "none"),
    "promotion": ("len_lop", "kiem_tra_lai", "ren_luyen_he", "o_lai_lop", "none"),
    "promotion_final": ("len_lop", "kiem_tra_lai", "ren_luyen_he", "o_lai_lop", "none"),
    "evaluation": ("hoan_thanh_xuat_sac", "hoan_thanh_tot", "hoan_thanh", "chua_hoan_thanh", "none"),
    "commendation": ("hoc_sinh_xuat_sac", "hoc_sinh_tieu_bieu", "khen_thuong_dot_xuat", "none"),
}
MEASURE_LABELS = {
    "learning": _("Kết quả học tập cả năm (TT22)"),
    "conduct": _("Kết quả rèn luyện cả năm (TT22)"),
    "title": _("Danh hiệu (TT22)"),
    "promotion": _("Lên lớp cuối năm (TT22)"),
    "promotion_final": _("Lên lớp sau kiểm tra lại, rèn luyện hè"),
    "evaluation": _("Đánh giá cuối năm (TT27)"),
    "commendation": _("Khen thưởng (TT27)"),
}
# The grades a measure is recorded for: TT22 in lower and upper secondary, TT27 in primary, the final outcome in both.
MEASURE_GRADES = {
    "learning": set(range(6, 13)),
    "conduct": set(range(6, 13)),
    "title": set(range(6, 13)),
    "promotion": set(range(6, 13)),
    "promotion_final": set(GRADES),
    "evaluation": set(range(1, 6)),
    "commendation": set(range(1, 6)),
}
VALUE_LABELS = {
    "tot": _("Tốt"),
    "kha": _("Khá"),
    "dat": _("Đạt"),
    "chua_dat": _("Chưa đạt"),
    "hoc_sinh_xuat_sac": _("Học sinh Xuất sắc"),
    "hoc_sinh_gioi": _("Học sinh Giỏi"),
    "len_lop": _("Được lên lớp"),
    "kiem_tra_lai": _("Kiểm tra lại"),
    "ren_luyen_he": _("Rèn luyện trong kì nghỉ hè"),
    "o_lai_lop": _("Ở lại lớp"),
    "hoan_thanh_xuat_sac": _("Hoàn thành xuất sắc"),
    "hoan_thanh_tot": _("Hoàn thành tốt"),
    "hoan_thanh": _("Hoàn thành"),
    "chua_hoan_thanh": _("Chưa hoàn thành"),
    "hoc_sinh_tieu_bieu": _("Học sinh Tiêu biểu"),
    "khen_thuong_dot_xuat": _("Khen thưởng đột xuất"),
    "none": _("Không có / chưa đánh giá"),
    "other": _("Khác"),
}
GENDER_LABELS = {"M": _("Nam"), "F": _("Nữ")}
BY_LABELS = {"grade": _("Khối lớp"), "gender": _("Giới tính"), "ethnicity": _("Dân tộc")}


def grade_label(grade: int) -> str:
    return str(_("Khối %(grade)s") % {"grade": grade})


def group_label(by: str, key) -> str:
    if by == "grade":
        return grade_label(key)
    if by == "gender":
        return str(GENDER_LABELS.get(key, key))
    return ethnicity.name_of(key) if key in ethnicity.BY_CODE else str(_("Khác / chưa xác định"))


def value_label(value: str) -> str:
    return str(VALUE_LABELS.get(value, value))


# --- filters ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatFilters:
    year: int
    level: str = ""
    unit_id: int | None = None
    school_id: int | None = None
    grade: int | None = None
    by: str = "grade"

    @property
    def grades(self) -> tuple[int, ...]:
        """The grades the figures by grade keep (all of them without a level or grade filter)."""
        keep = LEVEL_GRADES[self.level] if self.level else GRADES
        return tuple(g for g in keep if self.grade is None or g == self.grade)

    @property
    def by_class(self) -> bool:
        """A level or a grade is chosen: the per-school figures come from the classes of those grades."""
        return bool(self.level or self.grade)

    def query(self, **changes) -> dict[str, str]:
        """The filters as a query string's parameters (empty ones left out)."""
        values = {
            "year": self.year,
            "level": self.level,
            "unit": self.unit_id,
            "school": self.school_id,
            "grade": self.grade,
            "by": "" if self.by == "grade" else self.by,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


def _bad(code: str, message, **params) -> DomainError:
    return DomainError(code, message, params=params, http_status=400)


def statistics_years(acc: Access, *, current: int) -> tuple[tuple[int, ...], int]:
    """The years offered (those with rollups in the person's scope and the current one, newest first) and the
    default: the latest with figures up to the current one. One query."""
    scope = Scope.of(acc)
    years = set(SchoolRollup.objects.filter(scope.q()).values_list("year_start", flat=True).distinct())
    default = max((y for y in years if y <= current), default=current)
    return tuple(sorted(years | {current}, reverse=True)), default


def statistics_filters(params, *, acc: Access, years: tuple[int, ...], default_year: int) -> StatFilters:
    """The query string checked: an unknown year, level, grade or grouping is refused (400); a unit or school outside
    the person's scope is not found (404). No query."""

    def number(key: str) -> int | None:
        raw = (params.get(key) or "").strip()
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 12:
            raise _bad("statistics_bad_id", _("Mã “%(value)s” không hợp lệ."), value=raw[:40])
        return int(raw)

    raw_year = (params.get("year") or "").strip()
    year = default_year
    if raw_year:
        head = raw_year.split("-", 1)[0].split("–", 1)[0].strip()
        if not head.isdigit() or int(head) not in years:
            raise _bad("statistics_bad_year", _("Không có số liệu năm học “%(value)s”."), value=raw_year[:20])
        year = int(head)
    level = (params.get("level") or "").strip()
    if level and level not in LEVELS:
        raise _bad("statistics_bad_level", _("Cấp học “%(value)s” không có."), value=level[:40])
    raw_grade = (params.get("grade") or "").strip()
    grade = None
    if raw_grade:
        if not raw_grade.isdigit() or int(raw_grade) not in GRADES:
            raise _bad("statistics_bad_grade", _("Khối lớp “%(value)s” không có (1–12)."), value=raw_grade[:20])
        grade = int(raw_grade)
        if level and grade not in LEVEL_GRADES[level]:
            raise _bad(
                "statistics_bad_grade",
                _("Khối %(grade)s không thuộc cấp học đã chọn."),
                grade=grade,
            )
    by = (params.get("by") or "grade").strip()
    if by not in BYS:
        raise _bad("statistics_bad_by", _("Không nhóm được theo “%(value)s”."), value=by[:40])
    unit_id, school_id = number("unit"), number("school")
    if unit_id is not None and unit_id not in acc.units_with(CAPABILITY):
        raise NotFound("statistics_unit_not_found", _("Không tìm thấy đơn vị này trong phạm vi của bạn."))
    if school_id is not None and school_id not in acc.schools_with(CAPABILITY):
        raise NotFound("statistics_school_not_found", _("Không tìm thấy trường này trong phạm vi của bạn."))
    return StatFilters(year, level, unit_id, school_id, grade, by)


@dataclass(frozen=True)
class Scope:
    """The schools the figures cover, as a filter the database applies: those placed today under the units (a few
    ids, whatever the number of schools), and the schools held directly. No query to build it."""

    day: dt.date
    unit_ids: frozenset[int]
    school_ids: frozenset[int]

    @classmethod
    def of(cls, acc: Access, filters: StatFilters | None = None) -> Scope:
        if filters is not None and filters.school_id is not None:
            return cls(acc.day, frozenset(), frozenset({filters.school_id}))
        units = acc.units_with(CAPABILITY)
        if filters is not None and filters.unit_id is not None and acc.tree is not None:
            units = acc.tree.descendants(filters.unit_id) & units
            return cls(acc.day, frozenset(units), frozenset())
        placed = set(acc.placements)
        direct = {s for s in acc.schools_with(CAPABILITY) if s not in placed or acc.placements[s] not in units}
        return cls(acc.day, frozenset(units), frozenset(direct))

    def q(self, field: str = "school_id") -> Q:
        out = Q(pk__in=[])
        if self.unit_ids:
            placed = SchoolPlacement.objects.on(self.day).filter(unit_id__in=sorted(self.unit_ids))
            out |= Q(**{f"{field}__in": placed.values("school_id")})
        if self.school_ids:
            out |= Q(**{f"{field}__in": sorted(self.school_ids)})
        return out


def scope_schools(acc: Access, filters: StatFilters) -> set[int]:
    """The schools the figures cover: the person's, under the chosen unit, or the chosen school. No query."""
    schools = acc.schools_with(CAPABILITY)
    if filters.unit_id is not None and acc.tree is not None:
        below = acc.tree.descendants(filters.unit_id)
        schools = {s for s in schools if acc.placements.get(s) in below}
    if filters.school_id is not None:
        schools = schools & {filters.school_id}
    return schools


# --- counts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Figures of a school, a unit, a level or a grade. ``None``: not counted at that grain (a school's profile and
    conduct figures are not kept per class)."""

    key: str
    label: str
    schools: int
    students: int
    classes: int
    records: dict[str, int]
    sheets_required: int
    sheets_done: int
    conduct_done: int | None = None
    profile_complete: int | None = None
    archived: int | None = None
    unit_id: int | None = None
    moet_code: str = ""
    levels: tuple[str, ...] = ()
    direct: bool = False  # a group row, not a unit: schools placed in a unit directly, or held without their unit

    @property
    def records_total(self) -> int:
        return sum(self.records.values())

    @property
    def approved_or_further(self) -> int:
        return sum(self.records.get(s, 0) for s in ("approved", "signed", "locked"))

    @property
    def approved_pct(self) -> int:
        return round(100 * self.approved_or_further / self.records_total) if self.records_total else 0

    @property
    def sheets_pct(self) -> int:
        return round(100 * self.sheets_done / self.sheets_required) if self.sheets_required else 0

    @property
    def conduct_pct(self) -> int | None:
        if self.conduct_done is None:
            return None
        whole = 2 * self.students  # two terms
        return round(100 * self.conduct_done / whole) if whole else 0

    @property
    def profile_pct(self) -> int | None:
        if self.profile_complete is None:
            return None
        return round(100 * self.profile_complete / self.students) if self.students else 0


def _sum_counts(key: str, label: str, parts: list[Counts], **extra) -> Counts:
    def total(attr: str) -> int | None:
        values = [getattr(p, attr) for p in parts]
        return None if any(v is None for v in values) else sum(values)

    return Counts(
        key=key,
        label=label,
        schools=sum(p.schools for p in parts),
        students=sum(p.students for p in parts),
        classes=sum(p.classes for p in parts),
        records={s: sum(p.records.get(s, 0) for p in parts) for s in STATES},
        sheets_required=sum(p.sheets_required for p in parts),
        sheets_done=sum(p.sheets_done for p in parts),
        conduct_done=total("conduct_done"),
        profile_complete=total("profile_complete"),
        archived=total("archived"),
        **extra,
    )


_CLASS_SUMS = {
    "students": Sum("students"),
    "classes": Count("id"),
    **{f"records_{s}": Sum(f"records_{s}") for s in STATES},
    "req1": Sum("sheets_required_term1"),
    "req2": Sum("sheets_required_term2"),
    "done1": Sum("sheets_done_term1"),
    "done2": Sum("sheets_done_term2"),
}


def _from_class_sums(key: str, label: str, row: dict, schools: int, **extra) -> Counts:
    return Counts(
        key=key,
        label=label,
        schools=schools,
        students=row["students"] or 0,
        classes=row["classes"] or 0,
        records={s: row[f"records_{s}"] or 0 for s in STATES},
        sheets_required=(row["req1"] or 0) + (row["req2"] or 0),
        sheets_done=(row["done1"] or 0) + (row["done2"] or 0),
        **extra,
    )


@dataclass(frozen=True)
class Summary:
    filters: StatFilters
    total: Counts
    by_level: tuple[Counts, ...]
    by_grade: tuple[Counts, ...]
    by_unit: tuple[Counts, ...]
    by_school: tuple[Counts, ...]


def _school_counts(school_ids: set[int], filters: StatFilters, acc: Access) -> list[Counts]:
    """Per school: its rollup row (no level or grade chosen), or its classes of the chosen grades summed. Two
    queries: the schools' names, their figures."""
    scope = Scope.of(acc, filters)
    schools = {r["pk"]: r for r in School.objects.filter(scope.q("pk")).values("pk", "name", "moet_code", "levels")}
    figures: dict[int, Counts] = {}
    if filters.by_class:
        rows = (
            ClassRollup.objects.filter(scope.q(), year_start=filters.year, grade__in=filters.grades)
            .values("school_id")
            .annotate(**_CLASS_SUMS)
            .order_by()
        )
        for r in rows:
            figures[r["school_id"]] = _from_class_sums(str(r["school_id"]), "", r, 1)
    else:
        states = [f"records_{s}" for s in STATES]
        rows = SchoolRollup.objects.filter(scope.q(), year_start=filters.year).values(
            "school_id",
            "students",
            "classes",
            *states,
            "sheets_required_term1",
            "sheets_required_term2",
            "sheets_done_term1",
            "sheets_done_term2",
            "conduct_done_term1",
            "conduct_done_term2",
            "profile_complete",
            "records_archived",
        )
        for r in rows:
            figures[r["school_id"]] = Counts(
                key=str(r["school_id"]),
                label="",
                schools=1,
                students=r["students"],
                classes=r["classes"],
                records={s: r[f"records_{s}"] for s in STATES},
                sheets_required=r["sheets_required_term1"] + r["sheets_required_term2"],
                sheets_done=r["sheets_done_term1"] + r["sheets_done_term2"],
                conduct_done=r["conduct_done_term1"] + r["conduct_done_term2"],
                profile_complete=r["profile_complete"],
                archived=r["records_archived"],
            )
    empty = Counts("", "", 1, 0, 0, {s: 0 for s in STATES}, 0, 0)
    out = []
    for pk, school in schools.items():
        if filters.level and filters.level not in (school["levels"] or ()):
            continue
        if filters.grade is not None and not any(
            filters.grade in LEVEL_GRADES.get(lv, ()) for lv in school["levels"] or ()
        ):
            continue
        base = figures.get(pk)
        if base is None:
            base = empty if filters.by_class else Counts("", "", 1, 0, 0, {s: 0 for s in STATES}, 0, 0, 0, 0, 0)
        out.append(
            Counts(
                **{
                    **base.__dict__,
                    "key": str(pk),
                    "label": school["name"],
                    "unit_id": acc.placements.get(pk),
                    "moet_code": school["moet_code"],
                    "levels": tuple(school["levels"] or ()),
                }
            )
        )
    out.sort(key=lambda c: c.label)
    return out


def _unit_counts(schools: list[Counts], acc: Access, filters: StatFilters) -> tuple[Counts, ...]:
    """The units one level below the chosen unit (or below the person's own units, or a unit itself when nothing is
    below it), each with its schools summed; then, as the board does, the schools placed directly in a unit that has
    units below it (a province's upper-secondary schools) as a row of their own, and the scope's other schools (held
    without their unit) as a last row: the rows add up to the total. No query."""
    if acc.tree is None or filters.school_id is not None:
        return ()
    held = acc.units_with(CAPABILITY)
    if filters.unit_id is not None:
        top = [filters.unit_id]
    else:
        top = [u for u in held if acc.tree.nodes.get(u) and acc.tree.nodes[u].parent_id not in held]
    rows, direct, counted = [], [], set()
    for parent in top:
        node = acc.tree.nodes.get(parent)
        children = acc.tree.children.get(parent, ())
        if node is None:
            continue
        for unit_id in children or (parent,):
            child = acc.tree.nodes.get(unit_id)
            if child is None:
                continue
            below = acc.tree.descendants(unit_id)
            parts = [s for s in schools if s.unit_id in below]
            counted.update(s.key for s in parts)
            rows.append(_sum_counts(str(unit_id), child.name, parts, unit_id=unit_id))
        placed_here = [s for s in schools if children and s.unit_id == parent]
        if placed_here:
            counted.update(s.key for s in placed_here)
            name = str(_("Trường trực thuộc %(unit)s")) % {"unit": node.name}
            direct.append(_sum_counts(f"direct-{parent}", name, placed_here, unit_id=parent, direct=True))
    out = sorted(rows, key=lambda c: c.label) + sorted(direct, key=lambda c: c.label)
    others = [s for s in schools if s.key not in counted]
    if others and out:
        out.append(_sum_counts("other", str(_("Trường khác trong phạm vi của bạn")), others, direct=True))
    return tuple(out)


def statistics_summary(acc: Access, filters: StatFilters) -> Summary:
    """Counts of the scope: in total, per level, per grade, per unit below the chosen one, per school. Three queries
    (the schools, their figures, their classes by grade)."""
    school_ids = scope_schools(acc, filters)
    schools = _school_counts(school_ids, filters, acc) if school_ids else []
    by_grade: list[Counts] = []
    if school_ids:
        rows = (
            ClassRollup.objects.filter(Scope.of(acc, filters).q(), year_start=filters.year, grade__in=filters.grades)
            .values("grade")
            .annotate(**_CLASS_SUMS, n_schools=Count("school_id", distinct=True))
            .order_by("grade")
        )
        by_grade = [_from_class_sums(str(r["grade"]), grade_label(r["grade"]), r, r["n_schools"]) for r in rows]
    by_level = []
    for level in LEVELS:
        parts = [c for c in by_grade if level_of_grade(int(c.key)) == level]
        if parts:
            offering = sum(1 for s in schools if level in s.levels)
            by_level.append(
                Counts(**{**_sum_counts(level, str(LEVEL_LABELS[level]), parts).__dict__, "schools": offering})
            )
    total = _sum_counts("", str(_("Tổng")), schools)
    return Summary(
        filters, total, tuple(by_level), tuple(by_grade), _unit_counts(schools, acc, filters), tuple(schools)
    )


# --- result distributions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistributionRow:
    key: str
    label: str
    counts: tuple[int | None, ...]  # per value of the measure; None: hidden by the "< 5" rule
    total: int | None  # None: not shown (a scope of one school)

    def shown(self) -> tuple[str, ...]:
        return tuple(SMALL_CELL_TEXT if c is None else str(c) for c in self.counts)


@dataclass(frozen=True)
class MeasureTable:
    measure: str
    label: str
    by: str
    values: tuple[str, ...]
    value_labels: tuple[str, ...]
    rows: tuple[DistributionRow, ...]
    masked: bool

    @property
    def total(self) -> int | None:
        return None if self.masked else sum(r.total or 0 for r in self.rows)


def _group_order(by: str, key) -> tuple:
    if by == "grade":
        return (key,)
    if by == "gender":
        return (0 if key == "M" else 1, key)
    return (key == ethnicity.OTHER, key)


def statistics_distributions(acc: Access, filters: StatFilters, *, measure: str | None = None) -> list[MeasureTable]:
    """Each measure's counts of approved record books by value, grouped by ``filters.by``, over the scope's schools
    and the chosen grades: the measures the scope's approved records hold, or the one asked for. One query for every
    measure. A scope of one school hides cells under 5 and totals."""
    if measure is not None and measure not in MEASURES:
        raise _bad("statistics_bad_measure", _("Không có chỉ số “%(value)s”."), value=measure[:40])
    school_ids = scope_schools(acc, filters)
    masked = filters.school_id is not None
    measures = [m for m in MEASURES if measure in (None, m) and MEASURE_GRADES[m] & set(filters.grades)]
    found: dict[str, dict[object, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    if school_ids and measures:
        rows = (
            ResultDistribution.objects.filter(
                Scope.of(acc, filters).q(), year_start=filters.year, measure__in=measures, grade__in=filters.grades
            )
            .values("measure", filters.by, "value")
            .annotate(n=Sum("count"))
            .order_by()
        )
        for r in rows:
            if r["n"]:
                found[r["measure"]][r[filters.by]][r["value"]] = r["n"]
    out = []
    for m in measures:
        groups = found.get(m, {})
        if not groups and measure is None:
            continue  # a measure no approved record of the scope holds (TT27 in a secondary-only scope)
        extra = sorted({v for cells in groups.values() for v in cells} - set(MEASURES[m]))
        values = (*MEASURES[m], *extra)
        rows_out = []
        for key in sorted(groups, key=lambda k: _group_order(filters.by, k)):
            cells = groups[key]
            counts = tuple(None if masked and 0 < cells.get(v, 0) < SMALL_CELL else cells.get(v, 0) for v in values)
            rows_out.append(
                DistributionRow(str(key), group_label(filters.by, key), counts, None if masked else sum(cells.values()))
            )
        out.append(
            MeasureTable(
                measure=m,
                label=str(MEASURE_LABELS[m]),
                by=filters.by,
                values=values,
                value_labels=tuple(value_label(v) for v in values),
                rows=tuple(rows_out),
                masked=masked,
            )
        )
    return out


# --- completion over time -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletionDay:
    day: dt.date
    schools: int
    sheets_required: int
    sheets_done: int
    records: int
    approved_or_further: int
    signed_or_further: int

    @property
    def sheets_pct(self) -> float | None:
        return round(100 * self.sheets_done / self.sheets_required, 1) if self.sheets_required else None

    @property
    def approved_pct(self) -> float | None:
        return round(100 * self.approved_or_further / self.records, 1) if self.records else None

    @property
    def signed_pct(self) -> float | None:
        return round(100 * self.signed_or_further / self.records, 1) if self.records else None


# The day's figures are a copy of the school's rollup row (``tenants.reminders``): the states under "records", the
# sheets as flat keys. Summed by the database, one row per day.
COMPLETION_SQL = """
SELECT day, count(*),
  sum(coalesce((figures->>'sheets_required_term1')::bigint, 0)
      + coalesce((figures->>'sheets_required_term2')::bigint, 0)),
  sum(coalesce((figures->>'sheets_done_term1')::bigint, 0) + coalesce((figures->>'sheets_done_term2')::bigint, 0)),
  sum(coalesce((figures->>'records_total')::bigint, 0)),
  sum(coalesce((figures->'records'->>'approved')::bigint, 0) + coalesce((figures->'records'->>'signed')::bigint, 0)
      + coalesce((figures->'records'->>'locked')::bigint, 0)),
  sum(coalesce((figures->'records'->>'signed')::bigint, 0) + coalesce((figures->'records'->>'locked')::bigint, 0))
FROM public.tenants_rollupday
WHERE year_start = %s AND day = ANY(%s) AND school_id = ANY(%s)
GROUP BY day ORDER BY day
"""
DAILY_DAYS = 14  # the last fortnight day by day; before it, one day a week (Mondays)


def local_today() -> dt.date:
    return timezone.localdate()


def completion_days(year: int, today: dt.date) -> list[dt.date]:
    """The days a year's completion chart reads: every Monday from 1 August, then each of the last ``DAILY_DAYS``
    days up to ``today`` (or the year's last day, 31 July, for a past year). Some 60 days instead of 365: the
    chart keeps its shape and the query reads a sixth of the copies (3,000 schools: 180,000 rows, not 1.1 M)."""
    first, last = dt.date(year, 8, 1), min(today, dt.date(year + 1, 7, 31))
    if last < first:
        return []
    daily_from = max(first, last - dt.timedelta(days=DAILY_DAYS - 1))
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    weekly = [monday + dt.timedelta(weeks=n) for n in range(max(0, (daily_from - monday).days // 7 + 1))]
    days = [d for d in weekly if d < daily_from]
    return days + [daily_from + dt.timedelta(days=n) for n in range((last - daily_from).days + 1)]


def statistics_completion(
    acc: Access, filters: StatFilters, *, today: dt.date | None = None
) -> tuple[CompletionDay, ...]:
    """The scope's sheets done of required and record books approved (or further) of all, over the year (weekly, then
    the last days one by one: ``completion_days``), from the daily copies of the schools' figures (``RollupDay``).
    One query. The figures are per school: a level or grade filter narrows the schools, not their figures."""
    school_ids = sorted(s.id for s in _schools_for_completion(acc, filters))
    days = completion_days(filters.year, today or local_today())
    if not school_ids or not days:
        return ()
    with connection.cursor() as cursor:
        cursor.execute(COMPLETION_SQL, [filters.year, days, school_ids])
        rows = cursor.fetchall()
    return tuple(CompletionDay(*(r[0], r[1], *(int(v or 0) for v in r[2:]))) for r in rows)


@dataclass(frozen=True)
class _SchoolRef:
    id: int


def _schools_for_completion(acc: Access, filters: StatFilters) -> list[_SchoolRef]:
    school_ids = scope_schools(acc, filters)
    if not filters.by_class or not school_ids:
        return [_SchoolRef(s) for s in school_ids]
    grades = set(filters.grades)
    rows = School.objects.filter(Scope.of(acc, filters).q("pk")).values_list("pk", "levels")
    return [_SchoolRef(pk) for pk, levels in rows if any(set(LEVEL_GRADES.get(lv, ())) & grades for lv in levels or ())]
