"""The Celery app. Beat holds one entry per job; jobs fan out over schools in chunks."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.settings.local")

app = Celery("hocba")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "school-schemas-check": {
        "task": "tenants.tasks.school_schemas_check",
        "schedule": crontab(minute=17),
    },
    "rollups-reconcile": {
        "task": "tenants.tasks.rollups_reconcile",
        "schedule": crontab(minute="*/30"),
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
    "year-end-start": {
        "task": "tenants.tasks.year_end_start",
        "schedule": crontab(hour=6, minute=5),
    },
}
