"""Which apps migrate in which schema — on every connection alias that reaches the one database."""

from django.conf import settings
from django.db import connections
from django_tenants.routers import TenantSyncRouter


class SchemaRouter(TenantSyncRouter):
    # Listed first, before django-tenants' own router (which it requires in the list): it always
    # answers, so the stock router's "only the default alias" rule is never reached.
    """django-tenants' rule (shared apps in public, tenant apps in school schemas), applied to each
    alias of the database — the application's login and the owner's — not only to "default"."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db not in settings.DATABASES:
            return False
        connection = connections[db]
        apps_list = settings.SHARED_APPS if connection.schema_name == "public" else settings.TENANT_APPS
        return self.app_in_list(app_label, apps_list)
