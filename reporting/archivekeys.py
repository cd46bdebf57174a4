"""The archive store's key layout for signed books (DESIGN §8; issue 10, conflict 8): province / unit / school / year /
class, the tiers as of the archive date (``tenants.selectors.archive_path``), written once and never re-keyed. Pure
functions: the archive job builds every key here, the manifest records it.

    72/72-NL/80012345/2025-2026/6A1/<document uid>-v1.pdf      the sealed record book
    72/72-NL/80012345/2025-2026/6A1/<document uid>-v1.json     the record's data as signed
    72/72-NL/80012345/2025-2026/6A1/manifest-r1.json           the class's signed manifest, revision 1
    72/_/80098765/2025-2026/10A2/…                              a school directly under the province
"""

from __future__ import annotations

import re
import uuid

DIRECT = "_"  # the unit part of a school overseen by the province itself
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def segment(text: str) -> str:
    """One path segment: letters, digits, dot, dash and underscore kept, anything else (spaces, slashes,
    Vietnamese letters) folded to "-", no leading or trailing dot or dash; never empty."""
    cleaned = _UNSAFE.sub("-", text.strip()).strip("-.")
    if not cleaned:
        raise ValueError(f"{text!r} makes no key segment")
    return cleaned


def class_prefix(*, province_code: str, unit_code: str, school_code: str, year_start: int, class_name: str) -> str:
    """The folder of one class's year."""
    return "/".join(
        (
            segment(province_code),
            segment(unit_code) if unit_code else DIRECT,
            segment(school_code),
            f"{year_start}-{year_start + 1}",
            segment(class_name),
        )
    )


def document_key(prefix: str, uid: uuid.UUID, version: int, extension: str = "pdf") -> str:
    """A document's object (``pdf``) or its data (``json``) in the class's folder."""
    if extension not in ("pdf", "json"):
        raise ValueError(f"unexpected extension {extension!r}")
    return f"{prefix}/{uid}-v{version}.{extension}"


def manifest_key(prefix: str, revision: int) -> str:
    return f"{prefix}/manifest-r{revision}.json"
