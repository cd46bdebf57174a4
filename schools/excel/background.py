"""Where an upload is imported: in the request, or by the worker when it has more data rows than
``HOCBA_IMPORT_INLINE_ROWS`` (200).

Either way the file is first checked in the request (``imports.check``: its shape, what it was made for, the kernel's
limits on size, unpacking, rows and cells), so that a hostile or wrong file is refused at once and never makes a job.
A large file then becomes a background job (``tenants.services.jobs``) holding the file, visible to its requester and
to the school's leadership (``JOB_PEERS``: those who read every class's records). Not to every holder of the import's
capability: that is bound to a class (a homeroom teacher's own class, a teacher's own subjects), and the job's rows
name the class's students and may quote their personal data (an identity number already taken).
``schools.tasks.import_file`` imports it when the request's transaction commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import Message
from hocba.kernel.spreadsheets import check_upload_size, fail

from tenants.services.jobs import job_create, job_url

from ..access import SchoolAccess
from ..tasks import IMPORT_KIND, import_file
from . import imports

JOB_PEERS = "records.view_all"  # who sees an import job besides its requester: the principal and vice principals


@dataclass(frozen=True)
class Submitted:
    """An upload imported in the request (``outcome``), or handed to the worker (``job_id``)."""

    resolved: imports.Resolved
    outcome: imports.Outcome | None = None
    job_id: int | None = None
    rows: int = 0


def receive(*, access: SchoolAccess, target: imports.Target, upload: Any, account_id: int | None) -> Submitted:
    """An upload of a page or of the API (``upload``: the request's file, or None): the target found for the person
    first (404/403 before the body is read), then the file's size, then :func:`submit`."""
    resolved = imports.resolve(access, target)
    if upload is None:
        raise fail("excel.no_file", _("Chưa chọn tệp Excel để tải lên."))
    check_upload_size(upload.size)
    return submit(
        access=access,
        resolved=resolved,
        content=upload.read(),
        name=upload.name,
        account_id=account_id,
        today=timezone.localdate(),
    )


def submit(
    *,
    access: SchoolAccess,
    resolved: imports.Resolved,
    content: bytes,
    name: str,
    account_id: int | None,
    today: dt.date,
) -> Submitted:
    rows = imports.check(access, resolved, content)
    if not imports.runs_in_background(rows):
        return Submitted(resolved, outcome=imports.run(access, resolved, content, today=today), rows=rows)
    job_id = job_create(
        kind=IMPORT_KIND,
        requested_by=account_id,
        capability=JOB_PEERS,
        total=rows,
        school_id=access.school_id,
        params=resolved.target.params(),
        title=Message(_("Nhập từ Excel: %(what)s"), {"what": resolved.label()}),
        back_url=imports.page_url(resolved.target),
        input_name=name,
        input_data=content,
        task=import_file,
        schema_name=connection.schema_name,
    )
    return Submitted(resolved, job_id=job_id, rows=rows)


def job_reference(job_id: int) -> dict[str, Any]:
    """The answer to an upload handed to the worker (HTTP 202): the job and where to follow it."""
    return {"job": job_id, "url": job_url(job_id), "status_url": reverse("api_job", args=[job_id])}
