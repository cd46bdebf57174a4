"""School schemas: build the template once per migration head, replay its DDL per school, migrate many.

This module and the Celery task base are the only places that switch the connection's schema.

Provisioning replays the statements that migrating an empty template schema executed (captured once
per migration head and kept in ``SchemaTemplate``), inside the same transaction that writes the
school's public rows — a failure leaves neither a schema nor a row (DESIGN §3: 0.3 s per school at
2,000 schemas where migrations and ``clone_schema`` take 6–8 s).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import multiprocessing
import re
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from psycopg import sql

from .dbroles import SCHOOL_RESTRICTIONS, is_owner_connection
from .models import SchemaTemplate, School

log = logging.getLogger(__name__)

SCHEMA_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
RESERVED_SCHEMAS = {"public", "information_schema", settings.TENANT_TEMPLATE_SCHEMA}
_TEMPLATE_LOCK = 736_201  # advisory lock key for building the template


def validate_schema_name(name: str) -> None:
    if not SCHEMA_NAME_RE.match(name or "") or name.startswith("pg_") or name in RESERVED_SCHEMAS:
        raise DomainError(
            "schools.bad_schema_name",
            _(
                "Tên schema “%(name)s” không hợp lệ: chỉ gồm chữ thường không dấu, số và “_”, "
                "bắt đầu bằng chữ, 3–63 ký tự."
            ),
            params={"name": name},
            field="slug",
        )


@dataclass(frozen=True)
class Head:
    """The migrations a school schema must have applied: the tenant apps' leaves and all they depend on."""

    targets: tuple[tuple[str, str], ...]
    required: tuple[tuple[str, str], ...]
    source_hash: str = ""

    @property
    def digest(self) -> str:
        """Names and contents: a migration edited in place (or the SQL it loads) is a new head."""
        return hashlib.sha256((repr(self.required) + self.source_hash).encode()).hexdigest()[:32]


def _tenant_labels() -> set[str]:
    return {cfg.label for cfg in apps.get_app_configs() if cfg.name in settings.TENANT_APPS}


@functools.lru_cache(maxsize=1)
def migration_head() -> Head:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = _tenant_labels()
    targets = tuple(sorted(node for node in loader.graph.leaf_nodes() if node[0] in labels))
    required: set[tuple[str, str]] = set()
    for target in targets:
        required.update(loader.graph.forwards_plan(target))
    sources = hashlib.sha256()
    for app_label, name in sorted(required):
        if app_label not in labels:
            continue
        module = sys.modules[type(loader.graph.nodes[(app_label, name)]).__module__]
        path = Path(module.__file__)
        sources.update(path.read_bytes())
        for sql_file in sorted((path.parent.parent / "sql").glob(f"{name[:4]}_*.sql")):
            sources.update(sql_file.read_bytes())
    return Head(targets, tuple(sorted(required)), sources.hexdigest())


def _migrate_current_schema(head: Head, conn=None) -> None:
    executor = MigrationExecutor(conn or connection)
    targets = list(head.targets)
    plan = executor.migration_plan(targets)
    if plan:
        executor.migrate(targets, plan=plan)


def _enter(schema: str, conn=None) -> None:
    conn = conn or connection
    # The recorder table must be created in the school schema itself, not found in public.
    conn.set_schema(schema, include_public=False)
    MigrationRecorder(conn).ensure_schema()
    conn.set_schema(schema)


def _is_replayable(statement: str) -> bool:
    head = statement.lstrip().split(None, 2)
    if not head:
        return False
    word = head[0].upper()
    if word in {"SHOW", "BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"}:
        return False
    if word == "SET":
        return len(head) > 1 and head[1].upper() == "CONSTRAINTS"
    if word == "SELECT":
        return "setval(" in statement.lower()
    return True


