"""Background jobs: create one in a request, run it in a worker with progress and per-row outcomes, finish or fail.

The one write path of ``tenants.models.jobs``. Public and school code use it alike (school code through this module
only: it hands out ``JobInfo`` values, never model instances).

In the request (after the upload was read and checked there, so that a bad or hostile file never makes a job)::

    job_id = job_create(
        kind="schools.provision", requested_by=request.user, capability="schools.manage", unit_id=unit_id,
        total=len(rows), input_name=upload.name, input_data=content, params={"create_valid": True},
        task=provision_schools_job,            # enqueued when the request's transaction commits
    )
    return redirect(job_url(job_id))             # "/jobs/<id>/" on the same site

A task is a plain function ``fn(job, progress)`` wrapped by ``job_task``; a school-side one (``school=True``) is
sent with the school's schema first and runs inside it (``hocba.kernel.tasks.SchoolTask``)::

    @job_task("schools.import_students", school=True)
    def import_students_job(job: JobInfo, progress: JobProgress):
        content = job_input(job.id)
        for number, row in enumerate(rows, start=2):
            if number in progress.recorded:      # a redelivered job resumes after the rows already recorded
                continue
            ...
            progress.row(number, key=name, outcome=RowOutcome.CREATED, group="6A1")
            progress.row(number, key=name, outcome=RowOutcome.ERROR, error=exc)   # a DomainError: its message
        return _("Đã nhập %(n)s học sinh."), {"n": progress.ok}  # the summary (or None)

What the wrapper does around ``fn``:

* ``job_start``: a job already finished is not run again (a redelivered message finds it done and returns); a job
  found running was taken by a worker that died — it runs again (``attempts`` + 1; ``progress.recorded`` names the
  rows already recorded) unless it has been started ``MAX_ATTEMPTS`` times, then it fails;
* the actor of the job (who asked, ``source="job"``) is the audit context while ``fn`` runs;
* ``fn`` returning: the rows left are written and the job ends ``done``, or ``partly_done`` when some rows failed
  and some succeeded, or ``failed`` when every row failed; its summary is the message returned, or a count;
* ``fn`` raising a ``DomainError``: the rows recorded so far are written, the job ends ``failed`` with that
  refusal as its error (Vietnamese and English) — the way an all-or-nothing import says "nothing was saved";
* any other exception (the soft time limit included): the job ends ``failed`` with a generic message, and the
  exception is logged and re-raised;
* the uploaded file (``input_data``) is cleared when the job ends, whatever the outcome.

Progress is cheap: ``progress.row`` buffers rows; they are written in batches, with the counters, every
``FLUSH_ROWS`` rows or ``FLUSH_SECONDS`` seconds — but never while the caller is inside ``transaction.atomic``
(rows written there would vanish with a rollback, and nobody could see them before the commit anyway): an
all-or-nothing job validates outside its transaction, or its rows are written when ``fn`` ends. ``progress.flush()``
writes now, e.g. inside each row's own transaction, so that a row and its outcome commit together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import Task, current_task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.celery import CHUNK_LIMITS
from hocba.kernel import context
from hocba.kernel.errors import DomainError, both_languages
from hocba.kernel.tasks import SchoolTask

from ..models import BackgroundJob, BackgroundJobRow, JobState, RowOutcome

log = logging.getLogger(__name__)

FLUSH_ROWS = 50  # rows buffered before they are written with the counters
FLUSH_SECONDS = 1.0  # or this long since the last write, whichever comes first
MAX_ATTEMPTS = 3  # deliveries that may start a job (a worker killed twice more and it fails)
OK_OUTCOMES = frozenset({RowOutcome.CREATED, RowOutcome.UPDATED, RowOutcome.MOVED})

__all__ = [
    "JobInfo",
    "JobProgress",
    "JobWaits",
    "RowOutcome",
    "job_create",
    "job_fail",
    "job_finish",
    "job_input",
    "job_start",
    "job_task",
    "job_url",
]


@dataclass(frozen=True)
class JobInfo:
    """A job as its task sees it (plain data)."""

    id: int
    kind: str
    school_id: int | None
    unit_id: int | None
    requested_by_id: int | None
    params: dict[str, Any]
    input_name: str
    total: int
    attempts: int


def _info(job: BackgroundJob) -> JobInfo:
    return JobInfo(
        id=job.pk,
        kind=job.kind,
        school_id=job.school_id,
        unit_id=job.unit_id,
        requested_by_id=job.requested_by_id,
        params=dict(job.params or {}),
        input_name=job.input_name,
        total=job.total,
        attempts=job.attempts,
    )


def job_url(job_id: int) -> str:
    """The job's page, on the site that served the request (the platform's or the school's)."""
    return f"/jobs/{job_id}/"


