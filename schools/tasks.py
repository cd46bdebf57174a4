"""School-side background jobs (``tenants.services.jobs``): sent with the school's schema name first, run inside it.

``import_file`` imports a large upload (``schools.excel.background.submit`` decides): the requester's rights are
read again when it runs (someone who lost them meanwhile is refused), then the file is imported all or nothing, as in
the request — the job's rows are what became of each row of the file, or, when nothing was saved, why per row. A
locked window is the database's to refuse when the job writes: the job fails with its message, nothing written.

Safe to run twice: the import and its rows' outcomes commit in one transaction, so a redelivered job that finds its
rows recorded knows the file was imported and only ends the job.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from hocba.kernel import context
from hocba.kernel.errors import TextPair
from hocba.kernel.spreadsheets import ImportFailed

from tenants.selectors import membership_list
from tenants.services.jobs import JobInfo, JobProgress, job_input, job_task

from .access import school_access
from .excel import imports

IMPORT_KIND = "schools.import"


def _requester_access(job: JobInfo):
    """The requester's access in the school as it is now (their memberships today)."""
    roles = {m.role for m in membership_list(school_ids=[job.school_id]) if m.account_id == job.requested_by_id}
    return school_access(job.requested_by_id, job.school_id, roles)


def _record(progress: JobProgress, reports: list[imports.RowReport]) -> None:
    for r in reports:
        progress.row(
            r.number,
            key=r.key,
            group=r.group,
            outcome=r.outcome,
            message=TextPair(r.message, r.message_en),
            data=r.data or None,
        )


@job_task(IMPORT_KIND, school=True)
def import_file(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]] | None:
    """Import the job's file (``params``: an ``imports.Target``) for its requester, all or nothing."""
    if progress.recorded:
        return None  # a redelivery after the commit: the file was imported with these rows
    access = _requester_access(job)
    token = context.update(source="import", role=",".join(sorted(r.value for r in access.roles)))
    try:
        resolved = imports.resolve(access, imports.Target.from_params(job.params))
        content = job_input(job.id)
        try:
            with transaction.atomic():
                outcome = imports.run(access, resolved, content, today=timezone.localdate())
                _record(progress, outcome.rows)
                progress.flush()  # the rows commit with what they report
        except ImportFailed as exc:
            _record(progress, imports.failed_rows(exc, resolved.school_class.name))
            raise  # the job fails with "the file has n problems; nothing was saved"
        return TextPair(outcome.summary["vi"], outcome.summary["en"]), {}
    finally:
        context.reset(token)
