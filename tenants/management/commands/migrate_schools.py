"""Bring every school schema to the migration head: skip those already there, migrate the rest in parallel.

SIGTERM or SIGINT (a deployment stopping the migration job, Ctrl-C) stops handing out schools: the ones in hand
finish or roll back as a whole, the command exits non-zero, and the next run takes up the schools left behind.
"""

import contextlib
import os
import signal
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from tenants import dbroles, provisioning
from tenants.models import School


class Command(BaseCommand):
    help = "Migrate school schemas. Schools already at head are skipped by a cheap check; failures are recorded."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--check", action="store_true", help="only report; exit 1 if any school is behind")
        parser.add_argument("--schema", action="append", default=[], help="limit to these schemas")

    def handle(self, *args, workers: int, check: bool, schema: list[str], **options):
        if not check and not dbroles.is_owner_connection():
            raise CommandError("migrate_schools must run with the owner's login (HOCBA_DB_ROLE=owner)")
        started = time.perf_counter()
        head = provisioning.migration_head()
        if not check:
            provisioning.template_current()  # new schools are created from the current head's DDL
        qs = School.objects.filter(status="active")
        if schema:
            qs = qs.filter(schema_name__in=schema)
        schemas = list(qs.order_by("schema_name").values_list("schema_name", flat=True))
        behind = provisioning.schemas_behind(schemas, head)
        provisioning.mark_checked([s for s in schemas if s not in set(behind)], head)
        self.stdout.write(f"{len(schemas)} schools, {len(behind)} behind head {head.digest[:12]}")
        if check:
            errors = dict(School.objects.filter(schema_name__in=behind).values_list("schema_name", "schema_error"))
            for s in behind:
                self.stdout.write(f"behind: {s}" + (f" (failed: {errors[s]})" if errors.get(s) else ""))
            if behind:
                raise CommandError(f"{len(behind)} school(s) behind")
            return

        def progress(done: int, total: int, schema_name: str, error: str) -> None:
            state = f"FAILED {error}" if error else "ok"
            self.stdout.write(f"[{done}/{total} {100 * done // total}%] {schema_name}: {state}")
            sys.stdout.flush()

        stop = threading.Event()
        try:
            with _stopped_by_signals(stop, self.stderr):
                failures = provisioning.migrate_schools(behind, workers=workers, progress=progress, stop=stop.is_set)
        except provisioning.MigrationInterrupted as exc:
            raise CommandError(
                f"{exc.reason}: {len(behind) - len(exc.not_started) - len(exc.failures)} migrated, "
                f"{len(exc.failures)} failed, {len(exc.not_started)} left for the next run"
            ) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(f"done in {elapsed:.1f}s: {len(behind) - len(failures)} migrated, {len(failures)} failed")
        if failures:
            raise CommandError(f"{len(failures)} school(s) failed and stay on their old version: {', '.join(failures)}")


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event, stderr):
    """While migrating: SIGTERM/SIGINT set ``stop`` (main thread only; elsewhere signals stay as they were)."""

    def handle(signum, frame) -> None:
        if not stop.is_set():
            stderr.write(f"{signal.Signals(signum).name}: no new school starts; waiting for those in hand")
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
