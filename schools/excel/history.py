"""The school's history as an Excel file: the rows of the history page (same filters, same sentences, same names,
personal data hidden as on the page), one row per changed row, newest first."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _g
from hocba.kernel.spreadsheets import listing_workbook

from ..audit.history import FieldChange, HistoryPage


def _value(f: FieldChange, old: bool) -> str:
    rows = f.old_rows if old else f.new_rows
    if rows:
        return "; ".join(f"{label}: {value}" for label, value in rows)
    value = f.old if old else f.new
    return "—" if value in (None, "") else value


def history_workbook(page: HistoryPage, *, title: str, school: str) -> bytes:
    rows = [
        [
            timezone.localtime(c.at).strftime("%H:%M:%S %d/%m/%Y"),
            c.account_name or (_g("Hệ thống") if c.account_id is None else f"#{c.account_id}"),
            c.role_label,
            c.source_label,
            c.student_name,
            c.table_label,
            c.operation_label,
            c.sentence,
            "\n".join(f"{f.label}: {_value(f, True)} → {_value(f, False)}" for f in c.fields),
            c.entry_id,
            _g("Có") if c.after_approval else "",
        ]
        for c in page.changes
    ]
    note = _g("Chỉ gồm các thay đổi mới nhất; hãy lọc hẹp hơn để xem các thay đổi cũ hơn.") if page.has_next else ""
    return listing_workbook(
        title=title,
        subtitle=f"{school} — {timezone.localtime():%H:%M %d/%m/%Y}",
        headers=[
            _g("Thời điểm"),
            _g("Người thực hiện"),
            _g("Vai trò"),
            _g("Nguồn"),
            _g("Học sinh"),
            _g("Dữ liệu"),
            _g("Thao tác"),
            _g("Nội dung"),
            _g("Trước → sau"),
            _g("Mục nhật ký"),
            _g("Sửa sau khi duyệt"),
        ],
        rows=rows,
        widths=[19, 22, 20, 14, 24, 20, 9, 60, 60, 11, 12],
        note=note,
    )
