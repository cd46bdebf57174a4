"""The province's figures for a national rollup: counts from the public rollup tables only, as JSON Lines.

One consistent read (a read-only ``REPEATABLE READ`` transaction) of the year's ``SchoolRollup`` rows, the schools
and their unit chain on a day. No person, student or account: the only identifiers are MoET school codes and the
units' official codes. The last line carries the number of schools and the SHA-256 of every line before it, so the
national side can check that a file arrived whole (docs/operations.md §10).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from hocba.kernel.text import nfc

from .models import School, SchoolRollup
from .selectors import school_placements_on, today, unit_tree_on

FORMAT = "hocba.rollup"
VERSION = 1
FIGURES = (
    "students",
    "records_draft",
    "records_submitted",
    "records_approved",
    "records_signed",
    "records_locked",
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "absences",
)


def _line(obj: dict) -> str:
    return json.dumps(nfc(obj), ensure_ascii=False, sort_keys=False, separators=(",", ":"))


def _time(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def rollup_lines(year_start: int, day: dt.date | None = None) -> Iterator[str]:
    """Every line of the export, header first and trailer last (a constant number of queries)."""
    day = day or today()
    nested = connection.in_atomic_block  # inside a caller's transaction, its snapshot is the one read
    with transaction.atomic():
        if not nested:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tree = unit_tree_on(day)
        placements = school_placements_on(day)
        rollups = {
            r["school_id"]: r
            for r in SchoolRollup.objects.filter(year_start=year_start).values(
                "school_id", *FIGURES, "updated_at", "reconciled_at"
            )
        }
        schools = list(
            School.objects.exclude(schema_name="public")
            .order_by("moet_code")
            .values("id", "moet_code", "name", "levels", "status", "closed_on")
        )
    provinces = sorted(n.official_code for n in tree.roots())
    digest = hashlib.sha256()

    def emit(obj: dict) -> str:
        text = _line(obj)
        digest.update(text.encode() + b"\n")
        return text

    yield emit(
        {
            "kind": FORMAT,
            "version": VERSION,
            "province_codes": provinces,
            "base_domain": settings.BASE_DOMAIN,
            "year_start": year_start,
            "as_of": day.isoformat(),
            "generated_at": _time(timezone.now()),
        }
    )
    for school in schools:
        unit_id = placements.get(school["id"])
        chain = (
            [tree.nodes[u].official_code for u in [unit_id, *tree.ancestors(unit_id)]] if unit_id in tree.nodes else []
        )
        figures = rollups.get(school["id"], {})
        yield emit(
            {
                "moet_code": school["moet_code"],
                "name": school["name"],
                "levels": list(school["levels"]),
                "status": school["status"],
                "closed_on": school["closed_on"].isoformat() if school["closed_on"] else None,
                "unit_codes": chain,
                **{f: figures.get(f, 0) for f in FIGURES},
                "updated_at": _time(figures.get("updated_at")),
                "reconciled_at": _time(figures.get("reconciled_at")),
            }
        )
    yield _line({"kind": f"{FORMAT}.end", "schools": len(schools), "sha256": digest.hexdigest()})
