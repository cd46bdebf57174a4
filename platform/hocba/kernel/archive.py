"""The archive store: an S3-compatible bucket with versioning and Object Lock (DESIGN §8).

One client and one lock check for everything that must not be rewritten once written: the daily audit anchors now,
signed record books and their manifests next. A bucket without Object Lock is refused, never written to."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from django.conf import settings
from django.utils import timezone

from hocba.env import runtime

from . import metrics

DEFAULT_BUCKET = "hocba-archive"
_MISSING = ("404", "NoSuchBucket", "NotFound", "NoSuchKey")


class ArchiveNotLocked(RuntimeError):
    """The bucket exists without Object Lock: what is written there could be rewritten (DESIGN §8)."""


def archive_bucket() -> str:
    """``HOCBA_ARCHIVE_BUCKET`` (default ``hocba-archive``)."""
    return runtime("HOCBA_ARCHIVE_BUCKET", DEFAULT_BUCKET)


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


def ensure_locked_bucket(client, bucket: str) -> None:
    """Create the bucket with Object Lock when it is missing; refuse one that exists without it."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _MISSING:
            raise
        region = client.meta.region_name
        extra = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True, **extra)
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError:
        config = {}
    if config.get("ObjectLockEnabled") != "Enabled":
        raise ArchiveNotLocked(f"bucket {bucket} has no Object Lock; refusing to write there")


def put_locked_json(client, bucket: str, key: str, body: dict[str, Any], *, retention_days: int) -> None:
    """Write a JSON object, in COMPLIANCE mode for ``retention_days`` when that is above zero."""
    extra = {}
    if retention_days > 0:
        extra = {
            "ObjectLockMode": "COMPLIANCE",
            "ObjectLockRetainUntilDate": timezone.now() + dt.timedelta(days=retention_days),
        }
    data = json.dumps(body, ensure_ascii=False).encode()
    client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json", **extra)
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
