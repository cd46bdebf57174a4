"""``manage.py rollup_export``: counts from the public rollups only, a header, one line per school sorted by MoET code
with its unit chain, and a trailer whose count and SHA-256 cover every line before it."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tenants.models import School, SchoolRollup
from tests.support import DAY

pytestmark = pytest.mark.django_db


def _export(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("rollup_export", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_export_is_counts_with_a_checked_trailer(world):
    SchoolRollup.objects.create(school_id=world.school_a, year_start=2025, students=312, records_approved=40, entries=9)
    lines = _export("--year", "2025", "--date", DAY.isoformat())
    header, *rows, trailer = (json.loads(line) for line in lines)
    assert header["kind"] == "hocba.rollup" and header["year_start"] == 2025 and header["as_of"] == DAY.isoformat()
    assert header["province_codes"] == ["99"]
    codes = [r["moet_code"] for r in rows]
    assert codes == sorted(codes) and {"99000001", "99000002"} <= set(codes)
    a = next(r for r in rows if r["moet_code"] == "99000001")
    assert (a["students"], a["records_approved"], a["entries"], a["records_signed"]) == (312, 40, 9, 0)
    assert a["unit_codes"] == ["99-AT", "99"] and a["updated_at"].endswith("Z")
    b = next(r for r in rows if r["moet_code"] == "99000002")
    assert b["students"] == 0 and b["updated_at"] is None and b["unit_codes"] == ["99-BM", "99"]
    body = "".join(line + "\n" for line in lines[:-1]).encode()
    assert trailer == {"kind": "hocba.rollup.end", "schools": len(rows), "sha256": hashlib.sha256(body).hexdigest()}
    assert len(rows) == School.objects.exclude(schema_name="public").count()


def test_counts_codes_and_names_of_schools_only(world):
    rows = [json.loads(line) for line in _export("--year", "2025")[1:-1]]
    allowed = {"moet_code", "name", "levels", "status", "closed_on", "unit_codes", "updated_at", "reconciled_at"}
    allowed |= {"students", "records_draft", "records_submitted", "records_approved", "records_signed"}
    allowed |= {"records_locked", "entries", "entries_term1", "entries_term2", "conduct_entries", "absences"}
    assert rows and all(set(r) == allowed for r in rows)


def test_a_file_is_written_whole(world, tmp_path):
    target = tmp_path / "rollup.jsonl"
    call_command("rollup_export", "--year", "2025", "--out", str(target), stderr=io.StringIO())
    lines = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["kind"] == "hocba.rollup.end"
    assert [p.name for p in tmp_path.iterdir()] == ["rollup.jsonl"]


@pytest.mark.parametrize("args", [["--year", "1999"], ["--year", "2025", "--date", "03/12/2026"]])
def test_bad_arguments_exit_2(world, args):
    with pytest.raises(CommandError) as info:
        call_command("rollup_export", *args)
    assert info.value.returncode == 2
