"""The archive store: an S3-compatible bucket with versioning and Object Lock (DESIGN §8) — the one module for the
daily audit anchors, the signed record books, their manifests and hand-over bundles.

One client and one lock check for everything that must not be rewritten once written. The bucket and the retention
periods come from the environment object (``hocba.env.ArchiveSettings``: ``HOCBA_ARCHIVE_BUCKET``,
``HOCBA_RECORD_RETENTION_DAYS``, ``HOCBA_ANCHOR_RETENTION_DAYS``). A bucket without Object Lock is refused, never
written to; a missing bucket is created (with Object Lock) only where the settings allow it
(``ARCHIVE_CREATE_BUCKET``: local and test settings), never in production, where the refusal is logged. Readiness
and the worker's start check the bucket (``hocba.kernel.health``). Every object is written in COMPLIANCE mode with
its retention and its SHA-256 checksum (``put_locked_bytes``, ``put_locked_json``); the store keeps each version."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from typing import Any

import boto3
from botocore.exceptions import ClientError
from django.conf import settings
from django.utils import timezone

from hocba.env import ArchiveSettings

from . import metrics

DEFAULT_BUCKET = "hocba-archive"
_MISSING = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")
LOCK_MODE = "COMPLIANCE"
log = logging.getLogger(__name__)


class ArchiveNotLocked(RuntimeError):
    """The bucket exists without Object Lock (or without versioning), or is missing where it may not be created:
    what is written there could be rewritten or lost (DESIGN §8)."""


def archive_settings() -> ArchiveSettings:
    """The bucket and retention periods, as the environment says now."""
    return ArchiveSettings.read()


def archive_bucket() -> str:
    """``HOCBA_ARCHIVE_BUCKET`` (default ``hocba-archive``)."""
    return archive_settings().bucket


def record_retention_days() -> int:
    """``HOCBA_RECORD_RETENTION_DAYS`` (default 7300): how long a signed book, manifest or bundle stays locked."""
    return archive_settings().record_retention_days


def anchor_retention_days() -> int:
    """``HOCBA_ANCHOR_RETENTION_DAYS`` (default 3650): how long an audit anchor stays locked."""
    return archive_settings().anchor_retention_days


def archive_client(config=None):
    """``config``: a botocore ``Config`` (timeouts, retries), e.g. for the readiness check."""
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL or None,
        region_name=settings.S3_REGION or "us-east-1",
        aws_access_key_id=settings.S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY or None,
        config=config,
    )


def may_create_bucket() -> bool:
    """Whether a missing bucket is created here: the local and test settings only (``ARCHIVE_CREATE_BUCKET``)."""
    return bool(getattr(settings, "ARCHIVE_CREATE_BUCKET", False))


def ensure_locked_bucket(client, bucket: str, *, create: bool | None = None) -> dict:
    """The bucket's Object Lock configuration; refuse (``ArchiveNotLocked``) a bucket without Object Lock. A missing
    bucket is created with Object Lock when ``create`` (default: the settings' ``ARCHIVE_CREATE_BUCKET``), else
    refused and logged — production never creates one silently."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _MISSING:
            raise
        if not (may_create_bucket() if create is None else create):
            log.error(
                "archive bucket %s does not exist; it is not created in this environment: create it with versioning "
                "and Object Lock (COMPLIANCE) and set HOCBA_ARCHIVE_BUCKET",
                bucket,
            )
            raise ArchiveNotLocked(
                f"bucket {bucket} does not exist (not created here: ARCHIVE_CREATE_BUCKET off)"
            ) from exc
        region = client.meta.region_name
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True, **extra)
        log.info("archive bucket %s created with Object Lock", bucket)
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError:
        config = {}
    if config.get("ObjectLockEnabled") != "Enabled":
        raise ArchiveNotLocked(f"bucket {bucket} has no Object Lock; refusing to write there")
    return config


def lock_headers(retention_days: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """The put's Object Lock arguments: COMPLIANCE until ``retention_days`` from now (none when 0: the anchors'
    tests and the emulator's experiments only)."""
    if retention_days <= 0:
        return {}
    return {
        "ObjectLockMode": LOCK_MODE,
        "ObjectLockRetainUntilDate": (now or timezone.now()) + dt.timedelta(days=retention_days),
    }


def put_locked_bytes(
    client,
    bucket: str,
    key: str,
    data: bytes,
    *,
    retention_days: int,
    content_type: str = "application/pdf",
    metadata: dict[str, str] | None = None,
) -> str:
    """Write ``data`` at ``key`` in COMPLIANCE mode for ``retention_days`` (≥ 1), with its SHA-256 checksum (the store
    refuses bytes that do not match it), and return the new object version's id. A bucket that gives no version id
    (versioning off) is refused after the fact: the write could be overwritten."""
    if retention_days < 1:
        raise ValueError("a signed document is retained for at least one day")
    digest = hashlib.sha256(data).digest()
    response = client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(digest).decode(),
        Metadata={"sha256": digest.hex(), **(metadata or {})},
        **lock_headers(retention_days),
    )
    version = response.get("VersionId") or ""
    if not version or version == "null":
        raise ArchiveNotLocked(f"bucket {bucket} gave no object version for {key}: versioning is off")
    metrics.archive_written(bucket, len(data))
    return version


def put_locked_json(client, bucket: str, key: str, body: dict[str, Any], *, retention_days: int) -> None:
    """Write a JSON object, in COMPLIANCE mode for ``retention_days`` when that is above zero."""
    data = json.dumps(body, ensure_ascii=False).encode()
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json", **lock_headers(retention_days))
    metrics.archive_written(bucket, len(data))


def get_json(client, bucket: str, key: str) -> dict[str, Any] | None:
    """The JSON object at ``key``, or None when there is none."""
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _MISSING:
            raise
        return None
    return json.loads(body.read())
