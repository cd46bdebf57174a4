"""gunicorn's configuration (``gunicorn -c python:hocba.gunicorn_conf``): multiprocess metrics and their exporter.

Before anything imports prometheus_client, the workers get a metrics folder (``PROMETHEUS_MULTIPROC_DIR``, else a
folder of this master's own under /tmp, removed when it exits). The master clears it at start, serves the summed
metrics on ``HOCBA_METRICS_PORT`` (default 9100, 0 for none; not the port the Service and Ingress route to) and
marks each worker that exits as dead. Each worker, once it has loaded the application, freezes what it loaded out of
the garbage collector's walks (``hocba.kernel.gcsettle``). Settings on the command line still win over this file.
"""

import os
import shutil
import tempfile

from hocba import env

_DEFAULT_DIR = os.path.join(tempfile.gettempdir(), f"hocba-metrics-web-{os.getpid()}")
METRICS_DIR = env.use_metrics_dir(_DEFAULT_DIR)

from hocba.kernel import gcsettle, metrics  # noqa: E402  (after the folder is set: prometheus_client reads it on import)

DEFAULT_METRICS_PORT = 9100


def on_starting(server):
    metrics.clear_dir()


def when_ready(server):
    metrics.start_exporter(metrics.metrics_port("HOCBA_METRICS_PORT", DEFAULT_METRICS_PORT))


def post_worker_init(worker):
    # the application is loaded in the worker: what it loaded is set aside from the garbage collector
    gcsettle.settle()


def child_exit(server, worker):
    metrics.process_dead(worker.pid)


def on_exit(server):
    if METRICS_DIR == _DEFAULT_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
