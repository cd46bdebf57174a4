"""Prometheus metrics (DESIGN §9): request latency by view, Celery queue depth, window refusals (423), archive
throughput, rollup drift fixed, rollup outbox rows drained and their lag.

Multiprocess: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``hocba.gunicorn_conf`` sets it for gunicorn's workers,
the entrypoint for Celery's pool), each process writes its values to files there and the exporter sums them.
Never on the public ingress: the exporter is a separate HTTP server on its own port (``HOCBA_METRICS_PORT``, 9100,
in gunicorn's master; ``HOCBA_WORKER_METRICS_PORT``, 9101, in the Celery worker's main process), which the Service
and Ingress do not route to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

import redis
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily

from hocba import env

log = logging.getLogger(__name__)

if env.metrics_dir():  # the values' files go there: the folder must exist before the first value is made
    Path(env.metrics_dir()).mkdir(parents=True, exist_ok=True)

REQUEST_SECONDS = Histogram(
    "hocba_http_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LOCK_REFUSALS = Counter(
    "hocba_lock_refusals",
    "School writes refused by an open/lock window (the trigger's refusal answered 423), by category and code.",
    ["category", "code"],
)
ARCHIVE_OBJECTS = Counter("hocba_archive_objects_written", "Objects written to the archive store.", ["bucket"])
ARCHIVE_BYTES = Counter("hocba_archive_bytes_written", "Bytes written to the archive store.", ["bucket"])
ROLLUPS_RECONCILED = Counter(
    "hocba_rollup_reconciled_schools",
    "Schools whose rollup rows were recomputed; drift=fixed when a figure had drifted and was corrected.",
    ["drift"],
)
ROLLUP_OUTBOX_ROWS = Counter(
    "hocba_rollup_outbox_rows_drained",
    "Rollup outbox rows moved into the public rollups (HOCBA_ROLLUP_MODE=outbox), by who drained them: signal (the "
    "5-s drain), sweep (a lost signal), snapshot (a lock's compliance snapshot), reconcile.",
    ["via"],
)
ROLLUP_OUTBOX_LAG = Histogram(
    "hocba_rollup_outbox_lag_seconds",
    "Age of a school's oldest outbox row when drained: how stale its public rollup row was.",
    ["via"],
    buckets=(0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 300.0, 1800.0),
)

UNRESOLVED = "-"  # a request answered before URL resolution (unknown school, refused host, redirect)


def observe_request(view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(view or UNRESOLVED, method, f"{status // 100}xx").observe(seconds)


def lock_refused(category: str, code: str) -> None:
    LOCK_REFUSALS.labels(category or "unknown", code or "unknown").inc()


def archive_written(bucket: str, size: int) -> None:
    ARCHIVE_OBJECTS.labels(bucket).inc()
    ARCHIVE_BYTES.labels(bucket).inc(size)


def rollups_reconciled(*, drifted: bool) -> None:
    ROLLUPS_RECONCILED.labels("fixed" if drifted else "none").inc()


def rollup_outbox_drained(*, via: str, rows: int, lag_seconds: float | None) -> None:
    ROLLUP_OUTBOX_ROWS.labels(via).inc(rows)
    if lag_seconds is not None:
        ROLLUP_OUTBOX_LAG.labels(via).observe(max(0.0, lag_seconds))


class RequestMetricsMiddleware:
    """The outermost middleware: every request's time, labelled by the URL name it resolved to."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.url_name or "") if match is not None else ""
        observe_request(view, request.method, response.status_code, time.perf_counter() - started)
        return response


class QueueDepthCollector:
    """The length of each Celery queue in Redis, read when Prometheus scrapes (LLEN per queue)."""

    def __init__(self, url: str, queues: Iterable[str]):
        self.url = url
        self.queues = tuple(queues)

    def collect(self):
        depth = GaugeMetricFamily("hocba_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        up = GaugeMetricFamily("hocba_celery_broker_up", "1 when the broker answered the last scrape.")
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            for queue in self.queues:
                depth.add_metric([queue], client.llen(queue))
        except redis.RedisError as exc:
            log.warning("queue depth: broker unreachable: %s", exc)
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            yield depth
        finally:
            client.close()
        yield up


def exporter_registry(extra: Iterable = ()) -> CollectorRegistry:
    """What the exporter serves: every process's values (multiprocess mode) or this process's, plus ``extra``."""
    if env.metrics_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return registry


class _Forward:
    """The process's default registry inside another one (the exporter's extra collectors stay out of it)."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def start_exporter(port: int, extra: Iterable = (), addr: str = "0.0.0.0") -> bool:
    """Serve the metrics on ``port`` (0: not at all). A port taken is logged, never fatal."""
    if port <= 0:
        return False
    try:
        start_http_server(port, addr=addr, registry=exporter_registry(extra))
    except OSError as exc:
        log.error("metrics exporter not started on port %s: %s", port, exc)
        return False
    log.info("metrics on :%s/metrics", port)
    return True


def clear_dir(keep_pid: int | None = None) -> None:
    """Remove the values left by earlier processes (a restarted container keeps /tmp), except ``keep_pid``'s."""
    folder = env.metrics_dir()
    if not folder:
        return
    for path in Path(folder).glob("*.db"):
        if keep_pid is None or not path.stem.endswith(f"_{keep_pid}"):
            path.unlink(missing_ok=True)


def process_dead(pid: int) -> None:
    """A worker process ended: its live gauges no longer count (counters and histograms keep its values)."""
    if env.metrics_dir():
        multiprocess.mark_process_dead(pid)


def metrics_port(name: str, default: int) -> int:
    return int(env.runtime(name, str(default)) or default)
