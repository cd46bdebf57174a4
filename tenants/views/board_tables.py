"""The board's two long tables (units, schools) as HTML, written in Python.

A province board shows about thirty unit rows and fifty school rows of some twenty-five cells each: through the
template language that is some four thousand nodes and two thousand variable lookups a request, a third of the
page's server time. Here each cell is one string operation. The markup is the one ``tenants/board.html`` had (the
same classes, ``data-`` attributes and links); every text is escaped, every label translated."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from hocba.kernel.levels import LEVEL_LABELS

from ..models import DataCategory
from ..selectors import boards

_LIGHT_CLASS = {boards.RED: "bad-tag", boards.AMBER: "due", boards.GREEN: "good-tag"}
_LIGHT_MARK = {boards.RED: "●", boards.AMBER: "◐", boards.GREEN: "○"}


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def _when(value, fmt: str = "%H:%M %d/%m/%Y") -> str:
    return timezone.localtime(value).strftime(fmt) if value else "—"


class _Labels:
    """The labels of one table, translated once for the request rather than once a cell."""

    def __init__(self) -> None:
        self.light = {k: escape(v) for k, v in boards.LIGHT_LABELS.items()}
        self.level = {k: str(v) for k, v in LEVEL_LABELS.items()}
        self.category = {k: escape(v) for k, v in DataCategory.choices}
        self.schema = {k: escape(v) for k, v in boards.SCHEMA_LABELS.items()}
        self.done = escape(_("đã xong"))
        self.no_data = escape(_("chưa có số liệu"))


def light_cell(row: boards.SchoolRow, labels: _Labels | None = None) -> str:
    """The traffic light of a school in words and colour, with how much of its next lock's data is done."""
    labels = labels or _Labels()
    out = (
        f'<span class="tag {_LIGHT_CLASS.get(row.light, "")} light" data-light="{escape(row.light)}">'
        f"{_LIGHT_MARK.get(row.light, '–')} {labels.light[row.light]}</span>"
    )
    if row.next_lock_at:
        done = f"{labels.done} {row.completion}%" if row.completion is not None else labels.no_data
        out += f'<br><span class="muted">{done}</span>'
    return out


def school_rows(rows, *, year: int, groups, colspan: int) -> SafeString:
    """The ``<tbody>`` rows of the schools table for the column groups shown."""
    if not rows:
        empty = escape(_("Không có trường nào phù hợp."))
        return mark_safe(f'<tr><td colspan="{colspan}" class="muted">{empty}</td></tr>')
    progress, records = "progress" in groups, "records" in groups
    exceptions, health, lock = "exceptions" in groups, "health" in groups, "lock" in groups
    labels = _Labels()
    no_data = labels.no_data
    # one school's address, the id left to fill (a reverse() a row cost more than the rest of its first cell)
    school_url = reverse("board_school", args=[0]).replace("/0/", "/{}/")
    out: list[str] = []
    add = out.append
    for r in rows:
        add(f'<tr data-school="{r.id}" data-light="{escape(r.light)}">\n<td><a href="')
        add(f'{school_url.format(r.id)}?year={year}">{escape(r.name)}</a><br><span class="muted">')
        add(escape(r.moet_code))
        levels = [labels.level[lv] for lv in r.levels if lv in labels.level]
        if levels:
            add(" · " + escape(", ".join(levels)))
        if r.unit_id:
            add(f' · <a href="?year={year}&amp;unit={r.unit_id}">{escape(r.unit_name)}</a>')
        add("</span>")
        if not r.has_rollup:
            add(f' <span class="tag due">{no_data}</span>')
        add(f"</td>\n<td>{light_cell(r, labels)}</td>\n<td>")
        if r.next_lock_at:
            add(f'{labels.category.get(r.next_category, "")}<br><span class="muted">{_when(r.next_lock_at)}</span>')
        else:
            add("—")
        add(f'</td>\n<td class="n">{r.students}</td><td class="n">{r.classes}</td>\n')
        if progress:
            for done, required, pct in (
                (r.sheets_done_term1, r.sheets_required_term1, r.sheets_pct_term1),
                (r.sheets_done_term2, r.sheets_required_term2, r.sheets_pct_term2),
            ):
                add(f'<td class="n">{done}/{required}')
                if pct is not None:
                    add(f'<br><span class="muted">{pct}%</span>')
                add("</td>")
            add(
                f'\n<td class="n">{_pct(r.conduct_pct_term1)}</td><td class="n">{_pct(r.conduct_pct_term2)}</td>'
                f'\n<td class="n">{_pct(r.profile_pct)}</td>\n'
            )
        if records:
            states = (r.draft, r.submitted, r.approved, r.signed, r.locked, r.archived)
            add("".join(f'<td class="n">{v}</td>' for v in states))
            add(f'\n<td class="n">{r.approved_pct}%</td><td class="n">{r.signed_pct}%</td>\n')
        if exceptions:
            requests = f'<span class="tag due">{r.open_requests}</span>' if r.open_requests else "0"
            add(
                f'<td class="n">{requests}</td><td class="n">{r.approved_exceptions}</td>'
                f'<td class="n">{r.edits_after_approval}</td>\n'
            )
        if health:
            tag = "good-tag" if r.schema == boards.SCHEMA_OK else "bad-tag"
            add(
                f'<td><span class="tag {tag}">{labels.schema[r.schema]}</span></td>\n'
                f"<td>{_when(r.updated_at)}</td><td>{_when(r.reconciled_at)}</td>"
                f'<td class="n">{r.drift}</td>\n'
            )
        if lock:
            if r.lock_records is None:
                add('<td class="n">—</td>')
            else:
                add(f'<td class="n">{r.lock_records}<br><span class="muted">{_when(r.lock_at, "%d/%m/%Y")}</span></td>')
            add(f'<td class="n">{_pct(r.lock_approved_pct)}</td>\n')
        add("</tr>")
    return mark_safe("".join(out))