def job_create(
    *,
    kind: str,
    requested_by,
    capability: str,
    total: int = 0,
    school_id: int | None = None,
    unit_id: int | None = None,
    params: dict[str, Any] | None = None,
    input_name: str = "",
    input_data: bytes | None = None,
    task: Task | None = None,
    schema_name: str | None = None,
    title: Any = "",
    back_url: str = "",
) -> int:
    """A queued job; returns its id. ``task`` (a ``job_task``) is sent when the current transaction commits — with
    ``schema_name`` first for a school-side task (required then). ``capability`` is what another person needs, in
    the job's scope (``school_id``, else ``unit_id``), to see it besides the requester. ``title`` (a lazy message)
    heads the job's page; ``back_url`` is where its page links back to (the upload form)."""
    if task is not None and getattr(task, "school_side", False) and not schema_name:
        raise ValueError("a school-side job task needs the school's schema name")
    job = BackgroundJob.objects.create(
        kind=kind,
        requested_by_id=getattr(requested_by, "pk", requested_by),
        capability=capability,
        total=max(0, int(total)),
        school_id=school_id,
        unit_id=unit_id,
        params={**(params or {}), "title": both_languages(title) if title else {}, "back_url": back_url},
        input_name=(input_name or "")[:255],
        input_data=input_data,
    )
    if task is not None:
        args = [schema_name, job.pk] if getattr(task, "school_side", False) else [job.pk]
        transaction.on_commit(lambda: task.apply_async(args=args))
    return job.pk


def job_input(job_id: int) -> bytes:
    """The file uploaded with the job (empty once the job has ended)."""
    data = BackgroundJob.objects.filter(pk=job_id).values_list("input_data", flat=True).first()
    return bytes(data) if data else b""


def job_start(job_id: int) -> JobInfo | None:
    """Mark the job running for this delivery. None when it must not run: unknown, already finished, or started
    ``MAX_ATTEMPTS`` times (it is failed then)."""
    with transaction.atomic():
        job = BackgroundJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            _end(job.pk, JobState.FAILED, error=_too_many_attempts())
            return None
        now = timezone.now()
        job.state, job.attempts, job.updated_at = JobState.RUNNING, job.attempts + 1, now
        job.started_at = job.started_at or now
        job.save(update_fields=["state", "attempts", "started_at", "updated_at"])
        return _info(job)


def _too_many_attempts() -> DomainError:
    return DomainError(
        "jobs.interrupted",
        _("Việc bị ngắt %(n)s lần (máy chạy việc dừng đột ngột); hãy thử lại sau."),
        params={"n": MAX_ATTEMPTS},
    )


def _error_body(exc: DomainError) -> dict[str, Any]:
    data = exc.as_dict()
    return {k: data[k] for k in ("code", "detail", "detail_en", "field") if k in data}


def _end(
    job_id: int, state: str, *, summary: dict | None = None, error: DomainError | None = None, **more: Any
) -> None:
    BackgroundJob.objects.filter(pk=job_id).update(
        **more,
        state=state,
        summary=summary or {},
        error=_error_body(error) if error else {},
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        input_data=None,
    )


