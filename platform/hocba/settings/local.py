"""Developer machine: ``make run``. Starts embedded services for whatever is not configured."""

from hocba.dev.services import ensure_services

ensure_services()

from .base import *  # noqa: E402,F403

DEBUG = True
ARCHIVE_CREATE_BUCKET = True  # a missing archive bucket is made (with Object Lock) here, never in production

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 — whitenoise looks here even when using finders
# The demo's test PKI (`manage.py make_test_pki`, a step of `make run`): under the data directory, never committed.
HOCBA_TEST_PKI_DIR = ENV.data_dir / "pki"  # noqa: F405
# The QR links of the PDFs made here lead to this machine's platform site (HOCBA_PUBLIC_URL overrides it).
HOCBA_PUBLIC_URL = runtime("HOCBA_PUBLIC_URL", "").strip().rstrip("/") or f"http://{BASE_DOMAIN}:{ENV.port}"  # noqa: F405
