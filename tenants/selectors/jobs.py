"""Background jobs as their pages and the polling endpoint read them, and who may see one.

A job is shown on the site it belongs to: a school's job on that school's site only, a platform job on the platform
site only (anywhere else its id is unknown: 404). There, the requester sees it, and so does whoever holds the job's
capability in its scope (the school; else the unit it was asked in). Two queries for a page of rows, whatever the
number of rows: the job, then one page of ``ROWS_PER_PAGE`` rows (and their count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils import translation
from hocba.kernel.roles import ROLE_CAPABILITIES

from ..models import BackgroundJob, BackgroundJobRow, JobState, RowOutcome
from .access import Access

ROWS_PER_PAGE = 200


@dataclass(frozen=True)
class JobStatus:
    id: int
    kind: str
    title: str
    state: str
    state_label: str
    total: int
    done: int
    ok: int
    failed: int
    summary: str
    error: str
    error_code: str
    input_name: str
    back_url: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    school_id: int | None

    @property
    def finished(self) -> bool:
        return self.state in {JobState.DONE, JobState.PARTLY_DONE, JobState.FAILED}

    @property
    def percent(self) -> int:
        if self.finished and self.state != JobState.FAILED:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "state_label": self.state_label,
            "finished": self.finished,
            "total": self.total,
            "done": self.done,
            "ok": self.ok,
            "failed": self.failed,
            "percent": self.percent,
            "summary": self.summary,
            "error": {"code": self.error_code, "detail": self.error} if self.error_code else None,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _in_language(texts: dict | None) -> str:
    texts = texts or {}
    if translation.get_language() == "en":
        return texts.get("en") or texts.get("vi") or ""
    return texts.get("vi") or ""


def _status(job: BackgroundJob) -> JobStatus:
    error = job.error or {}
    return JobStatus(
        id=job.pk,
        kind=job.kind,
        title=_in_language((job.params or {}).get("title")),
        state=job.state,
        state_label=str(JobState(job.state).label),
        total=job.total,
        done=job.done,
        ok=job.ok,
        failed=job.failed,
        summary=_in_language(job.summary),
        error=_in_language({"vi": error.get("detail", ""), "en": error.get("detail_en", "")}),
        error_code=error.get("code", ""),
        input_name=job.input_name,
        back_url=(job.params or {}).get("back_url", ""),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        school_id=job.school_id,
    )


def job_visible(*, job_id: int, access: Access, school_id: int | None) -> JobStatus | None:
    """The job if the person of ``access`` may see it on the site of ``school_id`` (None: the platform site)."""
    job = (
        BackgroundJob.objects.defer("input_data").filter(pk=job_id).first()
        if isinstance(job_id, int) and 0 < job_id < 2**63
        else None
    )
    if job is None or job.school_id != school_id:
        return None
    if access.account_id is not None and access.account_id == job.requested_by_id:
        return _status(job)
    if job.school_id is not None:
        allowed = access.has_in_school(job.capability, job.school_id)
    elif job.unit_id is not None:
        allowed = access.has_in_unit(job.capability, job.unit_id)
    else:
        allowed = access.superuser
    return _status(job) if allowed else None


@dataclass(frozen=True)
class JobRow:
    number: int
    key: str
    group: str
    outcome: str
    outcome_label: str
    message: str
    data: dict[str, Any]

    @property
    def is_error(self) -> bool:
        return self.outcome == RowOutcome.ERROR


def job_rows(*, job_id: int, page: Any = 1) -> Page:
    """One page (``ROWS_PER_PAGE``) of the job's rows, in order, as ``JobRow`` values; a page number out of range is
    the nearest page."""
    english = translation.get_language() == "en"
    rows = BackgroundJobRow.objects.filter(job_id=job_id).order_by("number")
    found = Paginator(rows, ROWS_PER_PAGE).get_page(page)
    found.object_list = [
        JobRow(
            number=r.number,
            key=r.key,
            group=r.group,
            outcome=r.outcome,
            outcome_label=str(RowOutcome(r.outcome).label),
            message=(r.message_en or r.message) if english else r.message,
            data=r.data,
        )
        for r in found.object_list
    ]
    return found


def job_scope_unit(access: Access, capability: str) -> int | None:
    """The unit a platform job asked by this person belongs to: the widest unit where they hold ``capability``
    (those holding it there, or above, see the job too); None for a platform operator without a unit."""
    best: tuple[int, int] | None = None
    for grant in access.grants:
        if grant.unit_id is None or capability not in ROLE_CAPABILITIES[grant.role]:
            continue
        reach = len(access.tree.descendants(grant.unit_id)) if access.tree is not None else 0
        if best is None or reach > best[0]:
            best = (reach, grant.unit_id)
    return best[1] if best else None
