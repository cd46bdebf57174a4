"""The developer's settings plus ``bench.addcolumn`` among the school apps: ``migrate_addcolumn``'s new release."""

from hocba.settings.local import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "bench.addcolumn"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.addcolumn"]  # noqa: F405
# Its own template schema: the new head's template is captured there, the usual one stays as the old release left it.
TENANT_TEMPLATE_SCHEMA = "school_template_addcolumn"
