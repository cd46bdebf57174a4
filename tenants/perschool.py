"""The one crossing from public code into a school (DESIGN §2).

Public code (jobs, boards, the demo, the window API) asks a school a question through the functions below; each
enters the school's schema, calls ``schools/interface.py`` (plain data in and out) and puts the connection back
where it was, whatever happens. Nothing else on the public side imports school code; ``make lint`` enforces it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.db import connection
from django_tenants.utils import get_public_schema_name

from schools import interface

from .models import School
from .provisioning import validate_schema_name

T = TypeVar("T")


def run_in_school(schema_name: str, fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn`` inside the school's schema; afterwards the connection is back where it was, whatever happens: on public
    for a job, on the requesting school for a request served on a school's site."""
    validate_schema_name(schema_name)
    previous = connection.tenant
    connection.set_schema(schema_name)
    try:
        return fn(*args, **kwargs)
    finally:
        if previous.schema_name == get_public_schema_name():
            connection.set_schema_to_public()
        else:
            connection.set_tenant(previous)


def school_chunks(size: int = 200) -> Iterator[list[tuple[int, str]]]:
    """(id, schema) of the active schools in chunks, for jobs that fan out."""
    rows = list(School.objects.filter(status="active").order_by("pk").values_list("pk", "schema_name"))
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def unfinished_sheets(schema_name: str, *, year_start: int, category: str, grades: list[int]) -> list[dict]:
    return run_in_school(
        schema_name, interface.unfinished_sheets, year_start=year_start, category=category, grades=grades
    )


def ready_to_sign(schema_name: str, *, year_start: int, grades: list[int]) -> dict:
    return run_in_school(schema_name, interface.ready_to_sign, year_start=year_start, grades=grades)


def rollup_figures(schema_name: str) -> dict[int, dict[str, int]]:
    return run_in_school(schema_name, interface.rollup_figures)


def unknown_class_or_student_ids(
    schema_name: str, class_ids: list[int], student_ids: list[int]
) -> dict[str, list[int]]:
    return run_in_school(schema_name, interface.unknown_class_or_student_ids, class_ids, student_ids)


def audit_rows(schema_name: str, after_id: int, limit: int) -> list[tuple]:
    return run_in_school(schema_name, interface.audit_rows, after_id, limit)


def seed_demo(
    schema_name: str, *, school_id: int, levels: list[str], staff: dict[str, int | None], today: dt.date
) -> bool:
    return run_in_school(schema_name, interface.seed_demo, school_id=school_id, levels=levels, staff=staff, today=today)
