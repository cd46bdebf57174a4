"""The Celery app. Beat holds one entry per job; jobs fan out over schools in chunks."""

import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

from hocba.env import rollup_mode, runtime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")

# --- time limits and redelivery ------------------------------------------------------------------------------
# Every task declares one of these bounds (tests/platform/test_worker_limits.py checks it). The soft limit raises
# SoftTimeLimitExceeded inside the task; at the hard limit the pool kills the child and the task is acked as failed
# (never requeued: a job that cannot finish in its bound would loop). A planner (beat entry) only reads public rows
# and enqueues chunks; a chunk walks up to 200 schools (tenants.reminders.CHUNK_SIZE).
PLANNER_LIMITS = {"soft_time_limit": 120, "time_limit": 150}
CHUNK_LIMITS = {"soft_time_limit": 600, "time_limit": 660}
LONGEST_TIME_LIMIT = max(PLANNER_LIMITS["time_limit"], CHUNK_LIMITS["time_limit"])
# With acks_late, a task's message stays in Redis "unacked" until the task ends. When the worker dies (SIGKILL,
# OOM, a lost node), Redis gives it back to the queue only once it has been unacked for the visibility timeout:
# the broker cannot tell a dead worker from a slow one. So the timeout must exceed the longest run (or a live,
# slow task is delivered a second time while it still runs), and every minute above that is a minute a lost
# task waits. Longest hard limit + 4 minutes of margin (a prefetched message waits for a free process with a
# prefetch multiplier of 1 at most one task's length; clock skew between workers; the restore sweep).
VISIBILITY_MARGIN = 240
VISIBILITY_TIMEOUT = LONGEST_TIME_LIMIT + VISIBILITY_MARGIN  # 900 s, against the transport's default of 3600
# Workers look for expired unacked messages every RESTORE_INTERVAL seconds (kombu's default sweep is 10 s x a
# throttle of 10 = 100 s): a lost task is back in the queue at most VISIBILITY_TIMEOUT + RESTORE_INTERVAL after
# it was taken. No countdown or eta may exceed the visibility timeout (the retries' backoff stays under 10 s).
RESTORE_INTERVAL = 10


def broker_transport_options(visibility_timeout: int = VISIBILITY_TIMEOUT) -> dict[str, int]:
    """The Redis transport's options for a visibility timeout (the settings' CELERY_BROKER_TRANSPORT_OPTIONS)."""
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(RESTORE_INTERVAL, visibility_timeout // 5)),
        "unacked_restore_throttle": 1,
    }


app = Celery("hocba")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's and beat's own module (imported by them only): logging, the bucket check, metrics, the heartbeat.
app.conf.imports = ("hocba.worker",)
app.conf.beat_scheduler = "hocba.worker:HeartbeatScheduler"
app.conf.beat_max_loop_interval = 30  # beat wakes at least this often, so its heartbeat stays fresh

app.conf.beat_schedule = {
    "school-schemas-check": {
        "task": "tenants.tasks.school_schemas_check",
        "schedule": crontab(minute=17),
    },
    "rollups-reconcile": {
        "task": "tenants.tasks.rollups_reconcile",
        "schedule": crontab(minute="*/30"),
    },
    # The rollup outbox's safety net (docs/operations.md §9.4): schools whose outbox still holds rows, either mode.
    "rollups-sweep": {
        "task": "tenants.tasks.rollups_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # A transfer or an enrolment dated ahead counts in the students figures from its day (tenants.rollup_days).
    "rollups-students-day": {
        "task": "tenants.tasks.rollups_students_day",
        "schedule": crontab(hour=0, minute=5),
    },
    # Classes whose sheets' completeness a write may have changed (tenants.rollup_outbox.drain_stale): current within
    # seconds. A run not started within 4 s is dropped: the next one does the same work.
    "rollups-stale-drain": {
        "task": "tenants.tasks.rollups_stale_drain",
        "schedule": timedelta(seconds=2),
        "options": {"expires": 4},
    },
    "window-reminders": {
        "task": "tenants.tasks.window_reminders",
        "schedule": crontab(minute="*/15"),
    },
    "window-snapshots": {
        "task": "tenants.tasks.window_snapshots",
        "schedule": crontab(),  # every minute
    },
    "audit-anchors": {
        "task": "tenants.tasks.audit_anchors",
        "schedule": crontab(hour=1, minute=30),
    },
    "school-backups": {
        "task": "tenants.tasks.school_backups",
        # HOCBA_BACKUP_HOUR (default 2, local time); HOCBA_BACKUP_SCHEDULE=off makes the task do nothing.
        "schedule": crontab(hour=int(runtime("HOCBA_BACKUP_HOUR", "2")), minute=10),
    },
    "year-end-start": {
        "task": "tenants.tasks.year_end_start",
        "schedule": crontab(hour=6, minute=5),
    },
    "monthly-duty": {
        "task": "tenants.tasks.monthly_duty",
        # The month just ended, on HOCBA_MONTHLY_DUTY_DAY (1–28, default 1) at HOCBA_MONTHLY_DUTY_HOUR (default 7),
        # local time (tenants.duty).
        "schedule": crontab(
            day_of_month=min(max(int(runtime("HOCBA_MONTHLY_DUTY_DAY", "1")), 1), 28),
            hour=min(max(int(runtime("HOCBA_MONTHLY_DUTY_HOUR", "7")), 0), 23),
            minute=20,
        ),
    },
}

if rollup_mode() == "outbox":
    # Every 5 s: the schools whose writes signalled outbox rows. A run not started within 10 s is dropped (expires):
    # behind a busy queue the next one does the same work.
    app.conf.beat_schedule["rollups-drain"] = {
        "task": "tenants.tasks.rollups_drain",
        "schedule": timedelta(seconds=5),
        "options": {"expires": 10},
    }
