"""Verify every school's audit chain outside the database (DESIGN §7): each hash recomputed in Python from the rows,
the head compared with the latest anchor in the archive store; "intact" or what was found; exit 1 if any is broken.

Nothing here asks the database to judge: ``audit_first_broken_link()`` and ``audit_payload()`` live in the
database and its owner can replace them; the rows are read with plain SELECTs and the anchor from the archive store
by this process."""

from django.core.management.base import BaseCommand, CommandError
from hocba.kernel import archive
from hocba.kernel.auditchain import ChainReport

from tenants import anchors as chains


def _when(at) -> str:
    return "?" if at is None else at.isoformat()


def describe(report: ChainReport, anchor: dict | None, *, with_anchors: bool) -> tuple[str, bool]:
    """One line about a school's chain and whether it is broken."""
    broken = report.broken
    if broken is None:
        head = report.head
        line = "intact" + (
            f" ({report.entries} entries, head {head['last_id']} at {_when(head['at'])})" if head else " (empty)"
        )
    else:
        line = chains.broken_text(broken)
    bad = broken is not None
    if with_anchors:
        if anchor is None:
            line += "; no anchor in the last 7 days"
        for check in report.anchors:
            when = anchor.get("anchored_at", "?") if anchor else "?"
            if check.status == "holds":
                line += f"; anchor {check.last_id} matches"
            elif check.status == "missing":
                line += f"; ANCHOR {check.last_id} (taken {when}) DOES NOT MATCH: entry {check.last_id} is gone"
                bad = True
            else:
                line += (
                    f"; ANCHOR {check.last_id} (taken {when}) DOES NOT MATCH: the hashes recomputed from the rows "
                    f"give {check.computed_hash[:16]}… at entry {check.last_id}, the anchor holds "
                    f"{check.anchored_hash[:16]}…, so entries up to {check.last_id} were rewritten"
                    + (" and the chain re-hashed to hide it" if broken is None else "")
                )
                bad = True
    return line, bad


class Command(BaseCommand):
    help = (
        "Recompute every hash of each school's audit chain outside the database, compare it with the latest anchor "
        "in the archive store, and report the first broken entry per school."
    )

    def add_arguments(self, parser):
        parser.add_argument("--schema", action="append", default=[], help="limit to these school schemas")
        parser.add_argument(
            "--no-anchors",
            action="store_false",
            dest="anchors",
            help="skip the archive store: check only the chain's own links (a re-hashed chain passes that)",
        )
        parser.add_argument("--anchors", action="store_true", dest="anchors", help="the default; kept for scripts")
        parser.set_defaults(anchors=True)

    def handle(self, *args, schema: list[str], anchors: bool = True, **options):
        client = archive.archive_client() if anchors else None
        results = chains.audit_chain_verify(schema or None, client=client)
        if schema and len(results) < len(set(schema)):
            missing = sorted(set(schema) - set(results))
            raise CommandError(f"no active school with schema {', '.join(missing)}")
        broken = 0
        for name, (report, anchor) in results.items():
            line, bad = describe(report, anchor, with_anchors=anchors)
            broken += bad
            self.stdout.write(f"{name}: {line}")
        self.stdout.write(f"{len(results)} school(s) checked, {broken} broken")
        if broken:
            raise CommandError(f"{broken} school(s) with a broken audit chain")
