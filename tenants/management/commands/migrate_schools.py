"""Bring every school schema to the migration head: skip those already there, migrate the rest in parallel."""

import os
import sys
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
            for s in behind:
                self.stdout.write(f"behind: {s}")
            if behind:
                raise CommandError(f"{len(behind)} school(s) behind")
            return

        def progress(done: int, total: int, schema_name: str, error: str) -> None:
            state = f"FAILED {error}" if error else "ok"
            self.stdout.write(f"[{done}/{total} {100 * done // total}%] {schema_name}: {state}")
            sys.stdout.flush()

        failures = provisioning.migrate_schools(behind, workers=workers, progress=progress)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"done in {elapsed:.1f}s: {len(behind) - len(failures)} migrated, {len(failures)} failed")
        if failures:
            raise CommandError(f"{len(failures)} school(s) failed and stay on their old version: {', '.join(failures)}")
