"""Back up one school (or every active school) as a logical export: per-table data and a manifest (tenants.backups)."""

from django.core.management.base import BaseCommand, CommandError

from tenants import backups
from tenants.models import School


class Command(BaseCommand):
    help = (
        "Export one school's schema (per table, in primary-key order, with row counts and SHA-256 in a manifest) to "
        "the backup bucket (HOCBA_BACKUP_BUCKET, never the archive bucket) or a directory."
    )

    def add_arguments(self, parser):
        parser.add_argument("school", nargs="?", help="the school's slug, MoET code or schema name")
        parser.add_argument("--all", action="store_true", help="every active school, one after the other")
        parser.add_argument("--to", default="s3", help="'s3' (the backup bucket, the default) or a directory")

    def handle(self, *args, school: str | None, all: bool, to: str, **options):
        if bool(school) == bool(all):
            raise CommandError("name one school, or --all")
        try:
            schools = (
                list(School.objects.filter(status="active").order_by("pk")) if all else [backups.find_school(school)]
            )
            using = backups.backup_connection()  # the backup login or the owner, never the application's role
            for one in schools:
                manifest = backups.backup_school(one, to, using=using)
                rows = sum(t["rows"] for t in manifest["tables"].values())
                head = manifest["audit_head"]["last_id"]
                self.stdout.write(
                    f"{one.slug} ({one.schema_name}): {len(manifest['tables'])} tables, {rows} rows, audit head "
                    f"{head} -> {manifest['location']}"
                )
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from None
