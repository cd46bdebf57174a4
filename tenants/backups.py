"""Per-school backup and restore: a logical export of one school's schema, restored into a fresh one (issue 15).

Not ``pg_dump -n``, which reads the whole catalog (7.8 s and 500 MB per school at 2,000 schemas): each table of the
school's schema is copied out in primary-key order (``COPY … TO STDOUT``, text format, with the session's output
settings pinned so the same rows always give the same bytes), gzipped, and described in a manifest (``manifest.json``:
school, migration head, time, per table its columns, row count and SHA-256, the audit chain head and the latest
anchor). All tables are read in one REPEATABLE READ, READ ONLY transaction: one snapshot. The manifest is written
last; a backup without one is incomplete.

Where: the backup bucket (``HOCBA_BACKUP_BUCKET``, never the archive bucket: children's data in backups must expire),
with lifecycle expiry after ``HOCBA_BACKUP_RETENTION_DAYS`` and server-side encryption, under
``backups/<schema>/<YYYYMMDDTHHMMSSZ>/``; or a directory.

Restore, as the owner only, in ONE transaction: a fresh schema replayed from the template DDL
(``provisioning.schema_create``), user triggers disabled for the load only (no second audit chain written over the
restored one, no window guard refusing a locked year its own data), every table loaded verbatim (the audit table
too), sequences set, foreign keys checked, triggers back on; then verified — every table copied out again and its
row count and SHA-256 compared with the manifest, the audit chain recomputed in Python (``anchors.chain_check``) and
its head compared with the manifest and with the anchor read from the archive store — and only then the school row
switched to the new schema and its rollups reconciled. Until that commit the new schema is invisible to everyone
(the window guards find a school by ``schema_name``: a restored schema must not exist unregistered); any failure
rolls everything back, the fresh schema included. The old schema is left for the operator to drop, its USAGE
revoked from the application's role.

Public code never enters a school here: tables are named with their schema, like ``provisioning`` does, and the
chain and the rollups are read through ``perschool``."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError
from django.db import connection, connections, transaction
from django.utils import timezone
from hocba.env import runtime
from hocba.kernel import archive
from psycopg import sql

from . import anchors, perschool, provisioning
from .dbroles import BACKUP, WRITERS, is_owner_connection
from .models import School
from .rollups import rollup_set
from .services.audit import audit_record

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
PREFIX = "backups"
DEFAULT_BUCKET = "hocba-backup"
# django_migrations: the template replay writes it, the manifest keeps the head. schools_rollupoutbox: rollup deltas
# not yet drained, derived data — a restore recomputes the school's rollups from its tables (restore_school).
SKIP_TABLES = {"django_migrations", "schools_rollupoutbox"}
# The session's output settings pinned: the same rows give the same bytes whoever copies them out.
PINNED = (
    ("TimeZone", "UTC"),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
)
SPOOL = 32 * 1024 * 1024  # a table's data stays in memory up to this size, then goes to a temporary file
_TS_RE = re.compile(r"^\d{8}T\d{6}Z$")


class BackupError(RuntimeError):
    """A backup or a restore refused or failed; nothing was changed (the message says what was found)."""


def backup_bucket() -> str:
    """``HOCBA_BACKUP_BUCKET`` (default ``hocba-backup``): never the archive bucket."""
    return runtime("HOCBA_BACKUP_BUCKET", DEFAULT_BUCKET)


def retention_days() -> int:
    """``HOCBA_BACKUP_RETENTION_DAYS`` (default 35): backups expire (lifecycle rule on the bucket)."""
    return int(runtime("HOCBA_BACKUP_RETENTION_DAYS", "35"))


def schedule_enabled() -> bool:
    """``HOCBA_BACKUP_SCHEDULE`` (default on): the nightly backup of every school; ``off`` turns it off."""
    return runtime("HOCBA_BACKUP_SCHEDULE", "on").strip().lower() not in {"0", "off", "false", "no"}


# --- where backups go ----------------------------------------------------------------------------------------


class Store(Protocol):
    """Where one backup's files are: a directory or a prefix in the backup bucket."""

    @property
    def location(self) -> str: ...

    def put(self, name: str, fileobj) -> None: ...

    def get(self, name: str) -> bytes: ...


