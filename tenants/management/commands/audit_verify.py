"""Verify every school's audit chain (DESIGN §7): "intact" or the first broken link; exit 1 if any is broken."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from hocba.kernel import archive

from tenants import anchors as chains


class Command(BaseCommand):
    help = "Check the hash chain of each school's audit table; report the first broken entry id per school."

    def add_arguments(self, parser):
        parser.add_argument("--schema", action="append", default=[], help="limit to these school schemas")
        parser.add_argument(
            "--anchors",
            action="store_true",
            help="also check that the latest anchor (last 7 days) still matches the chain",
        )

    def handle(self, *args, schema: list[str], anchors: bool, **options):
        results = chains.audit_chain_verify(schema or None)
        if schema and len(results) < len(set(schema)):
            missing = sorted(set(schema) - set(results))
            raise CommandError(f"no active school with schema {', '.join(missing)}")
        client = archive.archive_client() if anchors else None
        broken = 0
        for name, first_broken in results.items():
            line = "intact" if first_broken is None else f"BROKEN at entry {first_broken}"
            if first_broken is not None:
                broken += 1
            if anchors:
                anchor = chains.latest_anchor(client, archive.archive_bucket(), name, today=timezone.localdate())
                if anchor is None:
                    line += "; no anchor in the last 7 days"
                elif chains.anchor_holds(name, anchor):
                    line += f"; anchor {anchor['last_id']} matches"
                else:
                    line += f"; ANCHOR {anchor['last_id']} DOES NOT MATCH (entries rewritten or removed)"
                    broken += first_broken is None
            self.stdout.write(f"{name}: {line}")
        self.stdout.write(f"{len(results)} school(s) checked, {broken} broken")
        if broken:
            raise CommandError(f"{broken} school(s) with a broken audit chain")
