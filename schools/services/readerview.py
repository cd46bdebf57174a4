"""What a reader of approved records (a parent) sees of a record book, frozen at each approval.

The principal may reopen an approved record (approved → draft) to correct it; until it is approved again its
parents keep reading the last approved version, never the draft. Approval freezes it: ``RecordBook.results`` (the
results, scores as printed, conduct and its comments, attendance, decisions) and ``RecordBook.approved_view`` (the
comments, the completion note, the awards and discipline, who submitted and approved it when), written by
``freeze_reader_view`` within the approval. ``approved_version`` reads it back.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from hocba.kernel import recordstates

from ..models import AwardDiscipline, RecordBook, RecordState

FROZEN_TEXTS = ("homeroom_comment", "principal_comment", "completion_note")
FROZEN_WORKFLOW = ("submitted_at", "submitted_by", "approved_at", "approved_by")


def _award_data(award: AwardDiscipline) -> dict[str, Any]:
    return {
        "kind": award.kind,
        "title": award.title,
        "decided_on": award.decided_on.isoformat(),
        "decided_by": award.decided_by,
    }


def freeze_reader_view(records: list[RecordBook]) -> None:
    """Freeze what the readers of approved records see of these records, just approved (their state, approval and
    results set): their comments, awards and workflow dates into ``approved_view``. Two statements whatever the
    number of records."""
    if not records:
        return
    awards: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for award in AwardDiscipline.objects.filter(
        student_id__in={r.student_id for r in records}, year_id__in={r.year_id for r in records}
    ).order_by("decided_on", "pk"):
        awards.setdefault((award.student_id, award.year_id), []).append(_award_data(award))
    for record in records:
        record.approved_view = {
            **{name: getattr(record, name) or "" for name in FROZEN_TEXTS},
            **{
                name: value.isoformat() if isinstance(value, dt.datetime) else value
                for name in FROZEN_WORKFLOW
                for value in (getattr(record, name),)
            },
            "awards": awards.get((record.student_id, record.year_id), []),
        }
    RecordBook.objects.bulk_update(records, ["approved_view"])


@dataclass(frozen=True)
class ApprovedVersion:
    """The last approved version of a record now being corrected: the record as it was approved (an unsaved copy;
    its state is "approved") and its awards."""

    record: RecordBook
    awards: list[AwardDiscipline]

    @property
    def approved_on(self) -> dt.date | None:
        return timezone.localdate(self.record.approved_at) if self.record.approved_at else None


def ever_approved(record: RecordBook) -> bool:
    """Approved now, or approved once and reopened since: a parent may read it (its approved version)."""
    if record.state in recordstates.FINAL or record.approved_view is not None:
        return True
    return record.approved_at is not None and bool(record.results)


def approved_version(record: RecordBook) -> ApprovedVersion:
    """The record as last approved, from what the approval froze. A record reopened before approvals froze their
    view shows its frozen results only (no comment nor award can be vouched for)."""
    frozen = record.approved_view or {}
    shown = copy.copy(record)
    shown.state = RecordState.APPROVED
    shown.reopened_reason = ""
    for name in FROZEN_TEXTS:
        setattr(shown, name, frozen.get(name) or "")
    for name in FROZEN_WORKFLOW:
        value = frozen.get(name, getattr(record, name) if name.startswith("approved") else None)
        if isinstance(value, str):
            value = parse_datetime(value)
        setattr(shown, name, value)
    awards = [
        AwardDiscipline(
            student_id=record.student_id,
            year_id=record.year_id,
            kind=a.get("kind", ""),
            title=a.get("title", ""),
            decided_on=parse_date(a.get("decided_on") or ""),
            decided_by=a.get("decided_by", ""),
        )
        for a in frozen.get("awards", [])
    ]
    return ApprovedVersion(shown, awards)