@dataclass
class DirStore:
    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def put(self, name: str, fileobj) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / name, "wb") as out:
            fileobj.seek(0)
            while chunk := fileobj.read(1 << 20):
                out.write(chunk)

    def get(self, name: str) -> bytes:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            raise BackupError(f"{self.path / name}: no such file") from None


@dataclass
class S3Store:
    client: Any
    bucket: str
    prefix: str

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def put(self, name: str, fileobj) -> None:
        fileobj.seek(0)
        self.client.upload_fileobj(
            fileobj, self.bucket, f"{self.prefix}/{name}", ExtraArgs={"ServerSideEncryption": "AES256"}
        )

    def get(self, name: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}")["Body"].read()
        except ClientError as exc:
            raise BackupError(f"s3://{self.bucket}/{self.prefix}/{name}: {exc.response['Error'].get('Code')}") from None


def refuse_archive_bucket(bucket: str) -> None:
    if bucket == archive.archive_bucket():
        raise BackupError(
            f"the backup bucket {bucket} is the archive bucket: backups (children's data that must expire) and the "
            "compliance-locked archive must be separate buckets; set HOCBA_BACKUP_BUCKET to another bucket"
        )


def ensure_backup_bucket(client, bucket: str) -> None:
    """Create the backup bucket when missing; (re)apply default encryption and the lifecycle expiry of ``backups/``.

    Refuses the archive bucket before touching anything."""
    refuse_archive_bucket(bucket)
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        region = client.meta.region_name
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        client.create_bucket(Bucket=bucket, **extra)
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "hocba-backups-expire",
                    "Filter": {"Prefix": f"{PREFIX}/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": retention_days()},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )


def store_for(target: str, schema: str, stamp: str, *, client=None) -> Store:
    """``s3`` → the backup bucket under ``backups/<schema>/<stamp>``; anything else a directory
    (``<dir>/<schema>/<stamp>``)."""
    if target == "s3":
        client = client or archive.archive_client()
        bucket = backup_bucket()
        ensure_backup_bucket(client, bucket)
        return S3Store(client, bucket, f"{PREFIX}/{schema}/{stamp}")
    return DirStore(Path(target) / schema / stamp)


def open_store(source: str, *, client=None) -> Store:
    """A backup to restore: a directory holding ``manifest.json``, ``s3://bucket/backups/…`` or a key
    ``backups/<schema>/<stamp>`` in the backup bucket."""
    path = Path(source)
    if path.is_dir():
        return DirStore(path)
    if source.startswith("s3://"):
        bucket, _, prefix = source[5:].partition("/")
    else:
        bucket, prefix = backup_bucket(), source
    prefix = prefix.strip("/")
    if prefix.endswith(MANIFEST):
        prefix = prefix[: -len(MANIFEST)].rstrip("/")
    parts = prefix.split("/")
    if len(parts) != 3 or parts[0] != PREFIX or not _TS_RE.match(parts[2]):
        raise BackupError(f"{source}: neither a backup directory nor a key backups/<schema>/<YYYYMMDDTHHMMSSZ>")
    refuse_archive_bucket(bucket)
    return S3Store(client or archive.archive_client(), bucket, prefix)


# --- the schema's tables, copied out ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    order_by: tuple[str, ...]


def _pin(cursor) -> None:
    for name, value in PINNED:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def school_tables(cursor, schema: str) -> list[Table]:
    """The schema's tables (but the migration records): columns in order, primary key (all columns without one)."""
    cursor.execute(
        """
        SELECT c.relname,
               array_agg(a.attname::text ORDER BY a.attnum),
               (SELECT array_agg(k.attname::text ORDER BY array_position(i.indkey::int2[], k.attnum))
                  FROM pg_index i JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY(i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisprimary)
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
         WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
         GROUP BY c.oid, c.relname
         ORDER BY c.relname
        """,
        [schema],
    )
    return [
        Table(name, tuple(columns), tuple(pk or columns))
        for name, columns, pk in cursor.fetchall()
        if name not in SKIP_TABLES
    ]


def _select(schema: str, table: Table) -> sql.Composed:
    return sql.SQL("COPY (SELECT {cols} FROM {schema}.{table} ORDER BY {order}) TO STDOUT").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, table.columns)),
        schema=sql.Identifier(schema),
        table=sql.Identifier(table.name),
        order=sql.SQL(", ").join(map(sql.Identifier, table.order_by)),
    )


