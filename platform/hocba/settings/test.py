"""Test suite: real PostgreSQL (the configured one, else embedded), real Redis."""

import os

from hocba.dev.services import ensure_services

ensure_services()
# The test database is created and migrated with the owner's login; the session fixture then
# switches "default" to the application's role, and "owner" stays for the tests of DDL paths.
os.environ.setdefault("HOCBA_DB_ROLE", "owner")

from .base import *  # noqa: E402,F403

DEBUG = False
ARCHIVE_CREATE_BUCKET = True  # a missing archive bucket is made (with Object Lock) here, never in production
# A test database of its own per run, so that parallel runs on one server never meet.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
DATABASES["owner"] = {**DATABASES["default"]}  # noqa: F405
# Keys of this run only (used TOTP codes, rate limits) in a Redis that other runs share.
CACHES["default"]["KEY_PREFIX"] = f"hocba:test:{os.getpid()}"  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MFA_KEY = "test-mfa-key-kept-outside-the-database"
CELERY_TASK_ALWAYS_EAGER = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 — whitenoise looks here even when using finders
# The test PKI of the server tests' setup (``make_test_pki``), shared by parallel runs (issuing takes a lock; keys on
# disk are kept); the signing tests make their own in pytest's temporary directory.
HOCBA_TEST_PKI_DIR = ENV.data_dir / "test-pki"  # noqa: F405
# The board's slow figures are asked at every board: the tests change the schools' figures between two boards.
HOCBA_BOARD_KEEP_SECONDS = 0
