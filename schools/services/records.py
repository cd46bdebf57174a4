"""The record workflow: draft → submitted (homeroom teacher) → approved (principal or vice principal)
→ signed → locked. Reopening an approved record needs the principal and a reason."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from ..access import SchoolAccess
from ..models import RecordBook, RecordState, SchoolClass
from ..rollups import rollup_add
from .common import require, school_write
from .results import class_results


def _state_deltas(moves: dict[str, int], to: str) -> dict[str, int]:
    deltas: dict[str, int] = {}
    for state, n in moves.items():
        deltas[f"records_{state}"] = deltas.get(f"records_{state}", 0) - n
        deltas[f"records_{to}"] = deltas.get(f"records_{to}", 0) + n
    return deltas


@school_write
def records_submit(*, access: SchoolAccess, school_class: SchoolClass) -> int:
    """The homeroom teacher submits every draft record of the class."""
    require(
        access.can("records.submit") and access.may_manage_class(school_class.pk),
        _("Chỉ giáo viên chủ nhiệm của lớp mới trình được học bạ."),
    )
    n = RecordBook.objects.filter(school_class=school_class, state=RecordState.DRAFT).update(
        state=RecordState.SUBMITTED, submitted_at=timezone.now(), submitted_by=access.account_id
    )
    if not n:
        raise DomainError("records.nothing_to_submit", _("Không có học bạ nào đang nhập để trình."))
    rollup_add(
        school_id=access.school_id,
        year_start=school_class.year.start_year,
        **_state_deltas({RecordState.DRAFT: n}, RecordState.SUBMITTED),
    )
    return n


@school_write
def records_approve(*, access: SchoolAccess, school_class: SchoolClass, student_ids: list[int] | None = None) -> int:
    """The principal or a vice principal approves submitted records, freezing their results."""
    require(access.can("records.approve"), _("Chỉ Hiệu trưởng hoặc Phó hiệu trưởng mới duyệt được học bạ."))
    qs = RecordBook.objects.select_for_update().filter(school_class=school_class, state=RecordState.SUBMITTED)
    if student_ids is not None:
        qs = qs.filter(student_id__in=student_ids)
    records = list(qs)
    if not records:
        raise DomainError("records.nothing_to_approve", _("Không có học bạ nào đã trình để duyệt."))
    results = class_results(school_class, [r.student_id for r in records])
    now = timezone.now()
    for record in records:
        record.state, record.approved_at, record.approved_by = RecordState.APPROVED, now, access.account_id
        record.results = results[record.student_id].as_dict()
    RecordBook.objects.bulk_update(records, ["state", "approved_at", "approved_by", "results"])
    rollup_add(
        school_id=access.school_id,
        year_start=school_class.year.start_year,
        **_state_deltas({RecordState.SUBMITTED: len(records)}, RecordState.APPROVED),
    )
    return len(records)


@school_write
def record_reopen(*, access: SchoolAccess, record: RecordBook, reason: str) -> RecordBook:
    require(access.can("records.reopen"), _("Chỉ Hiệu trưởng mới mở lại được học bạ đã duyệt."))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("records.reason_required", _("Cần ghi rõ lý do mở lại học bạ."), field="reason")
    record = RecordBook.objects.select_for_update().select_related("year").get(pk=record.pk)
    if record.state not in (RecordState.APPROVED, RecordState.SUBMITTED):
        raise DomainError("records.not_reopenable", _("Chỉ mở lại được học bạ đã trình hoặc đã duyệt chưa ký."))
    previous = record.state
    record.state, record.reopened_reason = RecordState.DRAFT, reason
    record.save(update_fields=["state", "reopened_reason"])
    rollup_add(
        school_id=access.school_id, year_start=record.year.start_year, **_state_deltas({previous: 1}, RecordState.DRAFT)
    )
    return record


def record_states(school_class: SchoolClass) -> dict[str, int]:
    return dict(RecordBook.objects.filter(school_class=school_class).values_list("state").annotate(n=Count("id")))
