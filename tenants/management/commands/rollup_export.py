"""``manage.py rollup_export --year 2025 [--date YYYY-MM-DD] [--out FILE | -]``: the province's rollup figures as
JSON Lines for a national collector (counts only; ``tenants.rollup_export``). A file is written whole or not at
all: to a temporary file beside it, renamed at the end."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from tenants.rollup_export import rollup_lines


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, not {text!r}", returncode=2) from exc


class Command(BaseCommand):
    help = "Export the year's per-school rollup figures (counts only) as JSON Lines with a checked trailer."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="the school year's first calendar year")
        parser.add_argument("--date", help="the unit tree and placements of this day (default: today)")
        parser.add_argument("--out", default="-", help="a file, or - for standard output")

    def handle(self, *args, year: int, date: str | None, out: str, **options):
        if not 2000 <= year <= 2100:
            raise CommandError(f"--year {year} is not a school year", returncode=2)
        day = _day(date) if date else None
        try:
            lines = list(rollup_lines(year, day))
        except DatabaseError as exc:
            raise CommandError(f"database error, nothing written: {exc}", returncode=1) from exc
        text = "".join(line + "\n" for line in lines)
        if out == "-":
            self.stdout.write(text, ending="")
            return
        target = Path(out)
        fd, tmp = tempfile.mkstemp(prefix=".rollup-", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stderr.write(f"{len(lines) - 2} schools written to {target}")