@dataclass
class Copied:
    rows: int = 0
    sha256: str = ""
    size: int = 0
    packed: Any = None  # the gzipped data (a file object), when kept


def copy_out(cursor, schema: str, table: Table, *, keep: bool) -> Copied:
    """Copy a table out in a stable order: its row count and SHA-256 (and, with ``keep``, its data gzipped)."""
    digest, rows, size = hashlib.sha256(), 0, 0
    packed = tempfile.SpooledTemporaryFile(max_size=SPOOL) if keep else None
    zipped = gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=6, mtime=0) if keep else None
    raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
    with raw.copy(_select(schema, table).as_string(raw.connection)) as copy:
        for chunk in copy:
            data = bytes(chunk)
            digest.update(data)
            rows += data.count(b"\n")
            size += len(data)
            if zipped is not None:
                zipped.write(data)
    if zipped is not None:
        zipped.close()
    return Copied(rows, digest.hexdigest(), size, packed)


# --- backup -----------------------------------------------------------------------------------------------------


def find_school(slug_or_code: str) -> School:
    """The school by slug, MoET code or schema name; refuses an unknown or closed school."""
    school = (
        School.objects.filter(slug=slug_or_code).first()
        or School.objects.filter(moet_code=slug_or_code).first()
        or School.objects.filter(schema_name=slug_or_code).first()
    )
    if school is None:
        raise BackupError(f"no school with slug, MoET code or schema {slug_or_code!r}")
    if school.status != "active":
        raise BackupError(f"school {school.slug} ({school.moet_code}) is {school.status}: not backed up")
    return school


def _anchor_version(client, bucket: str, key: str) -> str | None:
    try:
        return client.head_object(Bucket=bucket, Key=key).get("VersionId")
    except ClientError:
        return None


def latest_anchor_ref(schema: str, *, client=None, today: dt.date | None = None) -> dict[str, Any] | None:
    """The school's latest anchor in the archive store (last 7 days) with its key and object version, or None."""
    client = client or archive.archive_client()
    bucket = archive.archive_bucket()
    today = today or timezone.localdate()
    for back in range(8):
        key = anchors.anchor_key(today - dt.timedelta(days=back), schema)
        body = archive.get_json(client, bucket, key)
        if body is not None:
            return {
                "bucket": bucket,
                "key": key,
                "version_id": _anchor_version(client, bucket, key),
                "last_id": body.get("last_id"),
                "hash": body.get("hash"),
                "anchored_at": body.get("anchored_at"),
            }
    return None


def _read_snapshot_begin(using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


# The connection the backups read through (settings: DATABASE_BACKUP_URL, or HOCBA_DB_BACKUP_USER/PASSWORD).
BACKUP_ALIAS = "backup"


def _may_read_for_backups(using: str) -> bool:
    """The login of ``using`` owns the platform (or is a superuser), or is in ``hocba_backup`` and not in the
    application's group."""
    if is_owner_connection(using):
        return True
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT rolname, pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = ANY(%s)",
            [[BACKUP, WRITERS]],
        )
        member = dict(cursor.fetchall())
    return bool(member.get(BACKUP)) and not member.get(WRITERS)


def backup_connection() -> str:
    """The connection alias a backup reads through: ``backup`` (the backups' own login, DATABASE_BACKUP_URL or
    HOCBA_DB_BACKUP_PASSWORD) when configured, else ``default``; either must be the owner's login or one granted the
    read-only role ``hocba_backup`` and not the application's group. Never the application's role (issue 15,
    conflict 4: back up as the owner or a read-only backup role; restore as the owner only). Refuses otherwise,
    naming what to set."""
    using = BACKUP_ALIAS if BACKUP_ALIAS in connections else "default"
    if _may_read_for_backups(using):
        return using
    user = connections[using].settings_dict["USER"]
    if using == BACKUP_ALIAS:
        raise BackupError(
            f"the backups' login {user} must be granted {BACKUP} and not be in {WRITERS}: run db_roles with "
            f"HOCBA_DB_BACKUP_USER and HOCBA_DB_BACKUP_PASSWORD, or GRANT {BACKUP} TO {user}"
        )
    raise BackupError(
        f"backups read as a login granted the read-only role {BACKUP} (or as the owner), never as the application's "
        f"role ({user}): set DATABASE_BACKUP_URL, or HOCBA_DB_BACKUP_PASSWORD (db_roles creates the login "
        "HOCBA_DB_BACKUP_USER with it)"
    )


