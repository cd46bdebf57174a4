"""Schools from a file, as a background job; and the file's template.

In the request (``schools_provision_start``) the upload is read and checked — its type, size and structure within the
kernel's limits for hostile files (``hocba.kernel.spreadsheets``), its columns, its number of rows — and a job is
queued with the file; nothing is created there. A file that cannot be read never makes a job. Every file is a job,
however short: one way to create schools, one result page, and a request that never waits on schema creation.

In the worker (``provision_schools_job``) the whole file is checked first, against the same rules as
``schools.school_create`` and the rest of the file (``schools._validate_rows``, a constant number of queries). Then:

* a file with refused rows creates nothing, unless the person chose to create the valid rows anyway: the refused
  rows say why, the valid ones are skipped (“Bỏ qua”) — as the page's form promises;
* otherwise each school is created in its own transaction (its public rows, its audit entry and its schema), with
  its row's outcome in that same transaction: the rows are independent, a school that fails (a code taken since the
  check, a database refusal) is reported and the others go on. Committing each school also frees its locks
  (about 360 per schema), so a job is not bound by the lock table as one all-or-nothing transaction is
  (``schools.max_schools_per_file``);
* a redelivered job (its worker died) resumes after the rows already recorded: a school is never created twice.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from hocba.env import runtime
from hocba.kernel.errors import DomainError, translate_db_error
from hocba.kernel.spreadsheets import (
    TITLE_FONT,
    XLSX_CONTENT_TYPE,
    check_upload_size,
    set_widths,
    style_header,
    xlsx_bytes,
)
from openpyxl import Workbook

from ..models import Account, RowOutcome
from ..selectors import Access, job_scope_unit, today, unit_tree_on
from ..selectors.tree import UnitNode
from .jobs import JobInfo, JobProgress, job_create, job_input, job_task
from .schools import COLUMNS, _validate_rows, read_school_rows, school_create
from .schools import RowOutcome as ProvisionRow

log = logging.getLogger(__name__)

JOB_KIND = "schools.provision"
CAPABILITY = "schools.manage"


def max_schools_per_job() -> int:
    """How many schools one file may create as a job (``HOCBA_PROVISION_JOB_MAX_SCHOOLS``, default 1,000): each
    school is its own transaction, so the bound is only the run's length (about 0.3 s a school)."""
    return max(1, int(runtime("HOCBA_PROVISION_JOB_MAX_SCHOOLS", "1000")))


