"""Running school code from public code: the one module (with the Celery task base) that switches
the connection's schema. Everything it runs gets the school's schema and returns to public after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_in_school(schema_name: str, fn: Callable[..., T], *args, **kwargs) -> T:
    from .provisioning import validate_schema_name

    validate_schema_name(schema_name)
    connection.set_schema(schema_name)
    try:
        return fn(*args, **kwargs)
    finally:
        connection.set_schema_to_public()


def school_chunks(size: int = 200) -> Iterator[list[tuple[int, str]]]:
    """(id, schema) of the active schools in chunks, for jobs that fan out."""
    from .models import School

    rows = list(School.objects.filter(status="active").order_by("pk").values_list("pk", "schema_name"))
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
