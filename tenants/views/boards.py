"""The province and unit board (``/manage/board/``): the schools of the person's scope with their figures for a
school year, the units above them summed (a province's own schools as their own group), traffic lights for the
schools behind as their next lock nears, flags for the schools and accounts far above the province's usual rate,
filters (unit, level, schema state, light, late for the next lock), search without accents, sort by any column,
a column chooser, and each table as an Excel file (``?format=xlsx&table=schools|units|flags``, ``boards.export``).
Below it: one school's classes (``/manage/board/schools/<id>/``, a class at ``…/classes/<class id>/``), and “remind
late schools” (``/manage/board/remind/``: a confirmation page, then a POST; ``boards.remind``).

The pages live on the public side (``tenants``): routed from the platform's URLs, they read the public tables
through ``selectors.boards`` only — figures, never a student."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_CHOICES
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_response
from hocba.kernel.schoolyear import current_school_year
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE, listing_workbook

from .. import provisioning
from ..reminders import _domains, site_url
from ..selectors import boards
from ..services.boards import remind_late_schools
from . import board_tables
from .common import access

EXPORT_ROWS = 5000  # rows in one export; a province has at most some 3,500 schools
TABLES = ("schools", "units", "flags")

# The columns a person may sort by, as the table's headers show them: (key of ``boards.SORTS``, label, group).
# Group "" always shows.
COLUMNS = (
    ("name", _("Trường"), ""),
    ("light", _("Tiến độ"), ""),
    ("next_lock", _("Hạn khóa tới"), ""),
    ("students", _("Học sinh"), ""),
    ("classes", _("Lớp"), ""),
    ("sheets1", _("Bảng điểm HK I"), "progress"),
    ("sheets2", _("Bảng điểm HK II"), "progress"),
    ("conduct1", _("Rèn luyện HK I"), "progress"),
    ("conduct2", _("Rèn luyện HK II"), "progress"),
    ("profile", _("Hồ sơ đủ"), "progress"),
    ("draft", _("Đang nhập"), "records"),
    ("submitted", _("Đã trình"), "records"),
    ("approved", _("Đã duyệt"), "records"),
    ("signed", _("Đã ký"), "records"),
    ("locked", _("Đã khóa"), "records"),
    ("archived", _("Đã lưu trữ"), "records"),
    ("approved_pct", _("Tỷ lệ duyệt"), "records"),
    ("signed_pct", _("Tỷ lệ ký"), "records"),
    ("requests", _("Đề nghị chờ"), "exceptions"),
    ("exceptions", _("Ngoại lệ đã duyệt"), "exceptions"),
    ("edits", _("Sửa sau duyệt (hằng ngày)"), "exceptions"),
    ("schema", _("Phiên bản dữ liệu"), "health"),
    ("updated", _("Hoạt động cuối"), "health"),
    ("reconciled", _("Đối soát cuối"), "health"),
    ("drift", _("Sai lệch"), "health"),
    ("lock_records", _("Học bạ lúc khóa"), "lock"),
    ("lock_approved_pct", _("Duyệt lúc khóa (phần trăm)"), "lock"),
)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def _blank(value):
    return "" if value is None else value


def year_label(year: int) -> str:
    return f"{year}–{year + 1}"


def _year(request, acc) -> tuple[int, tuple[int, ...]]:
    years, default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=current_school_year())
    return boards.board_year(request.GET.get("year"), years=years, default=default), years


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response


def _format(request, acc) -> str:
    fmt = request.GET.get("format", "")
    if fmt not in ("", "html", "xlsx"):
        raise DomainError("board_bad_format", _("Định dạng “%(value)s” không có."), params={"value": fmt[:20]})
    if fmt == "xlsx" and not acc.has("boards.export"):
        raise DomainError("forbidden", _("Bạn không có quyền tải bảng theo dõi."), http_status=403)
    return fmt


def _too_large(rows: int) -> DomainError:
    return DomainError(
        "board_export_too_large",
        _("Bảng có %(rows)s dòng, quá %(limit)s dòng của một tệp; hãy lọc hẹp hơn."),
        params={"rows": rows, "limit": EXPORT_ROWS},
    )


def load_board(request, acc, filters: boards.BoardFilters, *, paged: bool = False) -> boards.Board:
    """The board of the request's filters: one page of schools for the page (``paged``), every row for an export."""
    year, years = _year(request, acc)
    return boards.board(
        acc, year=year, years=years, head=provisioning.migration_head().digest, filters=filters, paged=paged
    )


