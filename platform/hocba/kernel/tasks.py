"""The Celery task base for per-school work: the schema travels as an argument and the task enters
it itself — a task never trusts the connection's current schema (DESIGN §3)."""

from __future__ import annotations

from celery import Task


class SchoolTask(Task):
    """``task.delay(schema_name, *ids)``: runs inside that school's schema, then returns to public."""

    abstract = True
    acks_late = True

    def __call__(self, schema_name: str, *args, **kwargs):
        from tenants.perschool import run_in_school

        return run_in_school(schema_name, super().__call__, *args, **kwargs)
