"""Create the application's database role and grant it exactly what it may do (run as the owner)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants import dbroles
from tenants.models import School


class Command(BaseCommand):
    help = "Create/refresh the application's database role and its privileges. Idempotent; run after migrations."

    def handle(self, *args, **options):
        if not dbroles.is_owner_connection():
            raise CommandError("db_roles must run with the owner's login (HOCBA_DB_ROLE=owner)")
        schemas = list(School.objects.values_list("schema_name", flat=True))
        with transaction.atomic():
            dbroles.ensure_roles(
                app_user=settings.DB_APP_USER,
                app_password=settings.DB_APP_PASSWORD,
                school_schemas=schemas + [settings.TENANT_TEMPLATE_SCHEMA],
                backup_user=settings.DB_BACKUP_USER,
                backup_password=settings.DB_BACKUP_PASSWORD,
            )
        backup = f"; {settings.DB_BACKUP_USER} in {dbroles.BACKUP}" if settings.DB_BACKUP_PASSWORD else ""
        self.stdout.write(
            f"roles ready: {settings.DB_APP_USER} in {dbroles.WRITERS}{backup}; {len(schemas)} school schemas"
        )
