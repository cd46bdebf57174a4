"""One environment object: every setting that comes from outside is read here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parents[2]


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Env:
    debug: bool
    secret_key: str
    database_url: str
    redis_url: str
    s3_endpoint_url: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    base_domain: str
    port: int
    data_dir: Path
    mfa_key: str
    allowed_hosts: tuple[str, ...]
    email_host: str
    db_role: str
    database_app_url: str
    db_app_user: str
    db_app_password: str
    trusted_proxies: tuple[str, ...] = ()
    ssl_redirect: bool = True
    database_backup_url: str = ""
    db_backup_user: str = "hocba_backup_reader"
    db_backup_password: str = ""

    @classmethod
    def read(cls) -> Env:
        data_dir = Path(os.environ.get("HOCBA_DATA_DIR", REPO_ROOT / ".data"))
        return cls(
            debug=_bool(os.environ.get("HOCBA_DEBUG"), default=False),
            secret_key=os.environ.get("HOCBA_SECRET_KEY", ""),
            database_url=os.environ.get("DATABASE_URL", ""),
            redis_url=os.environ.get("REDIS_URL", ""),
            s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL", ""),
            s3_access_key=os.environ.get("S3_ACCESS_KEY_ID", "hocba"),
            s3_secret_key=os.environ.get("S3_SECRET_ACCESS_KEY", "hocba-secret"),
            s3_region=os.environ.get("S3_REGION", "ap-southeast-1"),
            base_domain=os.environ.get("HOCBA_BASE_DOMAIN", "hocba.localhost"),
            port=int(os.environ.get("HOCBA_PORT", "8000")),
            data_dir=data_dir,
            mfa_key=os.environ.get("HOCBA_MFA_KEY", ""),
            allowed_hosts=tuple(h for h in os.environ.get("HOCBA_ALLOWED_HOSTS", "").split(",") if h.strip()),
            email_host=os.environ.get("HOCBA_EMAIL_HOST", ""),
            db_role=os.environ.get("HOCBA_DB_ROLE", "app"),
            database_app_url=os.environ.get("DATABASE_APP_URL", ""),
            db_app_user=os.environ.get("HOCBA_DB_APP_USER", "hocba_app"),
            db_app_password=os.environ.get("HOCBA_DB_APP_PASSWORD", ""),
            # Addresses or CIDR ranges of the proxies in front (the ingress): only from these is X-Forwarded-For read.
            trusted_proxies=tuple(
                p.strip() for p in os.environ.get("HOCBA_TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            # Production only: redirect plain HTTP to HTTPS (off for a trial without TLS in front).
            ssl_redirect=_bool(os.environ.get("HOCBA_SSL_REDIRECT"), default=True),
            # The per-school backups' login, granted only the read-only role hocba_backup (tenants.dbroles).
            database_backup_url=os.environ.get("DATABASE_BACKUP_URL", ""),
            db_backup_user=os.environ.get("HOCBA_DB_BACKUP_USER", "hocba_backup_reader"),
            db_backup_password=os.environ.get("HOCBA_DB_BACKUP_PASSWORD", ""),
        )


def database_settings(url: str) -> dict:
    """Turn ``postgresql://user:pass@host:port/name`` (or a socket dir in ``host=``) into Django's form."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {parsed.scheme!r}")
    query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
    host = unquote(parsed.hostname or "") or query.get("host", "")
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "hocba",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or query.get("port", "") or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # Parameters bound by the server, not quoted into the SQL text by psycopg: no Python-side quoting, and the
        # statements a process repeats (every request's) are prepared once per connection and not planned again.
        # A prepared statement follows search_path (tests/platform/test_search_path.py): one per school is not needed.
        "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
    }


def runtime(name: str, default: str = "") -> str:
    """A setting read when it is used, not at start-up (jobs' tunables: archive bucket, retention, reminder lead)."""
    return os.environ.get(name, default)


def _days(name: str, default: int) -> int:
    value = runtime(name, str(default)).strip() or str(default)
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, got {value!r}") from None
    if days < 1:
        raise ValueError(f"{name} must be at least 1 day, got {days}")
    return days


@dataclass(frozen=True)
class ArchiveSettings:
    """The archive store's tunables (DESIGN §8), read when used (jobs and tests change them without a restart):
    ``HOCBA_ARCHIVE_BUCKET`` (default ``hocba-archive``; versioning and Object Lock required),
    ``HOCBA_RECORD_RETENTION_DAYS`` (signed record books, manifests, hand-overs: COMPLIANCE retention, default 7300
    — twenty years) and ``HOCBA_ANCHOR_RETENTION_DAYS`` (the daily audit anchors, default 3650). Whether a missing
    bucket may be created is not an environment value but a setting (``ARCHIVE_CREATE_BUCKET``: local and test only)."""

    bucket: str
    record_retention_days: int
    anchor_retention_days: int

    @classmethod
    def read(cls) -> ArchiveSettings:
        return cls(
            bucket=runtime("HOCBA_ARCHIVE_BUCKET", "").strip() or "hocba-archive",
            record_retention_days=_days("HOCBA_RECORD_RETENTION_DAYS", 7300),
            anchor_retention_days=_days("HOCBA_ANCHOR_RETENTION_DAYS", 3650),
        )


ROLLUP_MODES = ("inline", "outbox")


def rollup_mode() -> str:
    """``HOCBA_ROLLUP_MODE``: how school writes reach the public rollups (docs/operations.md §9.4). ``inline``
    (default): the school's row upserted in the write's own transaction; ``outbox``: deltas appended to the school's
    outbox table in that transaction and drained into the public rows by a worker within seconds."""
    value = runtime("HOCBA_ROLLUP_MODE", "").strip().lower() or "inline"
    if value not in ROLLUP_MODES:
        raise ValueError(f"HOCBA_ROLLUP_MODE must be one of {', '.join(ROLLUP_MODES)}, got {value!r}")
    return value


# prometheus_client's own variable: set, the process and its children share counters through files in that folder
# (gunicorn's workers, Celery's pool). It must be set before prometheus_client is first imported.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir() -> str:
    """The multiprocess metrics folder of this process ('' when metrics are per process)."""
    return os.environ.get(METRICS_DIR_VARIABLE, "")


def use_metrics_dir(default: str) -> str:
    """Turn on multiprocess metrics for this process and those it starts (``default`` unless one is set already);
    the folder is created. Call before anything imports prometheus_client (``hocba.gunicorn_conf``)."""
    path = os.environ.setdefault(METRICS_DIR_VARIABLE, default)
    Path(path).mkdir(parents=True, exist_ok=True)
    return path
