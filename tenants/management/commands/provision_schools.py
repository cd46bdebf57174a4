"""Create schools from a CSV or XLSX with columns code,name,levels,unit_code,slug: all of them or none."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from hocba.kernel import context
from hocba.kernel.errors import DomainError

from tenants.services.schools import RowStatus, read_school_rows, schools_provision

SAID = {
    RowStatus.CREATED: "đã tạo / created",
    RowStatus.WOULD_CREATE: "sẽ được tạo / would be created",
    RowStatus.HELD: "hợp lệ, chưa tạo / valid, not created",
}


class Command(BaseCommand):
    help = (
        "Create every school listed in FILE (CSV or XLSX). The whole file is checked first; if any row fails, "
        "nothing is created (unless --create-valid). --dry-run only checks."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; create nothing")
        parser.add_argument("--create-valid", action="store_true", help="create the valid rows even if other rows fail")

    def handle(self, *args, file: Path, dry_run: bool = False, create_valid: bool = False, **options):
        if not file.exists():
            raise CommandError(f"Không tìm thấy tệp / file not found: {file}")
        token = context.update(source="command")
        try:
            rows = read_school_rows(file)
            report = schools_provision(actor=None, rows=rows, dry_run=dry_run, create_valid=create_valid)
        except DomainError as exc:
            d = exc.as_dict()
            raise CommandError(f"{d['detail']} / {d['detail_en']}") from exc
        finally:
            context.reset(token)
        for row in report.rows:
            if row.ok:
                self.stdout.write(f"dòng {row.line}: {row.code} — {SAID[row.status]}")
            else:
                self.stderr.write(f"dòng {row.line}: {row.code} — LỖI / ERROR: {row.message}")
        if dry_run:
            self.stdout.write(f"dry run: {report.would_create} would be created, {len(report.failed)} failed")
        else:
            self.stdout.write(f"{report.created} created, {len(report.failed)} failed")
        if report.failed:
            raise CommandError(f"{len(report.failed)} dòng lỗi / rows failed")