def unit_rows(units, *, year: int, groups) -> SafeString:
    """The ``<tbody>`` rows of the units table for the column groups shown."""
    progress, records = "progress" in groups, "records" in groups
    exceptions, health, lock = "exceptions" in groups, "health" in groups, "lock" in groups
    out: list[str] = []
    add = out.append
    for u in units:
        direct = "&amp;direct=1" if u.direct else ""
        add('<tr class="direct">' if u.direct else "<tr>")
        add(f'<td><a href="?year={year}&amp;unit={u.id}{direct}">{escape(u.name)}</a>')
        if not u.direct:
            add(f' <span class="muted">{escape(u.kind_label)}</span>')
        if u.red:
            late = f'<span class="tag bad-tag">{u.late}</span>'
        elif u.late:
            late = f'<span class="tag due">{u.late}</span>'
        else:
            late = "0"
        add(
            f'</td><td class="n">{u.schools}</td>\n<td class="n">{late}</td>\n'
            f'<td class="n">{u.students}</td><td class="n">{u.classes}</td>\n'
        )
        if progress:
            add(
                f'<td class="n">{u.sheets_done_term1}/{u.sheets_required_term1}</td>'
                f'<td class="n">{u.sheets_done_term2}/{u.sheets_required_term2}</td>\n'
                f'<td class="n">{_pct(u.conduct_pct_term1)}</td><td class="n">{_pct(u.conduct_pct_term2)}</td>'
                f'<td class="n">{_pct(u.profile_pct)}</td>\n'
            )
        if records:
            add(
                f'<td class="n">{u.records}</td><td class="n">{u.approved_pct}%</td>'
                f'<td class="n">{u.signed_pct}%</td><td class="n">{u.archived}</td>\n'
            )
        if exceptions:
            add(
                f'<td class="n">{u.open_requests}</td><td class="n">{u.approved_exceptions}</td>'
                f'<td class="n">{u.edits_after_approval}</td>\n'
            )
        if health:
            trouble = f'<span class="tag bad-tag">{u.schemas_in_trouble}</span>' if u.schemas_in_trouble else "0"
            add(
                f'<td class="n">{trouble}</td>\n<td>{_when(u.updated_at)}</td><td>{_when(u.reconciled_at)}</td>'
                f'<td class="n">{u.drift}</td>\n'
            )
        if lock:
            add(f'<td class="n">{_pct(u.lock_approved_pct)}</td>')
        add("</tr>\n")
    return mark_safe("".join(out))
