"""The archive module (hocba.kernel.archive; issue 10, conflict 10): Object Lock checked as configuration and as the
request headers of each write (the emulator does not enforce retention, so the request itself is captured with a
botocore event hook), versions returned, buckets created only where the settings allow it, retention and bucket from
the environment object."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import uuid

import pytest
from django.utils import timezone
from hocba.env import ArchiveSettings
from hocba.kernel import archive, health


@pytest.fixture
def store(settings, monkeypatch):
    """An in-memory S3 (moto), a fresh bucket name; the test decides whether the bucket exists and has Object Lock."""
    from moto import mock_aws

    settings.S3_ENDPOINT_URL, settings.S3_REGION = None, "us-east-1"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "testing", "testing"
    name = f"records-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", name)
    with mock_aws():
        yield archive.archive_client(), name


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def capture(client, operation: str) -> list[dict[str, str]]:
    """The headers of each ``operation`` request as sent (after signing), appended as they go."""
    sent: list[dict[str, str]] = []
    client.meta.events.register(
        f"before-send.s3.{operation}",
        lambda request, **kw: sent.append({k.lower(): _text(v) for k, v in request.headers.items()}),
    )
    return sent


def test_put_locked_bytes_sends_compliance_lock_retention_and_checksum_and_returns_the_version(store):
    client, name = store
    archive.ensure_locked_bucket(client, name)
    sent = capture(client, "PutObject")
    data = b"%PDF-1.7\n% signed record book\n"
    before = timezone.now()
    first = archive.put_locked_bytes(client, name, "72/99-AT/99000001/2025/6A1/a.pdf", data, retention_days=7300)
    second = archive.put_locked_bytes(client, name, "72/99-AT/99000001/2025/6A1/a.pdf", data, retention_days=7300)
    assert first and second and first != second  # each write is a version of its own; none replaces another
    headers = sent[0]
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    until = dt.datetime.fromisoformat(headers["x-amz-object-lock-retain-until-date"].replace("Z", "+00:00"))
    expected = before + dt.timedelta(days=7300)
    assert abs((until - expected).total_seconds()) < 120
    assert headers["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert headers["x-amz-meta-sha256"] == hashlib.sha256(data).hexdigest()
    assert headers["content-type"] == "application/pdf"
    got = client.get_object(Bucket=name, Key="72/99-AT/99000001/2025/6A1/a.pdf", VersionId=first)
    assert got["Body"].read() == data and got["ObjectLockMode"] == "COMPLIANCE"


def test_a_signed_document_is_never_written_without_retention(store):
    client, name = store
    archive.ensure_locked_bucket(client, name)
    with pytest.raises(ValueError):
        archive.put_locked_bytes(client, name, "a.pdf", b"%PDF-", retention_days=0)


def test_the_bucket_lock_is_checked_as_configuration(store):
    client, name = store
    client.create_bucket(Bucket=name)  # no Object Lock
    with pytest.raises(archive.ArchiveNotLocked, match="no Object Lock"):
        archive.ensure_locked_bucket(client, name)
    locked = name + "-locked"
    client.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    assert archive.ensure_locked_bucket(client, locked)["ObjectLockEnabled"] == "Enabled"


def test_a_missing_bucket_is_created_only_where_the_settings_allow(store, settings, caplog):
    client, name = store
    settings.ARCHIVE_CREATE_BUCKET = False  # production
    with caplog.at_level(logging.ERROR, logger="hocba.kernel.archive"), pytest.raises(archive.ArchiveNotLocked):
        archive.ensure_locked_bucket(client, name)
    assert any("not created in this environment" in r.getMessage() for r in caplog.records)
    assert name not in [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert health.check_archive_at_start() is False  # the worker says so at start and keeps running
    settings.ARCHIVE_CREATE_BUCKET = True  # local and test settings
    assert health.check_archive_at_start() is True
    assert (
        client.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    )


def test_bucket_and_retention_come_from_the_environment_object(monkeypatch):
    monkeypatch.setenv("HOCBA_ARCHIVE_BUCKET", "hocba-tay-ninh-archive")
    monkeypatch.setenv("HOCBA_RECORD_RETENTION_DAYS", "9125")
    monkeypatch.delenv("HOCBA_ANCHOR_RETENTION_DAYS", raising=False)
    assert ArchiveSettings.read() == ArchiveSettings("hocba-tay-ninh-archive", 9125, 3650)
    assert (archive.archive_bucket(), archive.record_retention_days()) == ("hocba-tay-ninh-archive", 9125)
    for bad in ("0", "-3", "mười năm"):
        monkeypatch.setenv("HOCBA_RECORD_RETENTION_DAYS", bad)
        with pytest.raises(ValueError, match="HOCBA_RECORD_RETENTION_DAYS"):
            ArchiveSettings.read()


def test_production_settings_never_create_a_bucket():
    from hocba.settings import base

    assert base.ARCHIVE_CREATE_BUCKET is False
    text = archive.__file__.rsplit("/kernel/", 1)[0] + "/settings/production.py"
    with open(text, encoding="utf-8") as source:
        assert "ARCHIVE_CREATE_BUCKET = False" in source.read()
