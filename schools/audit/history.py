"""The history page's reading of the audit chain: one ``Change`` per changed row of a page of audit entries.
UPDATE rows are paired by ``id``, and only the fields whose value changed are listed (a statement that rewrote
a row with the same values shows nothing).

"After approval" — the reading chosen: a change is flagged when, at that point of the chain, the
RecordBook of the student for the school year concerned was approved, signed or locked. The state "at
that point" is the state written by the last ``schools_recordbook`` audit row of that book *before* the
entry (by entry id, the chain's order), so a record that was approved, changed, then reopened and
approved again shows the change as made after approval, while a change made after a reopen (with the
record back in draft) is not flagged. The year is the row's ``year_id`` (scores, conduct, …), the
class's year for an enrolment, and for a profile or guardian change the school year whose dates contain
the day of the change. A change to the RecordBook itself is flagged when the record was already
approved and the change touches more than the workflow fields (state, dates, approvers, frozen results).

Query count is constant per page: the columns, the page's entries (one query), the record books'
history for the students of the page (one query), then names (students, accounts, years, classes,
subjects) — whatever the number of entries or rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.roles import ROLE_LABELS, Role

from tenants.selectors import account_names

from ..models import AuditEntry, SchoolClass, SchoolYear, Student, Subject
from . import readable
from .rowtext import as_dicts, row_regex, table_columns

WORKFLOW_FIELDS = frozenset(
    {
        "state",
        "submitted_at",
        "submitted_by",
        "approved_at",
        "approved_by",
        "reopened_reason",
        "results",
        "approved_view",
        "approved_incomplete_reason",
        "approved_missing",
        # signing (reporting.services.signing): the seal, the khóa decision, a revocation
        "signed_at",
        "sealed_by",
        "locked_at",
        "locked_by",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
    }
)
# The key is shown apart; sort_key and search_name are derived from the name; approved_view copies, at approval, the
# comments and awards whose own changes the history shows.
HIDDEN_FIELDS = frozenset({"id", "sort_key", "search_name", "approved_view"})
ACCOUNT_FIELDS = frozenset(
    {
        "submitted_by",
        "approved_by",
        "homeroom_teacher_id",
        "teacher_id",
        "head_id",
        "account_id",
        "sealed_by",
        "locked_by",
        "revoked_by",
        "signer_id",
    }
)

TABLE_LABELS = {
    "schools_schoolyear": _("Năm học"),
    "schools_department": _("Tổ chuyên môn"),
    "schools_subject": _("Môn học"),
    "schools_schoolclass": _("Lớp"),
    "schools_teachingassignment": _("Phân công giảng dạy"),
    "schools_student": _("Hồ sơ học sinh"),
    "schools_guardianlink": _("Tài khoản phụ huynh"),
    "schools_enrolment": _("Xếp lớp"),
    "schools_assessment": _("Điểm và nhận xét"),
    "schools_qualityassessment": _("Phẩm chất, năng lực"),
    "schools_conduct": _("Rèn luyện"),
    "schools_absence": _("Nghỉ học"),
    "schools_awarddiscipline": _("Khen thưởng, kỉ luật"),
    "schools_recordbook": _("Học bạ"),
    "schools_exemption": _("Miễn học"),
    "reporting_recorddocument": _("Bản học bạ PDF"),
    "reporting_documentsignature": _("Chữ ký số"),
    "reporting_archivemanifest": _("Danh mục lưu trữ"),
    "reporting_handover": _("Hồ sơ bàn giao"),
}
FIELD_LABELS = {
    "score": _("Điểm"),
    "verdict": _("Kết quả"),
    "text": _("Nhận xét"),
    "term": _("Học kì"),
    "kind": _("Loại"),
    "seq": _("Lần"),
    "level": _("Mức"),
    "state": _("Trạng thái"),
    "homeroom_comment": _("Nhận xét của GVCN"),
    "principal_comment": _("Ý kiến của Hiệu trưởng"),
    "completion_note": _("Ghi chú hoàn thành"),
    "approved_at": _("Thời điểm duyệt"),
    "approved_by": _("Người duyệt"),
    "submitted_at": _("Thời điểm trình"),
    "submitted_by": _("Người trình"),
    "reopened_reason": _("Lý do mở lại"),
    "approved_incomplete_reason": _("Lý do duyệt khi học bạ chưa đủ"),
    "approved_missing": _("Học bạ còn thiếu khi duyệt"),
    "results": _("Kết quả đã chốt"),
    "approved_view": _("Bản đã duyệt cho phụ huynh"),
    "school_class_id": _("Lớp"),
    "subject_id": _("Môn học"),
    "student_id": _("Học sinh"),
    "year_id": _("Năm học"),
    "date": _("Ngày"),
    "excused": _("Có phép"),
    "reason": _("Lý do"),
    "title": _("Nội dung"),
    "starts_on": _("Từ ngày"),
    "ends_on": _("Đến ngày"),
    "entry": _("Hình thức vào"),
    "exit": _("Hình thức ra"),
    "exit_note": _("Ghi chú khi ra"),
    "checkpoint": _("Thời điểm đánh giá"),
    "code": _("Mã"),
    "name": _("Tên"),
    "decided_by": _("Cấp quyết định"),
    "retest_passed": _("Đạt sau kiểm tra lại"),
    "summer_training_passed": _("Đạt sau rèn luyện hè"),
    "retest_scores": _("Điểm kiểm tra lại"),
    "retest_chosen": _("Môn chọn kiểm tra lại"),
    "followup_plan": _("Kế hoạch giúp đỡ trong hè"),
    "followup_levels": _("Đánh giá bổ sung sau hè"),
    "followup_decision": _("Quyết định của Hiệu trưởng"),
    "exemplary_recognised": _("Khen thưởng học sinh tiêu biểu"),
    "adhoc_commendation": _("Khen thưởng đột xuất"),
    "start_year": _("Năm bắt đầu"),
    "head_id": _("Tổ trưởng"),
    "grades": _("Khối lớp"),
    "grade": _("Khối"),
    "periods_per_year": _("Số tiết một năm"),
    "grading": _("Hình thức đánh giá"),
    "has_periodic_test": _("Có kiểm tra định kì"),
    "department_id": _("Tổ chuyên môn"),
    "order": _("Thứ tự"),
    "homeroom_teacher_id": _("Giáo viên chủ nhiệm"),
    "teacher_id": _("Giáo viên"),
    "account_id": _("Tài khoản"),
    "part": _("Phạm vi miễn"),
    "decision_number": _("Số quyết định"),
    "decided_on": _("Ngày quyết định"),
    "recorded_by": _("Người ghi nhận"),
    "recorded_at": _("Thời điểm ghi nhận"),
    "signed_at": _("Thời điểm ký số"),
    "sealed_by": _("Người đóng dấu số"),
    "locked_at": _("Thời điểm khóa học bạ"),
    "locked_by": _("Người khóa học bạ"),
    "revoked_at": _("Thời điểm thu hồi"),
    "revoked_by": _("Người thu hồi"),
    "revoked_reason": _("Lý do thu hồi"),
}
OPERATION_LABELS = {"INSERT": _("Thêm"), "UPDATE": _("Sửa"), "DELETE": _("Xóa")}
SOURCE_LABELS = {
    "web": _("Trang web"),
    "import": _("Nhập từ Excel"),
    "api": _("API"),
    "system": _("Tác vụ tự động"),
    "command": _("Lệnh quản trị"),
    "migration": _("Nâng cấp hệ thống"),
    "sql": _("SQL trực tiếp"),
}
# Fields holding an id, shown by name (students, accounts: ACCOUNT_FIELDS; years, classes, subjects).
NAMED_FIELDS = frozenset({"student_id", "year_id", "school_class_id", "subject_id"})


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str | None
    new: str | None
    old_rows: tuple[tuple[str, str], ...] = ()  # a structured value (frozen results) as a small table
    new_rows: tuple[tuple[str, str], ...] = ()


@dataclass
class Change:
    """One row changed by one statement."""

    entry_id: int
    at: dt.datetime
    account_id: int | None
    account_name: str
    role: str
    tier: str
    source: str
    request_id: str
    table: str
    operation: str
    key: str
    student_id: int | None = None
    student_name: str = ""
    year_id: int | None = None
    description: str = ""
    fields: list[FieldChange] = field(default_factory=list)
    after_approval: bool = False
    more: int = 0  # further rows of the same entry not shown on this page (``history(entry_id=…)`` shows them)
    action: str = ""  # a record book's workflow step ("đã trình học bạ"), said instead of the operation

    @property
    def sentence(self) -> str:
        return readable.sentence(
            who=(self.account_name or f"#{self.account_id}") if self.account_id is not None else "",
            operation=self.operation,
            what=self.table_label,
            student=self.student_name if self.table != "schools_student" else "",
            description=self.description if self.table != "schools_student" else self.student_name,
            source=self.source_label,
            action=self.action,
        )

    @property
    def table_label(self) -> str:
        return str(TABLE_LABELS.get(self.table, self.table))

    @property
    def operation_label(self) -> str:
        return str(OPERATION_LABELS.get(self.operation, self.operation))

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def role_label(self) -> str:
        # A value that is no role (the database login a command ran with) means nothing to a reader: left out.
        return ", ".join(str(ROLE_LABELS[Role(r)]) for r in self.role.split(",") if r in Role._value2member_map_)


@dataclass
class HistoryPage:
    changes: list[Change]
    page: int
    has_next: bool
    entries: int  # audit entries read for this page (statements)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def changed_rows(operation: str, old: list[dict], new: list[dict]) -> list[tuple[str, dict | None, dict | None]]:
    """(key, old row, new row) per row that really changed; UPDATE rows are paired by ``id``."""
    if operation == "INSERT":
        return [(r.get("id") or "", None, r) for r in new]
    if operation == "DELETE":
        return [(r.get("id") or "", r, None) for r in old]
    before = {r.get("id"): r for r in old}
    out = []
    for r in new:
        o = before.pop(r.get("id"), None)
        if o is None or any(o.get(c) != v for c, v in r.items()):
            out.append((r.get("id") or "", o, r))
    out += [(k or "", o, None) for k, o in before.items()]  # a key changed: old rows without a new twin
    return out


def _field_meta() -> dict[str, dict[str, Any]]:
    return {
        m._meta.db_table: {f.column: f for f in m._meta.concrete_fields}
        for m in apps.get_app_config("schools").get_models()
    }


def _display(f, value: str | None) -> str | None:
    if value is None or f is None:
        return value
    kind = f.get_internal_type()
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if kind == "BooleanField":
        return str({"t": _("Có"), "f": _("Không")}.get(value, value))
    if kind == "DecimalField":
        return value.replace(".", ",")
    if kind == "DateField" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    if kind == "JSONField" and f.column != "results" and value[:1] in "[{":  # results: a table (``_named``)
        try:
            return readable.plain(json.loads(value))
        except ValueError:
            return value
    if kind == "DateTimeField":
        try:
            return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%H:%M:%S %d/%m/%Y")
        except ValueError:
            return value
    return value


def _fields(table: str, old: dict | None, new: dict | None, meta: dict) -> list[FieldChange]:
    columns = list((new or old or {}).keys())
    out = []
    for c in columns:
        a, b = (old or {}).get(c), (new or {}).get(c)
        if c in HIDDEN_FIELDS or (old is not None and new is not None and a == b) or (a is None and b is None):
            continue
        f = meta.get(table, {}).get(c)
        label = f.verbose_name if f is not None and isinstance(f.verbose_name, Promise) else FIELD_LABELS.get(c, c)
        out.append(FieldChange(c, str(label), _display(f, a), _display(f, b)))
    return out


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") and value.lstrip("-").isdigit() else None


def _student_column(table: str, columns: list[str]) -> int | None:
    name = "id" if table == "schools_student" else "student_id"
    return columns.index(name) if name in columns else None


def history(
    *,
    student_id: int | None = None,
    account_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    table: str | None = None,
    source: str | None = None,
    entry_id: int | None = None,
    rows_per_entry: int | None = None,
    limit: int = 50,
    page: int = 1,
    max_rows: int | None = None,
) -> HistoryPage:
    """One page of the school's changes, newest first, with the filters given (current school schema).

    ``limit`` entries (statements) a page; of each, at most ``rows_per_entry`` changed rows (the others counted in
    the last one's ``more``), so that a whole sheet saved at once does not make one endless page. ``entry_id``: the
    rows of that one entry, ``limit`` rows a page. ``max_rows``: no more changed rows than that in all (the newest;
    ``has_next`` then says there are more) — an export of many whole-sheet entries stays a bounded file."""
    layouts = table_columns()
    qs = AuditEntry.objects.all()
    if entry_id is not None:
        qs = qs.filter(pk=entry_id)
    if table:
        qs = qs.filter(table_name=table)
    if source:
        qs = qs.filter(source=source)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tz))
    if date_to:
        qs = qs.filter(at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tz))
    if student_id is not None:
        about = Q(pk__in=[])
        for name, columns in layouts.items():
            position = _student_column(name, columns)
            if position is not None and name in TABLE_LABELS:
                pattern = row_regex(position, [student_id])
                about |= Q(table_name=name) & (Q(new_values__regex=pattern) | Q(old_values__regex=pattern))
        qs = qs.filter(about)
    page = max(1, page)
    limit = max(1, limit)
    if entry_id is not None:
        entries = list(qs[:1])
    else:
        entries = list(qs.order_by("-id")[(page - 1) * limit : page * limit + 1])
    has_next = len(entries) > limit
    entries = entries[:limit]

    meta = _field_meta()
    found: list[tuple[Change, dict | None, dict | None]] = []
    row_names: dict[int, str] = {}
    for e in entries:
        if max_rows is not None and len(found) >= max_rows:
            has_next = True
            break
        columns = layouts.get(e.table_name, [])
        try:
            rows = changed_rows(e.operation, as_dicts(e.old_values, columns), as_dicts(e.new_values, columns))
        except ValueError:  # not row text (an entry written by hand): show it raw rather than fail the page
            raw = [
                FieldChange(
                    "row_text", str(_("Nội dung thô")), e.old_values[:2000] or None, e.new_values[:2000] or None
                )
            ]
            if student_id is None:
                found.append(
                    (
                        Change(
                            e.pk,
                            e.at,
                            e.account_id,
                            "",
                            e.role,
                            e.tier,
                            e.source,
                            e.request_id,
                            e.table_name,
                            e.operation,
                            "?",
                            fields=raw,
                        ),
                        None,
                        None,
                    )
                )
            continue
        for key, old, new in rows:
            row = new or old or {}
            sid = _int(row.get("id")) if e.table_name == "schools_student" else _int(row.get("student_id"))
            if student_id is not None and sid != student_id:
                continue
            fields = _fields(e.table_name, old, new, meta)
            if not fields:
                continue
            if e.table_name == "schools_student" and row.get("full_name"):
                row_names[sid] = row["full_name"]
            found.append(
                (
                    Change(
                        e.pk,
                        e.at,
                        e.account_id,
                        "",
                        e.role,
                        e.tier,
                        e.source,
                        e.request_id,
                        e.table_name,
                        e.operation,
                        key,
                        sid,
                        year_id=_int(row.get("year_id")),
                        fields=fields,
                    ),
                    old,
                    new,
                )
            )

    if entry_id is not None:
        has_next = len(found) > page * limit
        found = found[(page - 1) * limit : page * limit]
    elif rows_per_entry is not None:
        kept: list[tuple[Change, dict | None, dict | None]] = []
        last: dict[int, Change] = {}
        counts: dict[int, int] = {}
        for item in found:
            entry = item[0].entry_id
            counts[entry] = counts.get(entry, 0) + 1
            if counts[entry] > rows_per_entry:
                last[entry].more += 1
                continue
            kept.append(item)
            last[entry] = item[0]
        found = kept
    if max_rows is not None and len(found) > max_rows:
        found, has_next = found[:max_rows], True

    years = list(SchoolYear.objects.values_list("id", "start_year", "starts_on", "ends_on"))
    classes = {c: (name, y) for c, name, y in SchoolClass.objects.values_list("id", "name", "year_id")}
    subjects = dict(Subject.objects.values_list("id", "name"))
    _judge(found, layouts, entries, years, classes)
    for c, old, new in found:
        c.description = _describe(c.table, new or old or {}, subjects, classes, years)
        if c.table == "schools_recordbook":
            c.action = readable.workflow_action(old, new)

    changes = [c for c, _old, _new in found]

    names = dict(
        Student.objects.filter(pk__in={c.student_id for c in changes if c.student_id}).values_list("id", "full_name")
    )
    mentioned = {_int(v) for c in changes for f in c.fields if f.field in ACCOUNT_FIELDS for v in (f.old, f.new)}
    accounts = account_names(({c.account_id for c in changes} | mentioned) - {None})
    known = {
        "student_id": {**row_names, **names},
        "year_id": {pk: f"{start}–{start + 1}" for pk, start, _s, _e in years},
        "school_class_id": {pk: name for pk, (name, _y) in classes.items()},
        "subject_id": subjects,
    }
    for c in changes:
        c.student_name = names.get(c.student_id) or row_names.get(c.student_id, "")
        c.account_name = accounts.get(c.account_id, "") if c.account_id is not None else ""
        c.fields = [_named(f, accounts, known) for f in c.fields]
    return HistoryPage(changes, page, has_next, len(entries))


def _judge(found: list[tuple[Change, dict | None, dict | None]], layouts: dict, entries: list, years, classes) -> None:
    """Each change's school year (``year_id``: the row's, its class's, or the year containing the day) and whether
    it was made after approval (the module's reading, above). Used by the page and by the daily count
    (``after_approval_counts``): one definition."""
    for c, old, new in found:
        row = new or old or {}
        if c.year_id is None and c.student_id is not None:
            class_id = _int(row.get("school_class_id"))
            c.year_id = (
                classes[class_id][1] if class_id in classes else _year_on(years, timezone.localtime(c.at).date())
            )
    states = _record_states([c for c, _old, _new in found], layouts, entries)
    for c, old, new in found:
        if c.table == "schools_recordbook":
            touched = {f.field for f in c.fields} - WORKFLOW_FIELDS
            c.after_approval = bool(old and old.get("state") in recordstates.FINAL and (touched or new is None))
        elif c.student_id is not None and c.year_id is not None:
            c.after_approval = (
                _state_before(states.get((c.student_id, c.year_id), []), c.entry_id) in recordstates.FINAL
            )


def after_approval_counts(*, after_id: int, limit: int) -> dict:
    """The entries after ``after_id`` (oldest first, at most ``limit``) with a change the history flags as made after
    approval, counted per school year (an entry once per year it changed): ``{"by_year": {start_year: n},
    "last_id": the last entry read, "more": whether entries remain}``. The chain's entries are written under the
    school's chain lock, so those committed form a prefix of the ids: a later count never finds one below
    ``last_id``. Constant queries per call."""
    layouts = table_columns()
    entries = list(AuditEntry.objects.filter(pk__gt=after_id).order_by("id")[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    if not entries:
        return {"by_year": {}, "last_id": after_id, "more": False}
    meta = _field_meta()
    found: list[tuple[Change, dict | None, dict | None]] = []
    for e in entries:
        columns = layouts.get(e.table_name, [])
        try:
            rows = changed_rows(e.operation, as_dicts(e.old_values, columns), as_dicts(e.new_values, columns))
        except ValueError:  # not row text: the page shows it raw, unflagged
            continue
        for key, old, new in rows:
            row = new or old or {}
            sid = _int(row.get("id")) if e.table_name == "schools_student" else _int(row.get("student_id"))
            fields = _fields(e.table_name, old, new, meta)
            if fields:
                change = Change(
                    e.pk, e.at, e.account_id, "", e.role, e.tier, e.source, e.request_id, e.table_name, e.operation,
                    key, sid, year_id=_int(row.get("year_id")), fields=fields,
                )  # fmt: skip
                found.append((change, old, new))
    years = list(SchoolYear.objects.values_list("id", "start_year", "starts_on", "ends_on"))
    classes = {c: (name, y) for c, name, y in SchoolClass.objects.values_list("id", "name", "year_id")}
    _judge(found, layouts, entries, years, classes)
    start = {pk: start_year for pk, start_year, _s, _e in years}
    flagged = {(c.entry_id, start[c.year_id]) for c, _o, _n in found if c.after_approval and c.year_id in start}
    by_year: dict[int, int] = {}
    for _entry, year_start in flagged:
        by_year[year_start] = by_year.get(year_start, 0) + 1
    return {"by_year": by_year, "last_id": entries[-1].pk, "more": more}


def _named(f: FieldChange, accounts: dict[int, str], known: dict[str, dict]) -> FieldChange:
    """The change with ids shown as names (an id the school no longer has stays as it is), results as a table."""
    if f.field == "results":
        return FieldChange(f.field, f.label, f.old, f.new, readable.results_rows(f.old), readable.results_rows(f.new))
    names = accounts if f.field in ACCOUNT_FIELDS else known.get(f.field) if f.field in NAMED_FIELDS else None
    if names is None:
        return f
    return FieldChange(f.field, f.label, _name(f.old, names), _name(f.new, names))


def _name(value: str | None, names: dict[int, str]) -> str | None:
    pk = _int(value)
    return names.get(pk, value) if pk is not None else value


def _year_on(years: list[tuple], day: dt.date) -> int | None:
    """The school year whose dates contain ``day``, else the last one begun before it."""
    begun = [y for y in years if y[2] <= day]
    inside = [y for y in begun if day <= y[3]]
    pick = max(inside or begun, key=lambda y: y[2], default=None)
    return pick[0] if pick else None


def _describe(table: str, row: dict, subjects: dict, classes: dict, years: list[tuple]) -> str:
    term = f"HK{'I' * (_int(row.get('term')) or 0)}" if row.get("term") else ""
    if table == "schools_assessment":
        kind = row.get("kind") or ""
        seq = row.get("seq") if row.get("seq") not in (None, "0") else ""
        return " · ".join(p for p in (subjects.get(_int(row.get("subject_id")), ""), term, f"{kind}{seq}") if p)
    if table == "schools_exemption":  # the subject, the term (none: the whole year), the decision's number
        subject = subjects.get(_int(row.get("subject_id")), "")
        return " · ".join(p for p in (subject, term or str(_("Cả năm học")), row.get("decision_number") or "") if p)
    if table in ("schools_conduct", "schools_qualityassessment"):
        return " · ".join(p for p in (term, row.get("checkpoint") or "", row.get("code") or "") if p)
    if table == "schools_absence":
        return _display_date(row.get("date"))
    if table == "schools_awarddiscipline":
        return row.get("title") or ""
    if table in ("schools_recordbook", "schools_enrolment", "schools_teachingassignment"):
        return classes.get(_int(row.get("school_class_id")), ("", None))[0]
    if table in ("schools_schoolclass", "schools_subject", "schools_department"):
        return row.get("name") or ""
    if table == "schools_schoolyear" and row.get("start_year"):
        return f"{row['start_year']}–{int(row['start_year']) + 1}"
    return ""


def _display_date(value: str | None) -> str:
    return f"{value[8:10]}/{value[5:7]}/{value[:4]}" if value and len(value) >= 10 else (value or "")


def _record_states(changes: list[Change], layouts: dict, entries: list) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """(student, year) → [(entry id, state after it)] from the record books' audit rows: one query."""
    students = sorted({c.student_id for c in changes if c.student_id is not None and c.table != "schools_recordbook"})
    columns = layouts.get("schools_recordbook", [])
    if not students or "student_id" not in columns:
        return {}
    pattern = row_regex(columns.index("student_id"), students)
    rows = (
        AuditEntry.objects.filter(
            table_name="schools_recordbook",
            operation__in=["INSERT", "UPDATE"],
            id__lt=max(e.pk for e in entries),
            new_values__regex=pattern,
        )
        .order_by("id")
        .values_list("id", "new_values")
    )
    wanted = set(students)
    out: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for entry_id, text in rows:
        for r in as_dicts(text, columns):
            sid, year = _int(r.get("student_id")), _int(r.get("year_id"))
            if sid in wanted and year is not None:
                out.setdefault((sid, year), []).append((entry_id, r.get("state") or ""))
    return out


def _state_before(timeline: list[tuple[int, str]], entry_id: int) -> str:
    state = ""
    for eid, s in timeline:
        if eid >= entry_id:
            break
        state = s
    return state
