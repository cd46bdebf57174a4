"""The province and unit board (``/manage/board/``): the schools of the person's scope with their figures for a
school year, the units above them summed, filters (unit, level, schema state, search), sort by any column, drill-down
province → unit → school, and the same table as an Excel file (``?format=xlsx``, ``boards.export``).

The page lives on the public side (``tenants``): it is routed from the platform's URLs and reads the public tables
through ``selectors.boards`` only."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_CHOICES
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_response
from hocba.kernel.schoolyear import current_school_year
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE, listing_workbook

from .. import provisioning
from ..selectors import boards
from .common import access

EXPORT_ROWS = 5000  # schools in one export; a province has at most some 3,500

# The columns a person may sort by, as the table's headers show them (key of ``boards.SORTS`` → label).
COLUMNS = (
    ("name", _("Trường")),
    ("unit", _("Đơn vị")),
    ("students", _("Học sinh")),
    ("classes", _("Lớp")),
    ("draft", _("Đang nhập")),
    ("submitted", _("Đã trình")),
    ("approved", _("Đã duyệt")),
    ("signed", _("Đã ký")),
    ("locked", _("Đã khóa")),
    ("approved_pct", _("Tỷ lệ duyệt")),
    ("signed_pct", _("Tỷ lệ ký")),
    ("requests", _("Đề nghị chờ")),
    ("exceptions", _("Ngoại lệ đã duyệt")),
    ("schema", _("Phiên bản dữ liệu")),
    ("updated", _("Hoạt động cuối")),
    ("reconciled", _("Đối soát cuối")),
    ("drift", _("Sai lệch")),
    ("lock_records", _("Học bạ lúc khóa")),
    ("lock_approved_pct", _("Duyệt lúc khóa (%)")),
)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


def year_label(year: int) -> str:
    return f"{year}–{year + 1}"


class BoardView(CapabilityRequiredMixin, TemplateView):
    required_capability = boards.CAPABILITY
    template_name = "tenants/board.html"

    def get(self, request, *args, **kwargs):
        acc = access(request)
        try:
            filters = boards.board_filters(request.GET, acc=acc)
            current = current_school_year()
            years, default = boards.board_years(acc.schools_with(boards.CAPABILITY), current=current)
            year = boards.board_year(request.GET.get("year"), years=years, default=default)
            fmt = request.GET.get("format", "")
            if fmt not in ("", "html", "xlsx"):
                raise DomainError("board_bad_format", _("Định dạng “%(value)s” không có."), params={"value": fmt[:20]})
            if fmt == "xlsx" and not acc.has("boards.export"):
                raise DomainError("forbidden", _("Bạn không có quyền tải bảng theo dõi."), http_status=403)
            data = boards.board(acc, year=year, years=years, head=provisioning.migration_head().digest, filters=filters)
            if fmt == "xlsx" and len(data.schools) > EXPORT_ROWS:
                raise DomainError(
                    "board_export_too_large",
                    _("Bảng có %(rows)s trường, quá %(limit)s trường của một tệp; hãy lọc hẹp hơn."),
                    params={"rows": len(data.schools), "limit": EXPORT_ROWS},
                )
        except DomainError as exc:
            return refusal_response(request, exc)
        if fmt == "xlsx":
            return self.export(data)
        self.data, self.filters = data, filters
        return super().get(request, *args, **kwargs)

    def export(self, data: boards.Board) -> HttpResponse:
        response = HttpResponse(board_workbook(data), content_type=XLSX_CONTENT_TYPE)
        name = f"bang-theo-doi-{data.year}-{timezone.localdate():%Y%m%d}.xlsx"
        response["Content-Disposition"] = content_disposition_header(True, name)
        response["Cache-Control"] = "no-store"
        return response

    def get_context_data(self, **kwargs):
        f, data = self.filters, self.data
        kept = {
            "year": str(data.year),
            "unit": f.unit_id or "",
            "level": f.level,
            "schema": f.schema,
            "q": f.search,
        }
        kept = {k: v for k, v in kept.items() if v not in ("", None)}
        sort = ("-" if f.descending else "") + f.sort
        headers = []
        for key, label in COLUMNS:
            if key == "classes" and not data.has_classes:
                continue
            target = f"-{key}" if f.sort == key and not f.descending else key
            headers.append(
                {
                    "key": key,
                    "label": label,
                    "url": "?" + urlencode({**kept, "sort": target}),
                    "current": f.sort == key,
                    "descending": f.descending,
                }
            )
        acc = access(self.request)
        ctx = {
            "board": data,
            "filters": f,
            "headers": headers,
            "year_label": year_label(data.year),
            "years": [(y, year_label(y)) for y in data.years],
            "levels": LEVEL_CHOICES,
            "schemas": list(boards.SCHEMA_LABELS.items()),
            "unit_choices": self.unit_choices(acc),
            "export_url": "?" + urlencode({**kept, "sort": sort, "format": "xlsx"}),
            "can_export": acc.has("boards.export"),
            "unit_path": acc.tree.path(f.unit_id) if acc.tree and f.unit_id else [],
            "kept": kept,
            "sort": sort,
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


def board_workbook(data: boards.Board) -> bytes:
    headers = [str(label) for key, label in COLUMNS if key != "classes" or data.has_classes]
    headers.insert(1, _g("Mã trường"))
    headers.insert(3, _g("Cấp học"))
    rows = []
    for r in data.schools:
        row = [
            r.name,
            r.moet_code,
            r.unit_name,
            ", ".join(r.level_labels),
            r.students,
            *([r.classes] if data.has_classes else []),
            r.draft,
            r.submitted,
            r.approved,
            r.signed,
            r.locked,
            r.approved_pct,
            r.signed_pct,
            r.open_requests,
            r.approved_exceptions,
            r.schema_label,
            _when(r.updated_at),
            _when(r.reconciled_at),
            r.drift,
            "" if r.lock_records is None else r.lock_records,
            "" if r.lock_approved_pct is None else r.lock_approved_pct,
        ]
        rows.append(row)
    widths = [34, 12, 24, 14, *([10] * (len(headers) - 4))]
    return listing_workbook(
        title=_g("Bảng theo dõi năm học %(year)s") % {"year": year_label(data.year)},
        subtitle=timezone.localtime().strftime("%H:%M %d/%m/%Y"),
        headers=headers,
        rows=rows,
        widths=widths,
    )