class JobProgress:
    """The running job's counters and row outcomes, written in batches (see the module's docstring)."""

    def __init__(self, job: JobInfo):
        self.job_id = job.id
        counts = BackgroundJob.objects.filter(pk=job.id).values("done", "ok", "failed").first() or {}
        self.done, self.ok, self.failed = counts.get("done", 0), counts.get("ok", 0), counts.get("failed", 0)
        # Rows a previous delivery recorded: a resumed job skips them.
        self.recorded: set[int] = set(BackgroundJobRow.objects.filter(job_id=job.id).values_list("number", flat=True))
        self._rows: list[BackgroundJobRow] = []
        self._written = (self.done, self.ok, self.failed)
        self._last = time.monotonic()

    def set_total(self, total: int) -> None:
        """The number of rows, once known (when the request could not count them)."""
        BackgroundJob.objects.filter(pk=self.job_id).update(total=max(0, int(total)), updated_at=timezone.now())

    def row(
        self,
        number: int,
        *,
        key: str,
        outcome: str,
        message: Any = "",
        params: dict[str, Any] | None = None,
        error: DomainError | None = None,
        group: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """One row's outcome: ``number`` (the file's line, or the order), ``key`` (what it is: a school's name and
        code, a student's name), ``group`` (its unit, its class), ``outcome`` (a ``RowOutcome``) and why — a lazy
        catalogue ``message`` with ``params``, or the ``error`` it was refused with. A number already recorded is
        ignored."""
        if number in self.recorded:
            return
        if error is not None:
            message, params = error.message, error.params
        texts = both_languages(message, params) if message else {"vi": "", "en": ""}
        self._rows.append(
            BackgroundJobRow(
                job_id=self.job_id,
                number=number,
                key=str(key)[:300],
                group=str(group)[:300],
                outcome=outcome,
                message=texts["vi"],
                message_en=texts["en"],
                data=data or {},
            )
        )
        self.recorded.add(number)
        self.done += 1
        if outcome in OK_OUTCOMES:
            self.ok += 1
        elif outcome == RowOutcome.ERROR:
            self.failed += 1
        if not connection.in_atomic_block and (
            len(self._rows) >= FLUSH_ROWS or time.monotonic() - self._last >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows and the counters now (in the caller's transaction, if any)."""
        rows, self._rows = self._rows, []
        counts = (self.done, self.ok, self.failed)
        if rows or counts != self._written:
            with transaction.atomic():
                BackgroundJobRow.objects.bulk_create(rows, ignore_conflicts=True)
                BackgroundJob.objects.filter(pk=self.job_id).update(
                    done=self.done, ok=self.ok, failed=self.failed, updated_at=timezone.now()
                )
            self._written = counts
        self._last = time.monotonic()


def job_finish(progress: JobProgress, summary: tuple[Any, dict[str, Any]] | None = None) -> str:
    """End the job after its rows: ``done``, ``partly_done`` (some rows failed, some not) or ``failed`` (every row
    failed). ``summary`` is ``(lazy message, params)``; by default a count. Returns the state."""
    progress.flush()
    if progress.failed and not progress.ok:
        state = JobState.FAILED
    elif progress.failed:
        state = JobState.PARTLY_DONE
    else:
        state = JobState.DONE
    if summary is None:
        summary = (
            _("Đã xử lý %(done)s dòng: %(ok)s thành công, %(failed)s lỗi."),
            {"done": progress.done, "ok": progress.ok, "failed": progress.failed},
        )
    _end(progress.job_id, state, summary=both_languages(*summary), total=Greatest(F("total"), progress.done))
    return state


def job_fail(job_id: int, exc: BaseException, progress: JobProgress | None = None) -> None:
    """End the job as failed: a ``DomainError`` is its error in both languages; anything else a generic one. The
    rows recorded so far are kept."""
    if progress is not None:
        try:
            progress.flush()
        except Exception:  # the database may be what failed: the error still goes on the job below
            log.exception("job %s: writing its last rows failed", job_id)
    error = (
        exc
        if isinstance(exc, DomainError)
        else DomainError(
            "jobs.timeout" if isinstance(exc, SoftTimeLimitExceeded) else "jobs.failed",
            _("Việc chạy quá thời gian cho phép và đã dừng.")
            if isinstance(exc, SoftTimeLimitExceeded)
            else _("Việc gặp lỗi hệ thống và đã dừng; quản trị hệ thống đã được ghi nhận lỗi."),
        )
    )
    _end(job_id, JobState.FAILED, error=error)


class JobWaits(Exception):  # noqa: N818 (not an error: the job waits)
    """Raised by a job function when a service it needs is down (the archive store): the rows recorded so far are
    written, the job goes back to queued (this delivery not counted as an interruption) and its task is retried by
    Celery after ``countdown`` seconds, doubled at each retry; after ``max_retries`` the job fails with ``error``."""

    def __init__(self, error: DomainError, *, countdown: float = 5.0, max_retries: int = 5):
        super().__init__(str(error))
        self.error, self.countdown, self.max_retries = error, countdown, max_retries


def job_wait(job_id: int, progress: JobProgress | None = None) -> None:
    """Put a running job back in the queue while its task waits for a retry (``JobWaits``)."""
    if progress is not None:
        progress.flush()
    BackgroundJob.objects.filter(pk=job_id, state=JobState.RUNNING).update(
        state=JobState.QUEUED, attempts=Greatest(F("attempts") - 1, 0), updated_at=timezone.now()
    )


JobFunction = Callable[[JobInfo, JobProgress], "tuple[Any, dict[str, Any]] | None"]


def _run(fn: JobFunction, job_id: int, tier: str) -> str:
    job = job_start(job_id)
    if job is None:
        log.info("job %s: already finished or unknown, not run again", job_id)
        return "skipped"
    token = context.update(
        account_id=job.requested_by_id, tier=tier, source="job", request_id=f"job-{job.id}-{job.attempts}"
    )
    progress: JobProgress | None = None
    try:
        progress = JobProgress(job)
        summary = fn(job, progress)
        return job_finish(progress, summary)
    except JobWaits as exc:
        task = current_task
        retries = task.request.retries if task is not None else 0
        if task is None or task.request.called_directly or retries >= exc.max_retries:
            job_fail(job.id, exc.error, progress)
            return JobState.FAILED
        log.warning("job %s (%s) waits: %s (retry %s)", job.id, job.kind, exc, retries + 1)
        job_wait(job.id, progress)
        raise task.retry(countdown=exc.countdown * 2**retries, max_retries=exc.max_retries) from None
    except DomainError as exc:
        job_fail(job.id, exc, progress)
        return JobState.FAILED
    except Exception as exc:  # not BaseException: a worker shutting down leaves the job to its redelivery
        log.exception("job %s (%s) failed", job.id, job.kind)
        job_fail(job.id, exc, progress)
        raise
    finally:
        context.reset(token)


class JobTask(Task):
    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    school_side = False


class SchoolJobTask(SchoolTask):
    abstract = True
    school_side = True


def job_task(name: str, *, school: bool = False, **options) -> Callable[[JobFunction], Task]:
    """Make ``fn(job, progress)`` a Celery task named ``name``: ``task(job_id)``, or ``task(schema_name, job_id)``
    with ``school=True`` (run inside that school's schema). Acked late, redelivered when its worker dies, with the
    chunk tasks' time limits unless ``options`` say otherwise."""
    limits = {**CHUNK_LIMITS, **options}

    def wrap(fn: JobFunction) -> Task:
        if school:

            def run_in_school(schema_name: str, job_id: int) -> str:
                return _run(fn, job_id, "school")

            run_in_school.__doc__ = fn.__doc__
            return shared_task(name=name, base=SchoolJobTask, **limits)(run_in_school)

        def run(job_id: int) -> str:
            return _run(fn, job_id, "platform")

        run.__doc__ = fn.__doc__
        return shared_task(name=name, base=JobTask, **limits)(run)

    return wrap
