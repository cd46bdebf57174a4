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
from psycopg import sql

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


def classes_without_monthly_update(schema_name: str, *, month: dt.date) -> dict:
    return run_in_school(schema_name, interface.classes_without_monthly_update, month=month)


def rollup_figures(schema_name: str) -> dict[int, dict[str, int]]:
    return run_in_school(schema_name, interface.rollup_figures)


def students_day_due(schema_name: str, *, after: dt.date | None) -> bool:
    return run_in_school(schema_name, interface.students_day_due, after)


def students_day_moves(schema_name: str, *, school_id: int, after: dt.date) -> dict[int, int]:
    return run_in_school(schema_name, interface.students_day_moves, school_id=school_id, after=after)


def class_rollups_refresh(schema_name: str, *, school_id: int) -> dict:
    return run_in_school(schema_name, interface.class_rollups_refresh, school_id=school_id)


def edits_after_approval(schema_name: str, *, after_id: int, limit: int) -> dict:
    return run_in_school(schema_name, interface.edits_after_approval, after_id=after_id, limit=limit)


def rollup_outbox_take(schema_name: str) -> dict:
    return run_in_school(schema_name, interface.rollup_outbox_take)


def rollup_figures_clearing_outbox(schema_name: str) -> dict:
    return run_in_school(schema_name, interface.rollup_figures_clearing_outbox)


def result_distributions(schema_name: str) -> dict:
    return run_in_school(schema_name, interface.result_distributions)


def schemas_with_outbox_rows(schema_names: list[str]) -> list[str]:
    """The schemas among ``schema_names`` whose rollup outbox holds rows: one query for the lot (an EXISTS per
    schema, each an index-free look at a table of a few rows), without entering any of them. Callers pass chunks
    (``school_chunks``): each schema's table is locked for reading until the end of the transaction."""
    if not schema_names:
        return []
    for name in schema_names:
        validate_schema_name(name)
    table = sql.Identifier(interface.ROLLUP_OUTBOX_TABLE)
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} WHERE EXISTS (SELECT FROM {}.{})").format(sql.Literal(name), sql.Identifier(name), table)
        for name in schema_names
    )
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        return [name for (name,) in cursor.fetchall()]


def unknown_class_or_student_ids(
    schema_name: str, class_ids: list[int], student_ids: list[int]
) -> dict[str, list[int]]:
    return run_in_school(schema_name, interface.unknown_class_or_student_ids, class_ids, student_ids)


def grant_class_choices(schema_name: str) -> list[tuple[int, str]]:
    return run_in_school(schema_name, interface.grant_class_choices)


def grant_targets(schema_name: str, *, class_ids: list[int], student_class_id: int | None, names: list[str]) -> dict:
    return run_in_school(schema_name, interface.grant_targets, class_ids, student_class_id, names)


def audit_rows(schema_name: str, after_id: int, limit: int) -> list[tuple]:
    return run_in_school(schema_name, interface.audit_rows, after_id, limit)


def seed_demo(
    schema_name: str, *, school_id: int, levels: list[str], staff: dict[str, int | None], today: dt.date
) -> bool:
    return run_in_school(schema_name, interface.seed_demo, school_id=school_id, levels=levels, staff=staff, today=today)
