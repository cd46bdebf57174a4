"""School schemas: build the template once per migration head, replay its DDL per school, migrate many.

This module and the Celery task base are the only places that switch the connection's schema.

Provisioning replays the statements that migrating an empty template schema executed (captured once
per migration head and kept in ``SchemaTemplate``), inside the same transaction that writes the
school's public rows — a failure leaves neither a schema nor a row (DESIGN §3: 0.3 s per school at
2,000 schemas where migrations and ``clone_schema`` take 6–8 s).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
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
_MIGRATE_LOCK = 736_202  # advisory lock class for migrating one school (second key: hashtext of its schema)
_PR_SET_PDEATHSIG = 1


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


class _SchoolExecutor(MigrationExecutor):
    """Django's executor, with the project state before the plan rendered once per process and set of applied
    migrations: rendering every model took 0.28 of 0.33 s per school (profiled); the schools of one run almost all
    start from the same set, so each school gets a cheap clone (the migration mutates the clone only)."""

    _rendered: dict[tuple[bool, frozenset], object] = {}

    def _create_project_state(self, with_applied_migrations=False):
        key = (with_applied_migrations, frozenset(self.loader.applied_migrations))
        state = self._rendered.get(key)
        if state is None:
            state = super()._create_project_state(with_applied_migrations)
            state.apps  # noqa: B018 - render now, once
            self._rendered.clear()  # keep one: a run's schools share it
            self._rendered[key] = state
        return state.clone()


def _migrate_current_schema(head: Head, conn=None) -> None:
    executor = _SchoolExecutor(conn or connection)
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
    """Migrate one school schema to head in its own transaction; return (schema, error or '').

    The transaction first takes the school's advisory lock and only then reads what is applied: a second run
    that reaches the same school (a rerun while a killed run's transaction is still rolling back, two migration
    jobs) waits, then finds the school at head and applies nothing twice. A process killed mid-school leaves
    nothing: its transaction rolls back when its connection drops."""
    head = migration_head()
    conn = connections[using]
    try:
        with transaction.atomic(using=using):
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_MIGRATE_LOCK, schema_name])
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


class MigrationInterrupted(Exception):
    """The run was asked to stop (``stop()`` turned true, or a migration process died): each school handed out
    committed or rolled back as a whole; ``not_started`` (with any whose outcome was not reported) are left for the
    next run, which skips those already at head."""

    def __init__(self, failures: dict[str, str], not_started: list[str], reason: str):
        super().__init__(f"{reason}: {len(not_started)} school(s) not started")
        self.failures = failures
        self.not_started = not_started
        self.reason = reason


_WORKER = {"busy": False, "stop": False}  # per migration process (each is a fork of its own)


def _on_worker_signal(signum, frame) -> None:
    """SIGTERM/SIGINT in a migration process (sent to the process group, or by the pool to a broken one): idle, it
    exits at once; in a school, it finishes that school's transaction first and exits right after."""
    if not _WORKER["busy"]:
        os._exit(128 + signum)
    _WORKER["stop"] = True


def _worker_init() -> None:
    """In each migration process: no connection inherited; signals as ``_on_worker_signal``; if the parent dies,
    this process dies too (Linux) and its open transaction rolls back, instead of working on as an orphan."""
    connections.close_all()
    signal.signal(signal.SIGTERM, _on_worker_signal)
    signal.signal(signal.SIGINT, _on_worker_signal)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _migrate_in_worker(schema_name: str) -> tuple[str, str]:
    _WORKER["busy"] = True
    try:
        result = migrate_one(schema_name)
    finally:
        _WORKER["busy"] = False
    if _WORKER["stop"]:  # committed (or rolled back) and recorded; the parent sees a process gone
        connections.close_all()
        os._exit(128 + signal.SIGTERM)
    return result


def migrate_schools(
    schema_names: list[str],
    *,
    workers: int = 2,
    progress: Callable[[int, int, str, str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, str]:
    """Migrate the given schemas in parallel processes; return {schema: error} for the failures.

    Schools are handed out one at a time per worker, never queued ahead: once ``stop()`` is true no new school
    starts, the ones in hand finish (each is one transaction), and ``MigrationInterrupted`` names those never
    started."""
    failures: dict[str, str] = {}
    total = len(schema_names)
    pending = list(schema_names)
    stopping = stop or (lambda: False)
    if total == 0:
        return failures
    if workers <= 1 or total == 1:
        done = 0
        while pending and not stopping():
            schema = pending.pop(0)
            _, error = migrate_one(schema)
            done += 1
            if error:
                failures[schema] = error
            if progress:
                progress(done, total, schema, error)
        if pending:
            raise MigrationInterrupted(failures, pending, "stopped")
        return failures
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    reason = "stopped"
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        running: dict = {}
        done = 0
        try:
            while True:
                while pending and len(running) < workers and not stopping():
                    schema = pending.pop(0)
                    running[pool.submit(_migrate_in_worker, schema)] = schema
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    schema, error = future.result()
                    done += 1
                    if error:
                        failures[schema] = error
                    if progress:
                        progress(done, total, schema, error)
        except BrokenProcessPool:  # a process died: its school committed or rolled back; a rerun checks which
            reason = "stopped" if stopping() else "a migration process died"
            pending = [*running.values(), *pending]
    if pending:
        raise MigrationInterrupted(failures, pending, reason)
    return failures


def mark_checked(schema_names: Iterable[str], head: Head) -> None:
    School.objects.filter(schema_name__in=list(schema_names)).exclude(schema_head=head.digest, schema_error="").update(
        schema_head=head.digest, schema_error="", schema_checked_at=timezone.now()
    )
