"""Background jobs: a long piece of work (bulk school creation, a large import, the year-end carry-over) run by a
Celery worker, with its progress and the outcome of each row for the person who asked for it.

A job lives in the public schema whichever side runs it: a school-side job names its ``school`` (its rows are
shown on that school's site only); a platform job names the ``unit`` in whose scope it was asked (shown on the
platform site to the requester and to whoever holds ``capability`` in that unit).

The counters (``total``, ``done``, ``ok``, ``failed``) are what the progress bar polls; they are written every few
rows or every second, never per row. Each row's outcome is a ``BackgroundJobRow``, written in batches (a 2,000-row
import adds 2,000 small rows, it never rewrites one large JSON document on each tick).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .accounts import Account
from .schools import School
from .units import AdministrativeUnit


class JobState(models.TextChoices):
    QUEUED = "queued", _("Đang chờ")
    RUNNING = "running", _("Đang chạy")
    DONE = "done", _("Đã xong")
    PARTLY_DONE = "partly_done", _("Xong một phần")
    FAILED = "failed", _("Thất bại")


FINISHED_STATES = frozenset({JobState.DONE, JobState.PARTLY_DONE, JobState.FAILED})


class RowOutcome(models.TextChoices):
    """What became of one row. The first four are the vocabulary of imports; the carry-over adds two."""

    CREATED = "created", _("Đã tạo")
    UPDATED = "updated", _("Đã cập nhật")
    SKIPPED = "skipped", _("Bỏ qua")
    ERROR = "error", _("Lỗi")
    MOVED = "moved", _("Đã chuyển lớp")
    STAYED = "stayed", _("Chưa chuyển")


class BackgroundJob(models.Model):
    kind = models.CharField(max_length=40)  # a registered kind (tenants.services.jobs.JOB_KINDS): "schools.provision"
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(AdministrativeUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    capability = models.CharField(max_length=60)  # who else may see it: this capability in the same scope
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    ok = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)  # the task's inputs other than the file (ids, choices)
    summary = models.JSONField(default=dict, blank=True)  # {"vi": …, "en": …}: one sentence on what was done
    error = models.JSONField(default=dict, blank=True)  # a refusal's body: {"code", "detail", "detail_en"}
    input_name = models.CharField(max_length=255, blank=True)
    input_data = models.BinaryField(null=True, blank=True)  # the uploaded file, kept for the run, cleared after it
    attempts = models.PositiveSmallIntegerField(default=0)  # deliveries that started it (a redelivery adds one)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)  # the last progress tick

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="job_requester_recent")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class BackgroundJobRow(models.Model):
    """One row's outcome: its number (the line of the file, or the order in the list), what it is about (a school's
    name and code, a student's name), where it belongs (a unit, a class), the outcome and why, in both languages."""

    job = models.ForeignKey(BackgroundJob, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    key = models.CharField(max_length=300)
    group = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10, choices=RowOutcome.choices)
    message = models.TextField(blank=True)
    message_en = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)  # ids for links (school_id, student_id, …)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="job_row_number_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.number} {self.outcome}"