def kept_params(f: boards.BoardFilters, year: int) -> dict:
    """The board's query string for links that keep the filters (sort and columns apart)."""
    kept = {
        "year": str(year),
        "unit": f.unit_id or "",
        "direct": "1" if f.direct else "",
        "level": f.level,
        "schema": f.schema,
        "light": f.light,
        "late": "1" if f.late else "",
        "q": f.search,
    }
    return {k: v for k, v in kept.items() if v not in ("", None)}


class BoardView(CapabilityRequiredMixin, TemplateView):
    required_capability = boards.CAPABILITY
    template_name = "tenants/board.html"

    def get(self, request, *args, **kwargs):
        acc = access(request)
        try:
            filters = boards.board_filters(request.GET, acc=acc)
            fmt = _format(request, acc)
            table = request.GET.get("table", "schools") or "schools"
            if table not in TABLES:
                raise DomainError("board_bad_table", _("Bảng “%(value)s” không có."), params={"value": table[:20]})
            data = load_board(request, acc, filters, paged=fmt != "xlsx" or table != "schools")
            if fmt == "xlsx":
                size = len({"schools": data.schools, "units": data.units, "flags": data.flags}[table])
                if size > EXPORT_ROWS:
                    raise _too_large(size)
        except DomainError as exc:
            return refusal_response(request, exc)
        if fmt == "xlsx":
            writer = {"schools": board_workbook, "units": units_workbook, "flags": flags_workbook}[table]
            return _xlsx(writer(data), f"bang-theo-doi-{table}-{data.year}-{timezone.localdate():%Y%m%d}.xlsx")
        self.data, self.filters = data, filters
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        f, data = self.filters, self.data
        kept = kept_params(f, data.year)
        cols = [("cols", g) for g in f.groups] or [("cols", "none")]
        sort = ("-" if f.descending else "") + f.sort
        headers = []
        for key, label, group in COLUMNS:
            if group and group not in f.groups:
                continue
            target = f"-{key}" if f.sort == key and not f.descending else key
            headers.append(
                {
                    "key": key,
                    "label": label,
                    "url": "?" + urlencode([*kept.items(), ("sort", target), *cols]),
                    "current": f.sort == key,
                    "descending": f.descending,
                }
            )
        acc = access(self.request)
        domains = _domains(fl.school_id for fl in data.flags) if data.flags else {}
        flags = [
            {
                "flag": fl,
                "history": site_url(
                    domains.get(fl.school_id, ""),
                    "/history/" + (f"?teacher={fl.account_id}" if fl.account_id else ""),
                ),
            }
            for fl in data.flags
        ]
        export = [*kept.items(), ("sort", sort), ("format", "xlsx")]
        here = [*kept.items(), ("sort", sort), *cols]
        pages = [
            {"number": n, "url": "?" + urlencode([*here, ("page", n)]), "current": n == data.page}
            for n in _page_numbers(data.page, data.pages)
        ]
        ctx = {
            "board": data,
            "filters": f,
            "groups": [(k, v, k in f.groups) for k, v in boards.GROUPS.items()],
            "headers": headers,
            "units_html": board_tables.unit_rows(data.units, year=data.year, groups=f.groups),
            "schools_html": board_tables.school_rows(
                data.schools, year=data.year, groups=f.groups, colspan=len(headers)
            ),
            "year_label": year_label(data.year),
            "years": [(y, year_label(y)) for y in data.years],
            "levels": LEVEL_CHOICES,
            "schemas": list(boards.SCHEMA_LABELS.items()),
            "lights": [(k, v, (data.lights or {}).get(k, 0)) for k, v in boards.LIGHT_LABELS.items()],
            "unit_choices": self.unit_choices(acc),
            "export_url": "?" + urlencode(export),
            "export_units_url": "?" + urlencode([*export, ("table", "units")]),
            "export_flags_url": "?" + urlencode([*export, ("table", "flags")]),
            "late_url": "?" + urlencode([*{**kept, "late": "1"}.items(), *cols]),
            "remind_url": reverse("board_remind") + "?" + urlencode(list({**kept, "late": "1"}.items())),
            "can_export": acc.has("boards.export"),
            "can_remind": acc.has("boards.remind"),
            "unit_path": acc.tree.path(f.unit_id) if acc.tree and f.unit_id else [],
            "kept": kept,
            "kept_query": urlencode(list(kept.items())),
            "cols_query": urlencode(cols),
            "sort": sort,
            "flags": flags,
            "t": data.thresholds,
            "pages": pages,
            "previous_url": "?" + urlencode([*here, ("page", data.page - 1)]) if data.page > 1 else "",
            "next_url": "?" + urlencode([*here, ("page", data.page + 1)]) if data.page < data.pages else "",
        }
        return super().get_context_data(**ctx, **kwargs)

    @staticmethod
    def unit_choices(acc) -> list[tuple[int, str]]:
        """The units of the scope, each indented under its parent (no query: the access profile holds the tree)."""
        units = acc.units_with(boards.CAPABILITY)
        if not acc.tree:
            return []
        out = []

        def walk(unit_id: int, depth: int) -> None:
            node = acc.tree.nodes.get(unit_id)
            if node is None:
                return
            out.append((unit_id, "\u2003" * depth + node.name))
            for child in sorted(acc.tree.children.get(unit_id, ()), key=lambda c: acc.tree.nodes[c].name):
                if child in units:
                    walk(child, depth + 1)

        for unit_id in sorted(u for u in units if acc.tree.nodes.get(u) and acc.tree.nodes[u].parent_id not in units):
            walk(unit_id, 0)
        return out


