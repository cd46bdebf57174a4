"""Create schools from a CSV or XLSX with columns code,name,levels,unit_code,slug."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from hocba.kernel import context
from hocba.kernel.errors import DomainError

from tenants.services.schools import read_school_rows, schools_provision


class Command(BaseCommand):
    help = "Create every school listed in FILE (CSV or XLSX). A failing row is reported and leaves nothing behind."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"Không tìm thấy tệp / file not found: {file}")
        token = context.update(source="command")
        try:
            rows = read_school_rows(file)
            report = schools_provision(actor=None, rows=rows)
        except DomainError as exc:
            d = exc.as_dict()
            raise CommandError(f"{d['detail']} / {d['detail_en']}") from exc
        finally:
            context.reset(token)
        for row in report.rows:
            if row.ok:
                self.stdout.write(f"dòng {row.line}: {row.code} — đã tạo / created")
            else:
                self.stderr.write(f"dòng {row.line}: {row.code} — LỖI / ERROR: {row.message}")
        self.stdout.write(f"{report.created} created, {len(report.failed)} failed")
        if report.failed:
            raise CommandError(f"{len(report.failed)} dòng lỗi / rows failed")
