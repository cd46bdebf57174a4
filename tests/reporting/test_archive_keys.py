"""The archive key layout (reporting.archivekeys) and the tiers it is built from, as of the archive date
(tenants.selectors.archive_path; issue 10, conflict 8)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from reporting import archivekeys
from tenants.selectors.archive_path import ArchiveTiers, archive_tiers

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_keys_by_province_unit_school_year_class():
    prefix = archivekeys.class_prefix(
        province_code="72", unit_code="72-NL", school_code="80012345", year_start=2025, class_name="6A1"
    )
    assert prefix == "72/72-NL/80012345/2025-2026/6A1"
    assert archivekeys.document_key(prefix, UID, 2) == f"{prefix}/{UID}-v2.pdf"
    assert archivekeys.document_key(prefix, UID, 1, "json") == f"{prefix}/{UID}-v1.json"
    assert archivekeys.manifest_key(prefix, 3) == f"{prefix}/manifest-r3.json"
    direct = archivekeys.class_prefix(
        province_code="72", unit_code="", school_code="80098765", year_start=2025, class_name="10A2"
    )
    assert direct == "72/_/80098765/2025-2026/10A2"


@pytest.mark.parametrize("name,expected", [("6A1 (chiều)", "6A1-chi-u"), ("../6A1", "6A1"), ("a/b", "a-b")])
def test_a_segment_never_escapes_its_folder(name, expected):
    assert archivekeys.segment(name) == expected


@pytest.mark.parametrize("name", ["", "  ", "..", "/"])
def test_an_empty_segment_is_refused(name):
    with pytest.raises(ValueError):
        archivekeys.segment(name)


def test_the_tiers_are_those_of_the_archive_date(w):
    assert archive_tiers(school_id=w.school_a, day=dt.date(2026, 6, 1)) == ArchiveTiers("99", "99-AT", "99000001")
    with pytest.raises(ValueError):  # before the school was placed anywhere: no key is guessed
        archive_tiers(school_id=w.school_a, day=dt.date(2020, 1, 1))
