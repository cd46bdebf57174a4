"""What readiness checks: the database, Redis and the archive bucket's Object Lock (DESIGN §8, §9).

Liveness (``/healthz``) checks none of these: a database outage must not restart every web pod. Readiness
(``/readyz``) runs each check with a short bound and names what failed. The bucket is only read (its lock
configuration), never created: creating it is the archive writer's business (``archive.ensure_locked_bucket``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DatabaseError, connection

from . import archive

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 1.0  # seconds, connecting and answering
S3_TIMEOUT = 1.5  # connecting, and reading the answer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def as_dict(self) -> dict:
        """What the probe's answer shows: a failure's detail (addresses, bucket names) stays in the log."""
        data = {"name": self.name, "ok": self.ok, "ms": round(self.seconds * 1000, 1)}
        if self.detail and self.ok:
            data["detail"] = self.detail
        return data


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return ""


def check_redis() -> str:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return "not configured (in-process broker and cache)"
    client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return ""


@functools.lru_cache(maxsize=4)
def _probe_client(endpoint: str, region: str, key: str):
    """One S3 client per process and store (making one costs tens of milliseconds of CPU; the probe runs often)."""
    return archive.archive_client(
        config=Config(connect_timeout=S3_TIMEOUT, read_timeout=S3_TIMEOUT, retries={"max_attempts": 1})
    )


def lock_configuration(client=None, bucket: str | None = None) -> dict:
    """The archive bucket's Object Lock configuration; ArchiveNotLocked when the bucket has none (or is missing)."""
    bucket = bucket or archive.archive_bucket()
    client = client or _probe_client(settings.S3_ENDPOINT_URL or "", settings.S3_REGION, settings.S3_ACCESS_KEY_ID)
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise archive.ArchiveNotLocked(f"bucket {bucket}: no Object Lock configuration ({code})") from exc
    if config.get("ObjectLockEnabled") != "Enabled":
        raise archive.ArchiveNotLocked(f"bucket {bucket} has no Object Lock")
    return config


def check_archive() -> str:
    lock_configuration()
    return ""


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "archive": check_archive,
}
FAILURES = (DatabaseError, redis.RedisError, OSError, BotoCoreError, ClientError, archive.ArchiveNotLocked)


def run_checks(checks: dict[str, Callable[[], str]] | None = None) -> list[Check]:
    """Every check, each timed; a failure is caught and described, never raised."""
    results = []
    for name, func in (checks or CHECKS).items():
        started = time.perf_counter()
        try:
            detail, ok = func(), True
        except FAILURES as exc:
            detail, ok = (str(exc).strip().splitlines() or [type(exc).__name__])[0], False
            log.warning("readiness: %s failed: %s", name, detail)
        results.append(Check(name, ok, time.perf_counter() - started, detail))
    return results


def check_archive_at_start() -> bool:
    """A worker starting: say loudly when the archive bucket cannot hold anchors and signed books (it keeps running).
    Where the settings allow it (local and test: ``ARCHIVE_CREATE_BUCKET``) a missing bucket is created first, with
    Object Lock; elsewhere it is only checked."""
    try:
        if archive.may_create_bucket():
            archive.ensure_locked_bucket(
                _probe_client(settings.S3_ENDPOINT_URL or "", settings.S3_REGION, settings.S3_ACCESS_KEY_ID),
                archive.archive_bucket(),
            )
        config = lock_configuration()
    except FAILURES as exc:
        log.error(
            "ARCHIVE BUCKET NOT USABLE: %s — audit anchors and signed books will be refused until a bucket with "
            "Object Lock is configured (HOCBA_ARCHIVE_BUCKET)",
            exc,
        )
        return False
    rule = config.get("Rule", {}).get("DefaultRetention", {})
    log.info("archive bucket %s has Object Lock (default retention %s)", archive.archive_bucket(), rule or "none")
    return True
