"""What the Celery worker and beat do around the tasks (imported by them only: ``hocba.celery`` lists it in
``imports``): the heartbeat (a worker bootstep, beat's scheduler), logs in the configured format, the archive
bucket checked at start, the record books' renderer warmed in each pool process, metrics and their exporter."""

from __future__ import annotations

import logging
import logging.config
import os

from celery import bootsteps, signals
from celery.beat import PersistentScheduler
from django.conf import settings

from hocba import heartbeat
from hocba.kernel import health, metrics
from reporting import pdf

from .celery import app

log = logging.getLogger(__name__)

DEFAULT_WORKER_METRICS_PORT = 9101


# --- liveness of the processes without HTTP: a heartbeat file (hocba.heartbeat) --------------------------------


class HeartbeatStep(bootsteps.StartStopStep):
    """The worker touches the heartbeat file from its timer (the event loop's, with the prefork pool): a worker
    whose loop hangs stops touching it, and ``python -m hocba.heartbeat --max-age 120`` fails."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        heartbeat.touch()
        self.tref = worker.timer.call_repeatedly(heartbeat.interval(), heartbeat.touch, priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, touching the heartbeat file on every pass of its loop."""

    def tick(self, *args, **kwargs):
        heartbeat.touch()
        return super().tick(*args, **kwargs)


# Imported by the worker before it builds its blueprint (celery.worker.WorkController: init_worker first).
app.steps["worker"].add(HeartbeatStep)


# --- signals -----------------------------------------------------------------------------------------------------


@signals.setup_logging.connect(dispatch_uid="hocba.worker.logging")
def use_django_logging(**kwargs) -> None:
    """Celery keeps Django's LOGGING (JSON lines in production) instead of its own format."""
    logging.config.dictConfig(settings.LOGGING)


@signals.worker_init.connect(dispatch_uid="hocba.worker.init")
def worker_init(**kwargs) -> None:
    # Before the pool starts: values left in the metrics folder by an earlier container (/tmp outlives it) go.
    metrics.clear_dir(keep_pid=os.getpid())
    # The record books' fonts cut into the machine's cache once, here, before the pool forks (files only).
    try:
        pdf.prepare_fonts()
    except Exception:  # a broken font cache must not stop the worker: the first render will say what is wrong
        log.exception("record book fonts could not be prepared at worker start")


@signals.worker_process_init.connect(dispatch_uid="hocba.worker.process_init")
def worker_process_init(**kwargs) -> None:
    """Each pool process loads the record books' fonts and style sheet at its start, not in its first record
    (≈ 0.05 CPU-s once the fonts are cut; a failure only logs: the render then loads them itself)."""
    try:
        pdf.warm_up()
    except Exception:
        log.exception("record book renderer warm-up failed")


@signals.worker_ready.connect(dispatch_uid="hocba.worker.ready")
def worker_ready(**kwargs) -> None:
    health.check_archive_at_start()  # logs an error when the bucket has no Object Lock; the worker keeps running
    queues = sorted({app.conf.task_default_queue or "celery", *(q.name for q in app.amqp.queues.values())})
    extra = [metrics.QueueDepthCollector(settings.REDIS_URL, queues)] if settings.REDIS_URL else []
    metrics.start_exporter(metrics.metrics_port("HOCBA_WORKER_METRICS_PORT", DEFAULT_WORKER_METRICS_PORT), extra)


@signals.worker_process_shutdown.connect(dispatch_uid="hocba.worker.child_exit")
def child_exit(pid=None, **kwargs) -> None:
    metrics.process_dead(pid or os.getpid())