def _page_numbers(page: int, pages: int) -> list[int | None]:
    """The page links: the first, the last and two on each side of the current one; None where pages are skipped."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


class BoardSchoolView(CapabilityRequiredMixin, TemplateView):
    """One school of the scope: its figures, its light and its classes (figures only: no student, no name of a
    student); a class of it at ``classes/<class_id>/``; the way to ask the school for a read grant."""

    required_capability = boards.CAPABILITY
    template_name = "tenants/board_school.html"

    def get(self, request, pk: int, class_id: int | None = None, **kwargs):
        acc = access(request)
        try:
            fmt = _format(request, acc)
            year, years = _year(request, acc)
            data = boards.school_board(
                acc,
                school_id=pk,
                year=year,
                years=years,
                head=provisioning.migration_head().digest,
                class_id=class_id,
            )
            if fmt == "xlsx" and len(data.classes) > EXPORT_ROWS:
                raise _too_large(len(data.classes))
        except DomainError as exc:
            return refusal_response(request, exc)
        if fmt == "xlsx":
            name = f"bang-theo-doi-lop-{pk}-{data.year}-{timezone.localdate():%Y%m%d}.xlsx"
            return _xlsx(classes_workbook(data), name)
        self.data, self.class_id = data, class_id
        return super().get(request, **kwargs)

    def get_context_data(self, **kwargs):
        data = self.data
        acc = access(self.request)
        school = data.school
        ctx = {
            "data": data,
            "school": school,
            "klass": data.classes[0] if self.class_id is not None else None,
            "year_label": year_label(data.year),
            "years": [(y, year_label(y)) for y in data.years],
            "unit_path": acc.tree.path(school.unit_id) if acc.tree and school.unit_id else [],
            "can_export": acc.has("boards.export"),
            "can_request_grant": acc.has_in_school("grants.request", school.id) and school.status == "active",
            "days_left": school.days_left(data.now),
        }
        return super().get_context_data(**ctx, **kwargs)


class BoardRemindView(CapabilityRequiredMixin, TemplateView):
    """“Nhắc trường chậm”: GET shows the late schools of the board's filters and asks; POST notifies their
    principals (at most once a day per school and window) and goes back to the board with the result."""

    required_capability = "boards.remind"
    template_name = "tenants/board_remind.html"

    def _late(self, request, params):
        acc = access(request)
        filters = boards.board_filters(params, acc=acc)
        filters = replace(filters, late=True)
        years, default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=current_school_year())
        year = boards.board_year(params.get("year"), years=years, default=default)
        data = boards.board(
            acc, year=year, years=years, head=provisioning.migration_head().digest, filters=filters, with_flags=False
        )
        return filters, data

    def get(self, request, *args, **kwargs):
        try:
            self.filters, self.data = self._late(request, request.GET)
        except DomainError as exc:
            return refusal_response(request, exc)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kept = kept_params(self.filters, self.data.year)
        return super().get_context_data(
            board=self.data,
            kept=kept,
            back_url=reverse("board") + "?" + urlencode(list(kept.items())),
            year_label=year_label(self.data.year),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        try:
            filters, data = self._late(request, request.POST)
        except DomainError as exc:
            return refusal_response(request, exc)
        back = reverse("board") + "?" + urlencode(list(kept_params(filters, data.year).items()))
        if request.POST.get("confirm") != "1":
            messages.error(request, _g("Hãy xác nhận trước khi gửi lời nhắc."))
            return redirect(back)
        result = remind_late_schools(actor=request.user, rows=data.schools, day=timezone.localdate())
        text = ngettext(
            "Đã nhắc %(n)s trường, %(m)s trường đã được nhắc hôm nay.",
            "Đã nhắc %(n)s trường, %(m)s trường đã được nhắc hôm nay.",
            len(result.reminded),
        ) % {"n": len(result.reminded), "m": len(result.already)}
        if result.without_principal:
            missing = len(result.without_principal)
            text += " " + _g("%(k)s trường chưa có hiệu trưởng để nhận lời nhắc.") % {"k": missing}
        messages.success(request, text)
        return redirect(back)


def _school_cells(r: boards.SchoolRow) -> list:
    return [
        r.name,
        r.moet_code,
        r.unit_name,
        ", ".join(r.level_labels),
        r.students,
        r.classes,
        r.light_label,
        r.next_category_label,
        _when(r.next_lock_at),
        _blank(r.completion),
        r.sheets_done_term1,
        r.sheets_required_term1,
        r.sheets_done_term2,
        r.sheets_required_term2,
        _blank(r.conduct_pct_term1),
        _blank(r.conduct_pct_term2),
        _blank(r.profile_pct),
        r.draft,
        r.submitted,
        r.approved,
        r.signed,
        r.locked,
        r.archived,
        r.approved_pct,
        r.signed_pct,
        r.open_requests,
        r.approved_exceptions,
        r.edits_after_approval,
        r.schema_label,
        _when(r.updated_at),
        _when(r.reconciled_at),
        r.drift,
        _blank(r.lock_records),
        _blank(r.lock_approved_pct),
    ]


def _figure_headers() -> list[str]:
    return [
        _g("Học sinh"),
        _g("Lớp"),
        _g("Tiến độ"),
        _g("Dữ liệu khóa tới"),
        _g("Hạn khóa tới"),
        _g("Hoàn thành (phần trăm)"),
        _g("Bảng điểm HK I đã xong"),
        _g("Bảng điểm HK I cần nhập"),
        _g("Bảng điểm HK II đã xong"),
        _g("Bảng điểm HK II cần nhập"),
        _g("Rèn luyện HK I (phần trăm)"),
        _g("Rèn luyện HK II (phần trăm)"),
        _g("Hồ sơ đủ (phần trăm)"),
        _g("Đang nhập"),
        _g("Đã trình"),
        _g("Đã duyệt"),
        _g("Đã ký"),
        _g("Đã khóa"),
        _g("Đã lưu trữ"),
        _g("Tỷ lệ duyệt"),
        _g("Tỷ lệ ký"),
        _g("Đề nghị chờ"),
        _g("Ngoại lệ đã duyệt"),
        _g("Sửa sau duyệt (hằng ngày)"),
    ]


def board_workbook(data: boards.Board) -> bytes:
    headers = [
        _g("Trường"),
        _g("Mã trường"),
        _g("Đơn vị"),
        _g("Cấp học"),
        *_figure_headers(),
        _g("Phiên bản dữ liệu"),
        _g("Hoạt động cuối"),
        _g("Đối soát cuối"),
        _g("Sai lệch"),
        _g("Học bạ lúc khóa"),
        _g("Duyệt lúc khóa (phần trăm)"),
    ]
    rows = [_school_cells(r) for r in data.schools]
    return listing_workbook(
        title=_g("Bảng theo dõi năm học %(year)s") % {"year": year_label(data.year)},
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=headers,
        rows=rows,
        widths=[34, 12, 24, 14, *([10] * (len(headers) - 4))],
    )


def units_workbook(data: boards.Board) -> bytes:
    headers = [
        _g("Đơn vị"),
        _g("Trường"),
        _g("Học sinh"),
        _g("Lớp"),
        _g("Trường chậm tiến độ"),
        _g("Bảng điểm HK I đã xong"),
        _g("Bảng điểm HK I cần nhập"),
        _g("Bảng điểm HK II đã xong"),
        _g("Bảng điểm HK II cần nhập"),
        _g("Rèn luyện HK I (phần trăm)"),
        _g("Rèn luyện HK II (phần trăm)"),
        _g("Hồ sơ đủ (phần trăm)"),
        _g("Học bạ"),
        _g("Tỷ lệ duyệt"),
        _g("Tỷ lệ ký"),
        _g("Đã lưu trữ"),
        _g("Đề nghị chờ"),
        _g("Ngoại lệ đã duyệt"),
        _g("Sửa sau duyệt (hằng ngày)"),
        _g("Chậm phiên bản"),
        _g("Cập nhật lỗi"),
        _g("Hoạt động cuối"),
        _g("Đối soát cũ nhất"),
        _g("Sai lệch"),
    ]
    rows = [
        [
            u.name,
            u.schools,
            u.students,
            u.classes,
            u.late,
            u.sheets_done_term1,
            u.sheets_required_term1,
            u.sheets_done_term2,
            u.sheets_required_term2,
            _blank(u.conduct_pct_term1),
            _blank(u.conduct_pct_term2),
            _blank(u.profile_pct),
            u.records,
            u.approved_pct,
            u.signed_pct,
            u.archived,
            u.open_requests,
            u.approved_exceptions,
            u.edits_after_approval,
            u.schemas_behind,
            u.schemas_failed,
            _when(u.updated_at),
            _when(u.reconciled_at),
            u.drift,
        ]
        for u in data.units
    ]
    return listing_workbook(
        title=_g("Bảng theo dõi theo đơn vị, năm học %(year)s") % {"year": year_label(data.year)},
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=headers,
        rows=rows,
        widths=[34, *([10] * (len(headers) - 1))],
    )


def flags_workbook(data: boards.Board) -> bytes:
    headers = [_g("Trường"), _g("Tài khoản"), _g("Chỉ số"), _g("Số lần"), _g("Tỷ lệ"), _g("Trung vị của tỉnh")]
    rows = [[f.school_name, f.account_name, f.kind_label, f.value, f.rate, round(f.median, 2)] for f in data.flags]
    return listing_workbook(
        title=_g("Trường, tài khoản vượt xa mức thường gặp, năm học %(year)s") % {"year": year_label(data.year)},
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=headers,
        rows=rows,
        widths=[34, 24, 30, 10, 10, 12],
    )


def classes_workbook(data: boards.SchoolBoard) -> bytes:
    headers = [
        _g("Lớp"),
        _g("Khối"),
        _g("Học sinh"),
        _g("Đang nhập"),
        _g("Đã trình"),
        _g("Đã duyệt"),
        _g("Đã ký"),
        _g("Đã khóa"),
        _g("Tỷ lệ duyệt"),
        _g("Bảng điểm HK I đã xong"),
        _g("Bảng điểm HK I cần nhập"),
        _g("Bảng điểm HK II đã xong"),
        _g("Bảng điểm HK II cần nhập"),
    ]
    rows = [
        [
            c.name,
            c.grade,
            c.students,
            c.draft,
            c.submitted,
            c.approved,
            c.signed,
            c.locked,
            c.approved_pct,
            c.sheets_done_term1,
            c.sheets_required_term1,
            c.sheets_done_term2,
            c.sheets_required_term2,
        ]
        for c in data.classes
    ]
    return listing_workbook(
        title=_g("%(school)s — các lớp, năm học %(year)s")
        % {"school": data.school.name, "year": year_label(data.year)},
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=headers,
        rows=rows,
        widths=[14, 8, *([10] * (len(headers) - 2))],
    )