def template_current():
    """The captured DDL for the current head, built on first use (and once for all processes).

    Building it needs the owner's login (``migrate_schools`` does it); the application only reads it."""
    head = migration_head()
    found = SchemaTemplate.objects.filter(head=head.digest).first()
    if found is not None:
        return found
    if not is_owner_connection():
        raise DomainError(
            "schools.template_missing",
            _("Cấu trúc dữ liệu cho trường mới chưa sẵn sàng; quản trị hệ thống cần chạy migrate_schools."),
        )
    template = settings.TENANT_TEMPLATE_SCHEMA
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TEMPLATE_LOCK])
        found = SchemaTemplate.objects.filter(head=head.digest).first()
        if found is not None:
            return found
        statements: list[str] = []

        def record(execute, sql_text, params, many, context):
            result = execute(sql_text, params, many, context)
            if _is_replayable(sql_text):
                batches = params if many else [params]
                for p in batches:
                    statements.append(connection.ops.compose_sql(sql_text, p) if p else sql_text)
            return result

        with connection.cursor() as cursor:
            ident = sql.Identifier(template).as_string(cursor.connection)
            cursor.execute(f"DROP SCHEMA IF EXISTS {ident} CASCADE; CREATE SCHEMA {ident}")
        try:
            with connection.execute_wrapper(record):
                _enter(template)
                _migrate_current_schema(head)
        finally:
            connection.set_schema_to_public()
        script = ";\n".join(s.rstrip().rstrip(";") for s in statements) + ";\n" + SCHOOL_RESTRICTIONS
        return SchemaTemplate.objects.create(head=head.digest, script=script, statements=len(statements))


def schema_create(schema_name: str) -> None:
    """Create and fill one school schema. Must run inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("schema_create must run inside transaction.atomic()")
    validate_schema_name(schema_name)
    head = migration_head().digest
    if not SchemaTemplate.objects.filter(head=head).exists():
        head = template_current().head
    with connection.cursor() as cursor:
        # Runs as the owner of the database objects, with the template's DDL only.
        cursor.execute("SELECT hocba_create_school_schema(%s, %s)", [schema_name, head])


def schema_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema_name])
        return cursor.fetchone() is not None


def schema_drop(schema_name: str) -> None:
    validate_schema_name(schema_name)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)).as_string(cursor.connection)
        )


# --- migrations across schools ------------------------------------------------------------------


def schemas_behind(schema_names: Iterable[str], head: Head | None = None, using: str = "default") -> list[str]:
    """The schemas missing any required migration: one indexed count per schema, no migration loading."""
    head = head or migration_head()
    values = ", ".join("(%s, %s)" for _ in head.required)
    params = [part for node in head.required for part in node]
    behind = []
    with connections[using].cursor() as cursor:
        for schema in schema_names:
            ident = sql.Identifier(schema).as_string(cursor.connection)
            try:
                with transaction.atomic(using=using):
                    cursor.execute(
                        f"SELECT count(DISTINCT (app, name)) FROM {ident}.django_migrations"
                        f" WHERE (app, name) IN ({values})",
                        params,
                    )
                    count = cursor.fetchone()[0]
            except Exception:  # the schema or its recorder table is missing: behind by definition
                count = -1
            if count != len(head.required):
                behind.append(schema)
    return behind


def migrate_one(schema_name: str, using: str = "default") -> tuple[str, str]:
    """Migrate one school schema to head in its own transaction; return (schema, error or '')."""
    head = migration_head()
    conn = connections[using]
    try:
        with transaction.atomic(using=using):
            _enter(schema_name, conn)
            _migrate_current_schema(head, conn)
            with conn.cursor() as cursor:
                cursor.execute(SCHOOL_RESTRICTIONS)
        error = ""
    except Exception as exc:  # reported on the board; the school stays on its old version
        log.exception("migrating %s failed", schema_name)
        error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.set_schema_to_public()
    School.objects.using(using).filter(schema_name=schema_name).update(
        schema_head="" if error else head.digest, schema_error=error, schema_checked_at=timezone.now()
    )
    return schema_name, error


def _worker_init() -> None:
    connections.close_all()


def migrate_schools(
    schema_names: list[str], *, workers: int = 2, progress: Callable[[int, int, str, str], None] | None = None
) -> dict[str, str]:
    """Migrate the given schemas in parallel processes; return {schema: error} for the failures."""
    failures: dict[str, str] = {}
    total = len(schema_names)
    if total == 0:
        return failures
    if workers <= 1 or total == 1:
        for i, schema in enumerate(schema_names, 1):
            _, error = migrate_one(schema)
            if error:
                failures[schema] = error
            if progress:
                progress(i, total, schema, error)
        return failures
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = [pool.submit(migrate_one, schema) for schema in schema_names]
        for i, future in enumerate(as_completed(futures), 1):
            schema, error = future.result()
            if error:
                failures[schema] = error
            if progress:
                progress(i, total, schema, error)
    return failures


def mark_checked(schema_names: Iterable[str], head: Head) -> None:
    School.objects.filter(schema_name__in=list(schema_names)).exclude(schema_head=head.digest, schema_error="").update(
        schema_head=head.digest, schema_error="", schema_checked_at=timezone.now()
    )
