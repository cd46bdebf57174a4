"""The Celery task base for per-school work: the schema name is the task's first argument, and the task enters that
schema itself (DESIGN §3: a task never trusts the connection's current schema).

``SchoolTask`` is, with ``tenants.perschool``, one of the two places that switch the connection's schema. It checks
the name, enters the school (its schema, then public, on the search path), runs the task and puts the connection
back on public whatever happens, so that the worker's next task starts from public.

Every such task is acked late and given back to the queue when its worker dies (``reject_on_worker_lost``): it must
be safe to run twice (tenants.services.jobs makes a background job so).
"""

from __future__ import annotations

import re

from celery import Task
from django.db import connection

# A school's schema name (tenants.provisioning.SCHEMA_NAME_RE): checked again here, since a task's arguments come
# from the broker.
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
_NOT_SCHOOLS = frozenset({"public", "information_schema"})


def check_schema_name(name: object) -> str:
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name) or name.startswith("pg_") or name in _NOT_SCHOOLS:
        raise ValueError(f"not a school schema name: {name!r}")
    return name


class SchoolTask(Task):
    """A task run inside one school's schema: ``task.delay(schema_name, *args)``."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        if not args:
            raise TypeError(f"{self.name}: the school's schema name must be the first argument")
        schema_name = check_schema_name(args[0])
        connection.set_schema(schema_name)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            connection.set_schema_to_public()
