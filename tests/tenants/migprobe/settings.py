"""The developer's settings with the probe app among the school apps (``test_migrate_interrupt``'s subprocesses)."""

from hocba.settings.local import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "tests.tenants.migprobe"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "tests.tenants.migprobe"]  # noqa: F405
