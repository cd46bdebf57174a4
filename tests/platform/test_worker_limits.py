"""Every task has a time limit, and the broker's visibility timeout is above the longest (hocba/celery.py)."""

from __future__ import annotations

from django.conf import settings
from hocba.celery import LONGEST_TIME_LIMIT, VISIBILITY_MARGIN, VISIBILITY_TIMEOUT, app

PROJECT = ("tenants.", "schools.", "reporting.", "hocba.")


def _project_tasks():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if name.startswith(PROJECT)}
    assert "tenants.tasks.window_snapshots_chunk" in tasks and "tenants.tasks.rollups_reconcile" in tasks
    return tasks


def test_every_task_has_soft_and_hard_limits_within_the_bound():
    for name, task in _project_tasks().items():
        assert task.time_limit and task.soft_time_limit, f"{name} has no time limit"
        assert task.soft_time_limit < task.time_limit <= LONGEST_TIME_LIMIT, name


def test_every_task_is_acked_late_and_redelivered_when_its_worker_dies():
    for name, task in _project_tasks().items():
        assert task.acks_late and task.reject_on_worker_lost, name
        # a retry's countdown stays far below the visibility timeout (an eta beyond it would be delivered twice)
        if getattr(task, "autoretry_for", ()):
            assert task.retry_backoff_max * 2 < VISIBILITY_TIMEOUT, name


def test_the_visibility_timeout_follows_the_longest_limit():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert VISIBILITY_TIMEOUT == LONGEST_TIME_LIMIT + VISIBILITY_MARGIN == 900
    assert options["visibility_timeout"] == VISIBILITY_TIMEOUT < 3600
    assert options["unacked_restore_throttle"] == 1 and options["unacked_restore_interval"] <= 10
    assert app.conf.broker_transport_options == options