def backup_school(
    school: School,
    target: str = "s3",
    *,
    client=None,
    archive_client=None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    use_archive: bool = True,
    using: str = "default",
) -> dict[str, Any]:
    """Export one school to ``target`` (``s3`` or a directory); return the manifest written (with ``location``).

    ``using``: the connection the tables are read through (``backup_connection()``: the backup login or the owner).
    ``use_archive=False``: the latest anchor is not looked up (the benchmark, which has no archive store)."""
    if school.status != "active":
        raise BackupError(f"school {school.slug} ({school.moet_code}) is {school.status}: not backed up")
    schema = school.schema_name
    now = (now or timezone.now()).astimezone(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    store = store_for(target, schema, stamp, client=client)
    anchor = None
    try:
        anchor = latest_anchor_ref(schema, client=archive_client or client) if use_archive else None
    except Exception as exc:  # the archive store unreachable: the backup is still worth taking
        log.warning("backup of %s: latest anchor not read (%s)", schema, exc)
    tables: dict[str, Any] = {}
    outer = connections[using].in_atomic_block
    with transaction.atomic(using=using):
        if not outer:
            _read_snapshot_begin(using)
        with connections[using].cursor() as cursor:
            _pin(cursor)
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            if cursor.fetchone() is None:
                raise BackupError(f"school {school.slug}: schema {schema} does not exist")
            cursor.execute(
                sql.SQL("SELECT app, name FROM {}.django_migrations ORDER BY app, name")
                .format(sql.Identifier(schema))
                .as_string(cursor.connection)
            )
            migrations = [f"{app}.{name}" for app, name in cursor.fetchall()]
            cursor.execute(
                sql.SQL("SELECT id, hash FROM {}.schools_auditentry ORDER BY id DESC LIMIT 1")
                .format(sql.Identifier(schema))
                .as_string(cursor.connection)
            )
            last = cursor.fetchone()
            for table in school_tables(cursor, schema):
                copied = copy_out(cursor, schema, table, keep=True)
                name = f"{table.name}.copy.gz"
                store.put(name, copied.packed)
                copied.packed.close()
                tables[table.name] = {
                    "file": name,
                    "columns": list(table.columns),
                    "order_by": list(table.order_by),
                    "rows": copied.rows,
                    "bytes": copied.size,
                    "sha256": copied.sha256,
                }
                if progress:
                    progress(f"{table.name}: {copied.rows} rows")
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
    head = provisioning.migration_head()
    manifest = {
        "format": FORMAT,
        "school": {"id": school.pk, "slug": school.slug, "moet_code": school.moet_code, "schema": schema},
        "migration_head": head.digest,
        "migrations": migrations,
        "taken_at": now.isoformat(),
        "postgres": server,
        "tables": tables,
        "audit_head": {"last_id": last[0], "hash": last[1]} if last else {"last_id": None, "hash": None},
        "anchor": anchor,
    }
    store.put(MANIFEST, io.BytesIO(json.dumps(manifest, ensure_ascii=False, indent=1).encode()))
    return {**manifest, "location": store.location}


# --- restore ----------------------------------------------------------------------------------------------------


@dataclass
class Restored:
    school_id: int
    slug: str
    old_schema: str
    new_schema: str
    tables: int
    rows: int
    audit_head: dict[str, Any]
    anchor: str
    warnings: list[str] = field(default_factory=list)


def read_manifest(store: Store) -> dict[str, Any]:
    try:
        manifest = json.loads(store.get(MANIFEST))
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{store.location}/{MANIFEST}: not a readable manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{store.location}: backup format {manifest.get('format')!r}, this version reads {FORMAT}")
    return manifest


def _table_data(store: Store, name: str, meta: dict[str, Any]) -> bytes:
    """A table's data, its row count and SHA-256 checked against the manifest before anything is loaded."""
    try:
        data = gzip.decompress(store.get(meta["file"]))
    except (OSError, EOFError) as exc:
        raise BackupError(f"table {name}: its file {meta['file']} is damaged ({exc})") from None
    if hashlib.sha256(data).hexdigest() != meta["sha256"] or data.count(b"\n") != meta["rows"]:
        raise BackupError(
            f"table {name}: its data does not match the manifest (SHA-256 or row count differs): the backup was "
            "changed or damaged; nothing restored"
        )
    return data


def _sequences(cursor, schema: str) -> list[tuple[str, str, str]]:
    cursor.execute(
        """
        SELECT s.relname, t.relname, a.attname
          FROM pg_class s
          JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND s.relnamespace = %s::regnamespace
        """,
        [schema],
    )
    return cursor.fetchall()


def _x(cursor, statement: sql.Composable, params=None) -> None:
    cursor.execute(statement.as_string(cursor.connection), params)


def _anchor_from_archive(ref: dict[str, Any], client) -> dict[str, Any]:
    """The anchor the manifest names, read again from the archive store (the manifest is not trusted for it)."""
    extra = {"VersionId": ref["version_id"]} if ref.get("version_id") else {}
    try:
        body = json.loads(client.get_object(Bucket=ref["bucket"], Key=ref["key"], **extra)["Body"].read())
    except ClientError as exc:
        raise BackupError(
            f"the anchor {ref['key']} named in the manifest is not in the archive store "
            f"({exc.response['Error'].get('Code')}); nothing restored"
        ) from None
    if (body.get("last_id"), body.get("hash")) != (ref.get("last_id"), ref.get("hash")):
        raise BackupError(
            f"the manifest's anchor ({ref.get('last_id')}, {str(ref.get('hash'))[:16]}…) is not the one in the archive "
            f"store ({body.get('last_id')}, {str(body.get('hash'))[:16]}…): the manifest was changed; nothing restored"
        )
    return body


def restore_school(
    source: str,
    new_schema: str,
    *,
    client=None,
    archive_client=None,
    progress: Callable[[str], None] | None = None,
    use_archive: bool = True,
) -> Restored:
    """Restore a backup into the fresh schema ``new_schema``, verify it, switch the school to it (see the module).

    ``use_archive=False`` (the benchmark): a backup that names an anchor is refused; the latest anchor is not read."""
    say = progress or (lambda _line: None)
    if not is_owner_connection():
        raise BackupError("a restore runs with the owner's login only (HOCBA_DB_ROLE=owner)")
    provisioning.validate_schema_name(new_schema)
    if provisioning.schema_exists(new_schema) or School.objects.filter(schema_name=new_schema).exists():
        raise BackupError(f"schema {new_schema} exists already: a restore goes into a fresh schema only")
    store = open_store(source, client=client)
    manifest = read_manifest(store)
    info = manifest.get("school") or {}
    school = School.objects.filter(pk=info.get("id"), slug=info.get("slug")).first()
    if school is None:
        raise BackupError(f"the backup's school {info.get('slug')} (id {info.get('id')}) is not on this platform")
    head = provisioning.migration_head()
    if manifest.get("migration_head") != head.digest:
        raise BackupError(
            f"the backup was taken at migration head {manifest.get('migration_head')}, this version's head is "
            f"{head.digest}: restore with the version that took it, then migrate"
        )
    tables_meta: dict[str, dict[str, Any]] = manifest.get("tables") or {}
    data = {name: _table_data(store, name, meta) for name, meta in sorted(tables_meta.items())}
    say(f"{len(data)} table files match the manifest")
    if manifest.get("anchor") and not use_archive:
        raise BackupError("the backup names an anchor: the archive store is needed to check it")
    archive_client = (archive_client or client or archive.archive_client()) if use_archive else None
    anchor_body = _anchor_from_archive(manifest["anchor"], archive_client) if manifest.get("anchor") else None
    old_schema = school.schema_name
    warnings: list[str] = []
    with transaction.atomic():
        provisioning.schema_create(new_schema)
        with connection.cursor() as cursor:
            _pin(cursor)
            fresh = {t.name: t for t in school_tables(cursor, new_schema)}
            if set(fresh) != set(tables_meta):
                raise BackupError(
                    f"the backup's tables differ from the fresh schema's: missing {sorted(set(fresh) - set(data))}, "
                    f"unknown {sorted(set(data) - set(fresh))}"
                )
            for name, meta in tables_meta.items():
                if list(fresh[name].columns) != list(meta["columns"]):
                    raise BackupError(f"table {name}: the backup's columns differ from the fresh schema's")
            s = sql.Identifier(new_schema)
            names = [sql.SQL("{}.{}").format(s, sql.Identifier(n)) for n in sorted(fresh)]
            # One round trip each way; DELETE, not TRUNCATE: the template's few rows (subjects, …) give way to the
            # backup's without new files for every table and index.
            _x(
                cursor,
                sql.SQL("; ").join(
                    [sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(q) for q in names]
                    + [sql.SQL("SET CONSTRAINTS ALL DEFERRED")]
                    + [sql.SQL("DELETE FROM {}").format(q) for q in names]
                ),
            )
            raw = cursor.cursor
            for name in sorted(fresh):
                statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
                    s, sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, tables_meta[name]["columns"]))
                )
                with raw.copy(statement.as_string(raw.connection)) as copy:
                    copy.write(data[name])
            for seq, table, column in _sequences(cursor, new_schema):
                _x(
                    cursor,
                    sql.SQL(
                        "SELECT setval({seq}, coalesce(max({col}), 1), max({col}) IS NOT NULL) FROM {s}.{t}"
                    ).format(
                        seq=sql.Literal(f'"{new_schema}"."{seq}"'),
                        col=sql.Identifier(column),
                        s=s,
                        t=sql.Identifier(table),
                    ),
                )
            _x(cursor, sql.SQL("SET CONSTRAINTS ALL IMMEDIATE"))  # foreign keys checked now, not at commit
            _x(cursor, sql.SQL("; ").join(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(q) for q in names))
            say(f"{sum(m['rows'] for m in tables_meta.values())} rows loaded into {new_schema}")
            # Verified from the restored schema itself: each table copied out again.
            for name in sorted(fresh):
                copied = copy_out(
                    cursor,
                    new_schema,
                    Table(name, fresh[name].columns, tuple(tables_meta[name]["order_by"])),
                    keep=False,
                )
                meta = tables_meta[name]
                if (copied.rows, copied.sha256) != (meta["rows"], meta["sha256"]):
                    raise BackupError(f"table {name}: the restored rows do not match the manifest; nothing switched")
        report = anchors.chain_check(new_schema, [anchor_body] if anchor_body else None)
        if report.broken is not None:
            raise BackupError("the restored audit chain is broken: " + anchors.broken_text(report.broken))
        got = report.head or {"last_id": None, "hash": None}
        want = manifest.get("audit_head") or {}
        if (got["last_id"], got["hash"]) != (want.get("last_id"), want.get("hash")):
            raise BackupError(
                f"the restored audit chain ends at entry {got['last_id']}, the manifest says {want.get('last_id')}: "
                "nothing switched"
            )
        for check in report.anchors:
            if check.status != "holds":
                raise BackupError(
                    f"the restored audit chain does not match the anchor {manifest['anchor']['key']} "
                    f"(entry {check.last_id}: {check.status}); nothing switched"
                )
        anchor_text = (
            f"anchor {manifest['anchor']['key']} (entry {manifest['anchor']['last_id']}) matches"
            if anchor_body
            else "no anchor in the backup"
        )
        latest = latest_anchor_ref(old_schema, client=archive_client) if use_archive else None
        if latest and latest.get("last_id") and (got["last_id"] or 0) < latest["last_id"]:
            warnings.append(
                f"the latest anchor {latest['key']} covers entries up to {latest['last_id']}; the backup ends at "
                f"{got['last_id']}: entries after it are not in this backup"
            )
        # The switch: the school row points at the restored schema, its rollups recomputed from it.
        School.objects.filter(pk=school.pk).update(
            schema_name=new_schema, schema_head=head.digest, schema_error="", schema_checked_at=timezone.now()
        )
        if provisioning.schema_exists(old_schema):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [WRITERS])
                if cursor.fetchone():
                    _x(
                        cursor,
                        sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(
                            sql.Identifier(old_schema), sql.Identifier(WRITERS)
                        ),
                    )
        for year_start, values in perschool.rollup_figures(new_schema).items():
            rollup_set(school_id=school.pk, year_start=year_start, values=values)
        audit_record(
            actor=None,
            action="school.restore",
            obj=school,
            before={"schema_name": old_schema},
            after={
                "schema_name": new_schema,
                "backup": store.location,
                "taken_at": manifest.get("taken_at"),
                "audit_head": got["last_id"],
            },
            school_id=school.pk,
        )
    return Restored(
        school.pk,
        school.slug,
        old_schema,
        new_schema,
        len(tables_meta),
        sum(m["rows"] for m in tables_meta.values()),
        got,
        anchor_text,
        warnings,
    )