def provision_rows_check(name: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The rows of an uploaded file, or the refusal of the whole file (nothing queued, nothing created)."""
    check_upload_size(len(content))
    rows = read_school_rows(name, content)
    if not rows:
        raise DomainError("provision.no_rows", _("Tệp không có dòng trường nào dưới hàng tiêu đề."))
    most = max_schools_per_job()
    if len(rows) > most:
        raise DomainError(
            "provision.too_many",
            _("Tệp có %(n)s trường; mỗi lần chỉ tạo tối đa %(max)s trường. Hãy chia thành nhiều tệp."),
            params={"n": len(rows), "max": most},
        )
    return rows


def schools_provision_start(
    *, actor: Account, access: Access, name: str, content: bytes, create_valid: bool, back_url: str = ""
) -> int:
    """Check the file and queue the job that creates its schools; returns the job's id."""
    rows = provision_rows_check(name, content)
    return job_create(
        kind=JOB_KIND,
        requested_by=actor,
        capability=CAPABILITY,
        unit_id=job_scope_unit(access, CAPABILITY),
        total=len(rows),
        input_name=name,
        input_data=content,
        params={"create_valid": bool(create_valid)},
        task=provision_schools_job,
        title=_("Tạo trường từ tệp"),
        back_url=back_url,
    )


def _key(row: ProvisionRow) -> str:
    if row.name and row.code:
        return f"{row.name} ({row.code})"
    return row.name or row.code or "—"


def _group(row: ProvisionRow, unit_id: int | None, nodes: dict[int, UnitNode]) -> str:
    node = nodes.get(unit_id) if unit_id else None
    return f"{node.name} ({node.official_code})" if node else row.unit_code


def _provision(job: JobInfo, progress: JobProgress) -> tuple[Any, dict[str, Any]]:
    actor = Account.objects.filter(pk=job.requested_by_id).first()
    if actor is None:
        raise DomainError("jobs.no_requester", _("Tài khoản yêu cầu việc này không còn tồn tại."))
    rows = read_school_rows(job.input_name, job_input(job.id))
    day = today()
    outcomes, unit_of = _validate_rows(actor, rows, day)
    nodes = unit_tree_on(day).nodes
    pending = [o for o in outcomes if o.line not in progress.recorded]
    refused = [o for o in pending if not o.ok]
    valid = [o for o in pending if o.ok]
    for o in refused:
        progress.row(
            o.line,
            key=_key(o),
            group=_group(o, None, nodes),
            outcome=RowOutcome.ERROR,
            message=o.text,
            params=o.params,
            data={"code": o.error_code},
        )
    if refused and not job.params.get("create_valid"):
        for o in valid:
            progress.row(
                o.line,
                key=_key(o),
                group=_group(o, unit_of[o.line].id, nodes),
                outcome=RowOutcome.SKIPPED,
                message=_("Hợp lệ, nhưng không tạo vì tệp có dòng lỗi (chưa chọn “Vẫn tạo các dòng hợp lệ”)."),
            )
        return (
            _("Có %(n)s dòng lỗi: chưa tạo trường nào. Hãy sửa tệp rồi tải lên lại."),
            {"n": len(refused)},
        )
    progress.flush()
    for o in valid:
        unit = unit_of[o.line]
        key, group = _key(o), _group(o, unit.id, nodes)
        try:
            with transaction.atomic():
                school = school_create(
                    actor=actor, code=o.code, name=o.name, levels=o.levels, unit=unit, slug=o.slug, on=day
                )
                progress.row(
                    o.line,
                    key=key,
                    group=group,
                    outcome=RowOutcome.CREATED,
                    message=_("Địa chỉ của trường: %(host)s"),
                    params={"host": f"{school.slug}.{settings.BASE_DOMAIN}"},
                    data={"school_id": school.pk},
                )
                progress.flush()  # the row commits with its school: a resumed job knows exactly what exists
        except DomainError as exc:
            progress.row(o.line, key=key, group=group, outcome=RowOutcome.ERROR, error=exc, data={"code": exc.code})
        except DatabaseError as exc:
            log.exception("job %s: creating %s failed", job.id, o.slug)
            refusal = translate_db_error(exc) or DomainError(
                "provision.failed", _("Không tạo được trường này (lỗi cơ sở dữ liệu).")
            )
            progress.row(o.line, key=key, group=group, outcome=RowOutcome.ERROR, error=refusal)
    if not progress.failed:
        return _("Đã tạo %(ok)s trường."), {"ok": progress.ok}
    return (
        _("Đã tạo %(ok)s trường; %(failed)s dòng lỗi không được tạo."),
        {"ok": progress.ok, "failed": progress.failed},
    )


provision_schools_job = job_task("tenants.provision_schools")(_provision)


# --- the template -------------------------------------------------------------------------------------------------

EXAMPLE = {
    "code": "79000001",
    "name": "Trường THCS Mẫu",
    "levels": "THCS",
    "slug": "thcs-mau",
}
GUIDE = [
    ("code", "Mã trường của Bộ GD&ĐT (duy nhất, tối đa 20 ký tự).", "The MoET school code (unique, 20 characters)."),
    ("name", "Tên trường đầy đủ.", "The school's full name."),
    (
        "levels",
        "Cấp học: Tiểu học, THCS, THPT (nhiều cấp cách nhau bằng dấu phẩy, ví dụ “THCS, THPT”).",
        "School levels: Tiểu học, THCS, THPT (several separated by commas).",
    ),
    (
        "unit_code",
        "Mã đơn vị quản lý: một mã trong trang “Đơn vị”.",
        "The overseeing unit's code: one from the “Đơn vị” sheet.",
    ),
    (
        "slug",
        "Tên miền con: 3–40 ký tự, chữ thường không dấu, số và “-”, bắt đầu bằng chữ (ví dụ thcs-mau).",
        "Sub-domain: 3–40 characters, lower-case letters, digits and “-”, starting with a letter.",
    ),
]


def template_units(access: Access) -> list[UnitNode]:
    """The units under which this person may create schools, in tree order."""
    tree = access.tree or unit_tree_on()
    allowed = access.units_with(CAPABILITY)
    out: list[UnitNode] = []

    def walk(unit_id: int) -> None:
        if unit_id in allowed:
            out.append(tree.nodes[unit_id])
        for child in tree.children.get(unit_id, ()):
            walk(child)

    for root in tree.roots():
        walk(root.id)
    return out


def _example_row(units: list[UnitNode]) -> list[str]:
    unit_code = units[-1].official_code if units else ""
    return [EXAMPLE["code"], EXAMPLE["name"], EXAMPLE["levels"], unit_code, EXAMPLE["slug"]]


def provision_template(*, fmt: str, units: list[UnitNode]) -> tuple[bytes, str, str]:
    """The file to fill: ``(content, content type, file name)``. XLSX: the header row and one example row, a sheet of
    the units' codes and names this person may use, and a sheet of instructions; CSV (UTF-8 with a BOM, for Excel):
    the header row and the example row."""
    example = _example_row(units)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerow(example)
        return out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", "mau-tao-truong.csv"
    with translation.override("vi"):
        wb = Workbook()
        ws = wb.active
        ws.title = "Trường"
        ws.append(list(COLUMNS))
        style_header(ws, 1, 1, len(COLUMNS))
        ws.append(example)
        set_widths(ws, [14, 40, 16, 14, 24])
        ws.freeze_panes = "A2"
        unit_sheet = wb.create_sheet("Đơn vị")
        unit_sheet.append(["Mã đơn vị (unit_code)", "Tên đơn vị", "Loại"])
        style_header(unit_sheet, 1, 1, 3)
        for node in units:
            unit_sheet.append([node.official_code, node.name, str(node.kind_label)])
        set_widths(unit_sheet, [22, 48, 30])
        guide = wb.create_sheet("Hướng dẫn")
        guide.append(["Tạo trường từ tệp — hướng dẫn điền (Instructions)"])
        guide["A1"].font = TITLE_FONT
        guide.append(["Giữ nguyên hàng tiêu đề; mỗi dòng dưới đó là một trường (dòng 2 là ví dụ: sửa hoặc xóa nó)."])
        guide.append([])
        guide.append(["Cột", "Cách điền", "How to fill"])
        style_header(guide, guide.max_row, 1, 3)
        for column, vi, en in GUIDE:
            guide.append([column, vi, en])
        set_widths(guide, [14, 70, 60])
    return xlsx_bytes(wb), XLSX_CONTENT_TYPE, "mau-tao-truong.xlsx"
