"""In-app notices, and what the open/lock window jobs record in public (DESIGN §5).

* ``Notification``: one notice to one account (reminders before a lock, the principal's year-end notice).
  ``key`` makes a notice idempotent: an account gets at most one notice per non-empty key
  (``window-remind:<window id>``, ``year-end:<window id>``, ``monthly-duty:<school>:<class>:<yyyy-mm>``), so a job
  that runs twice sends nothing twice.
* ``ComplianceSnapshot``: a school's rollup row copied when a window locked (public data only).
* ``WindowReminder``: the reminder pass of one window in one school is done (the 15-minute job skips it).
* ``YearEndStart``: the year-end sign-and-archive flow started for a school at a whole-year lock, with the
  records found ready to sign; signing itself is a later capability.
* ``MonthlyDutyCheck``: the homeroom teachers' monthly duty checked in a school for a month (``tenants.duty``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Notification(models.Model):
    account = models.ForeignKey("tenants.Account", on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    key = models.CharField(max_length=120, blank=True, help_text="one notice per account and non-empty key")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "read_at"], name="notification_account_read")]
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], condition=~Q(key=""), name="one_notification_per_key"),
        ]

    def __str__(self) -> str:
        return self.title


class ComplianceSnapshot(models.Model):
    """A school's rollup figures for the window's year, copied when the window locked."""

    window = models.ForeignKey("tenants.Window", on_delete=models.PROTECT, related_name="snapshots")
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    year_start = models.PositiveSmallIntegerField()
    locks_at = models.DateTimeField(help_text="the window's lock time when the snapshot was taken")
    taken_at = models.DateTimeField()
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["window_id", "school_id"]
        constraints = [models.UniqueConstraint(fields=["window", "school"], name="one_snapshot_per_window_school")]

    def __str__(self) -> str:
        return f"window {self.window_id} · school {self.school_id} · {self.taken_at:%d/%m/%Y %H:%M}"


class WindowReminder(models.Model):
    """The reminder pass of a window in a school is done: ``teachers`` were sent a notice."""

    window = models.ForeignKey("tenants.Window", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()
    teachers = models.PositiveIntegerField(default=0)
    sheets = models.PositiveIntegerField(default=0, help_text="unfinished sheets found")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["window", "school"], name="one_reminder_pass_per_window_school")]

    def __str__(self) -> str:
        return f"window {self.window_id} · school {self.school_id} · {self.teachers} teacher(s)"


class YearEndStart(models.Model):
    """The year-end flow started for a school at a whole-year lock: records ready to sign, principal told."""

    window = models.ForeignKey("tenants.Window", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    year_start = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    ready_to_sign = models.PositiveIntegerField(default=0, help_text="records approved, waiting for signatures")
    not_ready = models.PositiveIntegerField(default=0, help_text="records still draft or submitted")
    done = models.PositiveIntegerField(default=0, help_text="records already signed or locked")
    by_class = models.JSONField(default=list)
    notified = models.PositiveIntegerField(default=0, help_text="principals notified")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["window", "school"], name="one_year_end_start_per_window_school")
        ]
        indexes = [models.Index(fields=["school", "year_start"], name="year_end_school_year")]

    def __str__(self) -> str:
        return f"window {self.window_id} · school {self.school_id} · {self.ready_to_sign} ready to sign"


class MonthlyDutyCheck(models.Model):
    """The homeroom teachers' monthly duty checked in one school for one month (Long An reg. art. 7.2: absences and
    changes updated monthly): how many classes of the year had students that month, which had no attendance or
    conduct update, how many homeroom teachers were reminded. Written once per school and month by the beat job
    ``monthly_duty`` (``tenants.duty``); the boards read the figure here, never in the schools."""

    school = models.ForeignKey("tenants.School", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="the first day of the month checked")
    year_start = models.PositiveSmallIntegerField(help_text="the school year the month belongs to")
    checked_at = models.DateTimeField()
    classes = models.PositiveIntegerField(default=0, help_text="classes of the year with students in the month")
    classes_without_update = models.PositiveIntegerField(default=0)
    teachers_notified = models.PositiveIntegerField(default=0)
    without_update = models.JSONField(
        default=list, help_text="the classes without an update: id, name, grade, has a homeroom teacher"
    )

    class Meta:
        ordering = ["-month", "school_id"]
        constraints = [models.UniqueConstraint(fields=["school", "month"], name="one_duty_check_per_school_month")]
        indexes = [models.Index(fields=["month", "school"], name="duty_check_month_school")]

    def __str__(self) -> str:
        return f"school {self.school_id} · {self.month:%m/%Y} · {self.classes_without_update}/{self.classes}"
