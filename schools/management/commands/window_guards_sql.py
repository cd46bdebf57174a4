"""Write the window guards' triggers from their spec (schools/windowguards.py); with --check, exit 1 if it differs."""

import difflib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from schools import windowguards


class Command(BaseCommand):
    help = (
        "Write the open/lock window guards' triggers in schools/sql/0003_windows.sql, below its hand-written "
        "function, from the spec in schools/windowguards.py; --check only compares and exits 1 when the file "
        "differs."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="write nothing; fail if the file is not what the spec generates"
        )
        parser.add_argument(
            "--path",
            type=Path,
            default=windowguards.SQL_PATH,
            help="the SQL file (default: schools/sql/0003_windows.sql)",
        )

    def handle(self, *args, check: bool, path: Path, **options):
        try:
            text = windowguards.render()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not check:
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {path}")
            return
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{path} (checked in)",
                tofile=f"{path} (generated)",
            )
            self.stderr.write("".join(diff))
            raise CommandError(
                f"{path} is not what schools/windowguards.py generates: "
                "edit the spec, not the generated triggers, and run manage.py window_guards_sql"
            )
        self.stdout.write(f"{path} is what schools/windowguards.py generates")
