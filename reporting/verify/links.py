"""The QR link printed on every page of a signed document: ``<HOCBA_PUBLIC_URL>/xac-minh/<token>/``.

The renderer (``reporting.pdf``) prints whatever ``verify_url`` it is given, under the QR code and in it; whoever
renders a document for signing passes ``verification_url(document.token)``. The URL conf (``reporting.verify.urls``)
is built from the same ``PREFIX``, so the printed link and the page cannot drift apart (a test checks both)."""

from __future__ import annotations

import re

from django.conf import settings

PREFIX = "xac-minh/"
# ``RecordDocument.token``: secrets.token_urlsafe(32) — 43 characters of the URL-safe alphabet. Anything else is
# refused before the index is asked.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def verification_path(token: str = "") -> str:
    return f"/{PREFIX}{token}/" if token else f"/{PREFIX}"


def verification_url(token: str) -> str:
    """The absolute link of a document's verification (what the QR code holds)."""
    return f"{settings.HOCBA_PUBLIC_URL}{verification_path(token)}"


def token_shaped(token: str) -> bool:
    return bool(TOKEN_RE.fullmatch(token or ""))
