"""The record workflow: draft → submitted (homeroom teacher) → approved (principal or vice principal)
→ signed → locked. Reopening an approved record needs the principal and a reason.

Submitting, withdrawing and approving work on a whole class or on some of its students (``student_ids``). Each
reads the books' completeness (``selectors.completeness``): a submission of incomplete books goes through and says
which ones miss what; a withdrawal takes submitted books back to draft until they are approved; an approval of
incomplete books needs a reason (≥ 10 characters), kept on each of them with what they missed. A refusal changes
nothing; the open/lock windows guard these updates in the database like any other write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError

from ..access import SchoolAccess
from ..models import RecordBook, RecordState, SchoolClass
from ..rollups import class_rollup_add, distribution_add, rollup_add
from ..selectors.completeness import StudentCompleteness, class_completeness
from .common import require, school_write
from .readerview import freeze_reader_view
from .results import class_results

REASON_MIN = 10  # characters of the reason for approving incomplete books
MAX_STUDENT_IDS = 1000  # students named in one request (a class has at most a few dozen)
SUBMIT_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp mới trình được học bạ.")
WITHDRAW_NOT_ALLOWED = _("Chỉ giáo viên chủ nhiệm của lớp hoặc người đã trình mới rút lại được học bạ đã trình.")


@dataclass(frozen=True)
class Moved:
    """The outcome of a workflow step: how many books moved, and those of them that miss items."""

    count: int
    incomplete: tuple[StudentCompleteness, ...] = ()

    def incomplete_data(self) -> list[dict]:
        return [s.as_dict() for s in self.incomplete]


def _state_deltas(moves: dict[str, int], to: str) -> dict[str, int]:
    deltas: dict[str, int] = {}
    for state, n in moves.items():
        deltas[f"records_{state}"] = deltas.get(f"records_{state}", 0) - n
        deltas[f"records_{to}"] = deltas.get(f"records_{to}", 0) + n
    return deltas


def student_ids_from(value: object) -> list[int] | None:
    """The ``student_ids`` of a request: ``None`` (absent: the whole class) or a non-empty list of at most
    ``MAX_STUDENT_IDS`` positive integers (duplicates count once)."""
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list | tuple) and len(value) > MAX_STUDENT_IDS:
        raise DomainError(
            "records.too_many_students",
            _("Chỉ chọn được tối đa %(n)s học sinh một lần."),
            params={"n": MAX_STUDENT_IDS},
            field="student_ids",
        )
    ids = []
    for v in value if isinstance(value, list | tuple) else [object()]:
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v.strip())
        if not isinstance(v, int) or isinstance(v, bool) or not 0 < v < 2**63:
            raise DomainError(
                "records.bad_students", _("Danh sách học sinh phải là các mã học sinh (số)."), field="student_ids"
            )
        ids.append(v)
    if not ids:
        raise DomainError("records.no_students", _("Hãy chọn ít nhất một học sinh."), field="student_ids")
    return list(dict.fromkeys(ids))


def _selected(school_class: SchoolClass, student_ids: Iterable[int] | None) -> list[RecordBook]:
    """The class's record books (of ``student_ids`` if given), locked for the update; an id without a book in the
    class (another class's, another school's) is refused, naming it."""
    qs = RecordBook.objects.select_for_update().filter(school_class=school_class).select_related("student")
    if student_ids is None:
        return list(qs.order_by("student__sort_key", "student_id"))
    wanted = set(student_ids)
    records = list(qs.filter(student_id__in=wanted).order_by("student__sort_key", "student_id"))
    unknown = sorted(wanted - {r.student_id for r in records})
    if unknown:
        raise DomainError(
            "records.student_not_in_class",
            _("Học sinh mã %(id)s không có học bạ ở lớp %(class)s."),
            params={"id": unknown[0], "class": school_class.name},
            field="student_ids",
            http_status=404,
        )
    return records


def _move(records: list[RecordBook], **values) -> int:
    return RecordBook.objects.filter(pk__in=[r.pk for r in records]).update(**values)


@school_write
def records_submit(
    *, access: SchoolAccess, school_class: SchoolClass, student_ids: Iterable[int] | None = None
) -> Moved:
    """The homeroom teacher submits the draft records of the class (of ``student_ids`` if given). Incomplete books
    are submitted too: the result names them and what they miss, as the class page showed before."""
    require(access.can("records.submit") and access.may_manage_class(school_class.pk), SUBMIT_NOT_ALLOWED)
    drafts = [r for r in _selected(school_class, student_ids) if r.state == RecordState.DRAFT]
    if not drafts:
        raise DomainError("records.nothing_to_submit", _("Không có học bạ nào đang nhập để trình."))
    n = _move(drafts, state=RecordState.SUBMITTED, submitted_at=timezone.now(), submitted_by=access.account_id)
    completeness = class_completeness(school_class, [r.student_id for r in drafts])
    moved = _state_deltas({RecordState.DRAFT: n}, RecordState.SUBMITTED)
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, **moved)
    class_rollup_add(school_id=access.school_id, school_class=school_class, **moved)
    return Moved(n, completeness.incomplete)


@school_write
def records_withdraw(
    *, access: SchoolAccess, school_class: SchoolClass, student_ids: Iterable[int] | None = None
) -> Moved:
    """The homeroom teacher (or whoever submitted them) takes submitted records of the class (of ``student_ids`` if
    given) back to draft, before the principal approves them. A chosen record already approved refuses the whole
    request: it needs the principal to reopen it."""
    require(access.can("records.submit"), WITHDRAW_NOT_ALLOWED)
    selected = _selected(school_class, student_ids)
    manager = access.may_manage_class(school_class.pk)
    mine = access.account_id is not None and any(r.submitted_by == access.account_id for r in selected)
    require(manager or mine, WITHDRAW_NOT_ALLOWED)
    approved = [r for r in selected if r.state in recordstates.FINAL]
    submitted = [r for r in selected if r.state == RecordState.SUBMITTED]
    if approved and student_ids is not None:
        raise DomainError(
            "records.already_approved",
            _("Học bạ của %(name)s đã được duyệt nên không rút lại được; cần Hiệu trưởng mở lại học bạ."),
            params={"name": approved[0].student.full_name},
            http_status=409,
        )
    if not submitted:
        raise DomainError("records.nothing_to_withdraw", _("Không có học bạ nào đã trình để rút lại."))
    require(manager or all(r.submitted_by == access.account_id for r in submitted), WITHDRAW_NOT_ALLOWED)
    n = _move(submitted, state=RecordState.DRAFT, submitted_at=None, submitted_by=None)
    moved = _state_deltas({RecordState.SUBMITTED: n}, RecordState.DRAFT)
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, **moved)
    class_rollup_add(school_id=access.school_id, school_class=school_class, **moved)
    return Moved(n)


@school_write
def records_approve(
    *,
    access: SchoolAccess,
    school_class: SchoolClass,
    student_ids: Iterable[int] | None = None,
    reason: str = "",
) -> Moved:
    """The principal or a vice principal approves submitted records (of ``student_ids`` if given), freezing their
    results. When any of them misses items, ``reason`` (≥ 10 characters) is required — the refusal (409) lists
    what each misses — and is kept on each incomplete record with what it missed."""
    require(access.can("records.approve"), _("Chỉ Hiệu trưởng hoặc Phó hiệu trưởng mới duyệt được học bạ."))
    records = [r for r in _selected(school_class, student_ids) if r.state == RecordState.SUBMITTED]
    if not records:
        raise DomainError("records.nothing_to_approve", _("Không có học bạ nào đã trình để duyệt."))
    incomplete = {s.student_id: s for s in class_completeness(school_class, [r.student_id for r in records]).incomplete}
    reason = " ".join((reason or "").split())
    if incomplete and len(reason) < REASON_MIN:
        raise DomainError(
            "records.incomplete_reason_required",
            _(
                "%(n)s học bạ chưa đủ dữ liệu. Để vẫn duyệt, hãy ghi lý do (ít nhất %(min)s ký tự); "
                "chưa duyệt học bạ nào."
            ),
            params={"n": len(incomplete), "min": REASON_MIN},
            field="reason",
            http_status=409,
            extra={"incomplete": [s.as_dict() for s in incomplete.values()]},
        )
    results = class_results(school_class, [r.student_id for r in records])
    now = timezone.now()
    for record in records:
        record.state, record.approved_at, record.approved_by = RecordState.APPROVED, now, access.account_id
        record.results = results[record.student_id].as_dict()
        missing = incomplete.get(record.student_id)
        record.approved_incomplete_reason = reason if missing else ""
        record.approved_missing = [m.as_dict()["label"] for m in missing.missing] if missing else []
    RecordBook.objects.bulk_update(
        records,
        ["state", "approved_at", "approved_by", "results", "approved_incomplete_reason", "approved_missing"],
    )
    freeze_reader_view(records)
    moved = _state_deltas({RecordState.SUBMITTED: len(records)}, RecordState.APPROVED)
    rollup_add(school_id=access.school_id, year_start=school_class.year.start_year, **moved)
    class_rollup_add(school_id=access.school_id, school_class=school_class, **moved)
    year_start, grade = school_class.year.start_year, school_class.grade
    distribution_add(school_id=access.school_id, year_start=year_start, grade=grade, records=records, sign=1)
    return Moved(len(records), tuple(replace(s, record_state=RecordState.APPROVED) for s in incomplete.values()))


@school_write
def record_reopen(*, access: SchoolAccess, record: RecordBook, reason: str) -> RecordBook:
    require(access.can("records.reopen"), _("Chỉ Hiệu trưởng mới mở lại được học bạ đã duyệt."))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("records.reason_required", _("Cần ghi rõ lý do mở lại học bạ."), field="reason")
    record = (
        RecordBook.objects.select_for_update(of=("self", "year"))
        .select_related("year", "student", "school_class")
        .get(pk=record.pk)
    )
    if record.state not in (RecordState.APPROVED, RecordState.SUBMITTED):
        raise DomainError("records.not_reopenable", _("Chỉ mở lại được học bạ đã trình hoặc đã duyệt chưa ký."))
    previous, first_reopen = record.state, not record.reopened_reason
    record.state, record.reopened_reason = RecordState.DRAFT, reason
    record.save(update_fields=["state", "reopened_reason"])
    moved = _state_deltas({previous: 1}, RecordState.DRAFT)
    rollup_add(
        school_id=access.school_id,
        year_start=record.year.start_year,
        records_reopened=int(first_reopen),  # records reopened at least once (their reason is kept)
        **moved,
    )
    class_rollup_add(school_id=access.school_id, school_class=record.school_class, **moved)
    if previous == RecordState.APPROVED:  # its frozen results leave the distributions (kept on it for its readers)
        distribution_add(
            school_id=access.school_id,
            year_start=record.year.start_year,
            grade=record.school_class.grade,
            records=[record],
            sign=-1,
        )
    return record


def record_states(school_class: SchoolClass) -> dict[str, int]:
    return dict(RecordBook.objects.filter(school_class=school_class).values_list("state").annotate(n=Count("id")))
