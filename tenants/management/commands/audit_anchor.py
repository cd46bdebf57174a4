"""Write each school's audit chain head (last id, hash, time) to the archive store (DESIGN §7, §8).

The head is recomputed in Python from what was added since the school's last anchor; a school whose chain does not
continue that anchor is reported and not anchored (exit 1)."""

from django.core.management.base import BaseCommand, CommandError
from hocba.kernel import archive

from tenants import anchors


class Command(BaseCommand):
    help = (
        "Anchor each school's audit chain head in the archive bucket (HOCBA_ARCHIVE_BUCKET, default "
        "hocba-archive) under anchors/<YYYY-MM-DD>/<schema>.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--schema", action="append", default=[], help="limit to these school schemas")

    def handle(self, *args, schema: list[str], **options):
        refused: dict[str, str] = {}
        try:
            written = anchors.audit_chain_anchor(schema or None)
        except archive.ArchiveNotLocked as exc:
            raise CommandError(str(exc)) from exc
        except anchors.AnchorRefused as exc:
            written, refused = exc.written, exc.refused
        bucket = archive.archive_bucket()
        for w in written:
            head = "empty chain" if w["last_id"] is None else f"entry {w['last_id']} {w['hash'][:16]}… at {w['at']}"
            self.stdout.write(f"s3://{bucket}/{w['key']}: {head}")
        for name, why in refused.items():
            self.stdout.write(f"{name}: NOT ANCHORED: {why}")
        self.stdout.write(f"{len(written)} anchor(s) written")
        if refused:
            raise CommandError(f"{len(refused)} school(s) not anchored: their audit chain does not hold")
