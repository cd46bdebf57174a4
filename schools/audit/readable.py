"""The history as people read it: one sentence per changed row, and a record book's frozen results as a small table.

The sentence names who acted, what they did to which kind of data, whose record it is and which item (a subject, a
term, a column), in the reader's language: "Nguyễn Văn An đã sửa điểm và nhận xét của học sinh Trần Thị Bình (Toán ·
HKI · TX1)". Field values are already shown with names, not ids, by :mod:`.history`."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

VERBS = {"INSERT": _("đã thêm"), "UPDATE": _("đã sửa"), "DELETE": _("đã xóa")}

TERMS = {"term1": _("HKI"), "term2": _("HKII"), "year": _("Cả năm"), "total": _("Tổng")}

# The frozen results (``RecordBook.results``, ``services.results.YearResults``) shown, in this order.
RESULT_LABELS = {
    "learning": _("Kết quả học tập"),
    "conduct": _("Kết quả rèn luyện"),
    "absences": _("Số buổi nghỉ"),
    "title": _("Danh hiệu"),
    "promotion": _("Lên lớp"),
    "promotion_final": _("Kết quả sau rèn luyện, kiểm tra lại"),
    "evaluation": _("Đánh giá cuối năm"),
    "completion": _("Hoàn thành chương trình"),
    "commendations": _("Khen thưởng"),
}


# A record book's step in the workflow (its state before → after), as the verb of the sentence.
WORKFLOW_ACTIONS = {
    ("draft", "submitted"): _("đã trình học bạ"),
    ("submitted", "draft"): _("đã mở lại học bạ đã trình"),  # the principal's reopening, with a reason
    ("submitted", "approved"): _("đã duyệt học bạ"),
    ("approved", "draft"): _("đã mở lại học bạ đã duyệt"),
    ("approved", "signed"): _("đã ký số học bạ"),
    ("signed", "locked"): _("đã khóa học bạ"),
    ("signed", "draft"): _("đã thu hồi học bạ đã ký"),  # the principal's revocation, with a reason
    ("locked", "draft"): _("đã thu hồi học bạ đã khóa"),
}
WITHDRAWN = _("đã rút lại hồ sơ đã trình")  # submitted → draft by the submitter: the submission is cleared
APPROVED_INCOMPLETE = _("đã duyệt học bạ khi còn thiếu dữ liệu")


def workflow_action(old: dict | None, new: dict | None) -> str:
    """The workflow step an update of a record book's row made ("đã trình học bạ", "đã rút lại hồ sơ đã trình"…),
    or "" when its state did not change."""
    before, after = (old or {}).get("state"), (new or {}).get("state")
    if not old or not new or before == after:
        return ""
    if (before, after) == ("submitted", "draft") and not new.get("submitted_by") and old.get("submitted_by"):
        return str(WITHDRAWN)
    if after == "approved" and new.get("approved_incomplete_reason"):
        return str(APPROVED_INCOMPLETE)
    action = WORKFLOW_ACTIONS.get((before, after))
    return str(action) if action else ""


def sentence(
    *,
    who: str,
    operation: str,
    what: str,
    student: str = "",
    description: str = "",
    source: str = "",
    action: str = "",
) -> str:
    """One change as a sentence; ``what`` is the kind of data (a table's label); ``action``, when given, says what
    was done instead of the operation and the kind ("đã trình học bạ")."""
    if action:
        text = _g("%(who)s %(action)s") % {"who": who or _g("Hệ thống"), "action": action}
    else:
        text = _g("%(who)s %(verb)s %(what)s") % {
            "who": who or _g("Hệ thống"),
            "verb": str(VERBS.get(operation, operation)),
            "what": what[:1].lower() + what[1:],
        }
    if student:
        text += " " + _g("của học sinh %(name)s") % {"name": student}
    if description:
        text += f" ({description})"
    if source:
        text += " — " + _g("qua %(source)s") % {"source": source[:1].lower() + source[1:]}
    return text + "."


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return " · ".join(f"{TERMS.get(k, k)}: {_value(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value if v not in (None, "", [], {}))
    if isinstance(value, bool):
        return _g("Có") if value else _g("Không")
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def plain(value: Any) -> str:
    """A JSON value (guardians, lists of codes) as text: the values, without keys or brackets."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return "; ".join(", ".join(str(x) for x in v.values() if x not in (None, "")) for v in value)
    return _value(value)


def results_rows(text: str | None) -> tuple[tuple[str, str], ...]:
    """The frozen results as (label, value) rows: one per subject (its term and year figures), then the year's
    results. Nothing for an empty value; the raw text in one row when it is not the results' JSON."""
    if not text:
        return ()
    try:
        data = json.loads(text)
    except ValueError:
        return ((_g("Kết quả"), text),)
    if not isinstance(data, dict) or not data:
        return ()
    rows: list[tuple[str, str]] = []
    for line in data.get("subjects") or []:
        if isinstance(line, dict):
            figures = {k: line.get(k) for k in ("term1", "term2", "year")}
            shown = _value({k: str(v).replace(".", ",") for k, v in figures.items() if v})
            rows.append((str(line.get("name") or line.get("code") or ""), shown))
    for key, label in RESULT_LABELS.items():
        shown = _value(data.get(key))
        if shown:
            rows.append((str(label), shown))
    return tuple(rows)
