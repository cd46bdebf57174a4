"""Schools: create (with their schema), move between units, close; bulk provisioning from a file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel import levels as school_levels
from hocba.kernel.errors import DomainError, NotAllowed
from openpyxl import load_workbook

from .. import provisioning
from ..models import (
    Account,
    AdministrativeUnit,
    Domain,
    Membership,
    School,
    SchoolPlacement,
    SchoolStatus,
    UnitVersion,
)
from ..selectors import access_for, today, unit_tree_on
from .audit import audit_record

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")


def parse_levels(raw: str | list[str]) -> list[str]:
    parts = raw if isinstance(raw, list) else re.split(r"[;,|+]", raw or "")
    levels: list[str] = []
    for part in parts:
        key = part.strip().lower()
        if not key:
            continue
        level = school_levels.LEVEL_NAMES.get(key)
        if level is None:
            raise DomainError(
                "schools.bad_level",
                _("Cấp học “%(v)s” không hợp lệ (tiểu học, THCS, THPT)."),
                params={"v": part.strip()},
                field="levels",
            )
        levels.append(level)
    if not levels:
        raise DomainError("schools.no_level", _("Trường phải có ít nhất một cấp học."), field="levels")
    return school_levels.ordered_levels(levels)


def schema_name_for(slug: str) -> str:
    return "s_" + slug.replace("-", "_")


def _school_dict(school: School, unit_id: int | None) -> dict:
    return {
        "moet_code": school.moet_code,
        "name": school.name,
        "slug": school.slug,
        "levels": school.levels,
        "status": school.status,
        "unit_id": unit_id,
        "schema_name": school.schema_name,
    }


def _require_school_manager(actor: Account | None, unit_id: int, day: dt.date) -> None:
    if actor is None or actor.is_superuser:
        return
    if not access_for(actor, day).has_in_unit("schools.manage", unit_id):
        raise NotAllowed("schools.not_allowed", _("Đơn vị này nằm ngoài phạm vi quản lý của bạn."))


def _validate_new_school(code: str, name: str, slug: str, unit: AdministrativeUnit | None, day: dt.date) -> None:
    if not code:
        raise DomainError("schools.missing_code", _("Thiếu mã trường."), field="code")
    if not name:
        raise DomainError("schools.missing_name", _("Thiếu tên trường."), field="name")
    if not SLUG_RE.match(slug or ""):
        raise DomainError(
            "schools.bad_slug",
            _(
                "Tên miền con “%(slug)s” không hợp lệ: 3–40 ký tự gồm chữ thường không dấu, số và “-”, "
                "bắt đầu bằng chữ."
            ),
            params={"slug": slug},
            field="slug",
        )
    provisioning.validate_schema_name(schema_name_for(slug))
    if unit is None or unit.id not in unit_tree_on(day).nodes:
        raise DomainError("schools.unknown_unit", _("Không tìm thấy đơn vị quản lý."), field="unit_code")
    if School.objects.filter(moet_code=code).exists():
        raise DomainError(
            "schools.code_taken", _("Mã trường %(code)s đã tồn tại."), params={"code": code}, field="code"
        )
    if (
        School.objects.filter(slug=slug).exists()
        or Domain.objects.filter(domain=f"{slug}.{settings.BASE_DOMAIN}").exists()
    ):
        raise DomainError(
            "schools.slug_taken", _("Tên miền con “%(slug)s” đã được dùng."), params={"slug": slug}, field="slug"
        )


@transaction.atomic
def school_create(
    *,
    actor: Account | None,
    code: str,
    name: str,
    levels: str | list[str],
    unit: AdministrativeUnit | None,
    slug: str,
    on: dt.date | None = None,
) -> School:
    day = on or today()
    code, name, slug = (code or "").strip(), (name or "").strip(), (slug or "").strip().lower()
    level_values = parse_levels(levels)
    _validate_new_school(code, name, slug, unit, day)
    _require_school_manager(actor, unit.id, day)
    try:
        with transaction.atomic():
            school = School.objects.create(
                schema_name=schema_name_for(slug),
                moet_code=code,
                name=name,
                slug=slug,
                levels=level_values,
                created_on=day,
                schema_head=provisioning.migration_head().digest,
            )
    except IntegrityError as exc:
        raise DomainError("schools.duplicate", _("Mã trường hoặc tên miền con đã tồn tại.")) from exc
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=school, is_primary=True)
    SchoolPlacement.objects.create(school=school, unit=unit, valid_from=day)
    provisioning.schema_create(school.schema_name)
    audit_record(
        actor=actor,
        action="school.create",
        obj=school,
        after=_school_dict(school, unit.id),
        unit_id=unit.id,
        school_id=school.id,
    )
    return school


@transaction.atomic
def school_move(
    *, actor: Account | None, school: School, unit: AdministrativeUnit, on: dt.date | None = None
) -> SchoolPlacement:
    day = on or today()
    if unit.id not in unit_tree_on(day).nodes:
        raise DomainError("schools.unknown_unit", _("Không tìm thấy đơn vị quản lý."), field="unit")
    current = SchoolPlacement.objects.select_for_update().filter(school=school, valid_to__isnull=True).first()
    if current is None:
        raise DomainError("schools.closed", _("Trường đã đóng; không thể chuyển."))
    if current.unit_id == unit.id:
        raise DomainError("schools.same_unit", _("Trường đã thuộc đơn vị này."), field="unit")
    if day < current.valid_from:
        raise DomainError(
            "schools.before_placement",
            _("Ngày hiệu lực phải sau ngày %(d)s."),
            params={"d": current.valid_from.strftime("%d/%m/%Y")},
        )
    _require_school_manager(actor, current.unit_id, day)
    _require_school_manager(actor, unit.id, day)
    before = _school_dict(school, current.unit_id)
    if day == current.valid_from:
        current.unit = unit
        current.save(update_fields=["unit"])
        placement = current
    else:
        current.valid_to = day
        current.save(update_fields=["valid_to"])
        placement = SchoolPlacement.objects.create(school=school, unit=unit, valid_from=day)
    audit_record(
        actor=actor,
        action="school.move",
        obj=school,
        before=before,
        after=_school_dict(school, unit.id),
        unit_id=unit.id,
        school_id=school.id,
    )
    return placement


@transaction.atomic
def school_close(*, actor: Account | None, school: School, on: dt.date | None = None) -> None:
    day = on or today()
    current = SchoolPlacement.objects.select_for_update().filter(school=school, valid_to__isnull=True).first()
    if current is None or school.status == SchoolStatus.CLOSED:
        raise DomainError("schools.closed", _("Trường đã đóng."))
    _require_school_manager(actor, current.unit_id, day)
    before = _school_dict(school, current.unit_id)
    current.valid_to = max(day, current.valid_from)
    current.save(update_fields=["valid_to"])
    school.status, school.closed_on = SchoolStatus.CLOSED, day
    school.save(update_fields=["status", "closed_on"])
    Membership.objects.filter(school=school, valid_to__isnull=True).update(valid_to=day)
    audit_record(
        actor=actor,
        action="school.close",
        obj=school,
        before=before,
        after=_school_dict(school, None),
        unit_id=current.unit_id,
        school_id=school.id,
    )


# --- provisioning from a file -------------------------------------------------------------------

COLUMNS = ("code", "name", "levels", "unit_code", "slug")


@dataclass
class RowOutcome:
    line: int
    code: str
    ok: bool
    message: str = ""
    school_id: int | None = None


@dataclass
class ProvisionReport:
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> list[RowOutcome]:
        return [r for r in self.rows if not r.ok]


def read_school_rows(path: Path | str, content: bytes | None = None) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file with columns code,name,levels,unit_code,slug (line numbers as a person counts)."""
    path = Path(path)
    data = content if content is not None else path.read_bytes()
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:
            raise DomainError("provision.bad_file", _("Không đọc được tệp Excel: %(e)s"), params={"e": exc}) from exc
        raw_rows = [[("" if c is None else str(c)).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError("provision.bad_encoding", _("Tệp CSV phải được mã hóa UTF-8.")) from exc
        raw_rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise DomainError("provision.bad_type", _("Chỉ nhận tệp .csv hoặc .xlsx."))
    raw_rows = [r for r in raw_rows if any(r)]
    if not raw_rows:
        raise DomainError("provision.empty", _("Tệp không có dữ liệu."))
    header = [h.lower() for h in raw_rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DomainError(
            "provision.missing_columns",
            _("Thiếu cột: %(cols)s. Cần các cột code,name,levels,unit_code,slug."),
            params={"cols": ", ".join(missing)},
        )
    index = {c: header.index(c) for c in COLUMNS}
    out = []
    for n, row in enumerate(raw_rows[1:], start=2):
        out.append((n, {c: (row[i] if i < len(row) else "") for c, i in index.items()}))
    return out


def schools_provision(
    *, actor: Account | None, rows: list[tuple[int, dict[str, str]]], on: dt.date | None = None
) -> ProvisionReport:
    """Create every school of the file; each row is its own transaction, a failing row leaves nothing."""
    day = on or today()
    codes = dict(UnitVersion.objects.on(day).values_list("official_code", "unit_id"))
    units = AdministrativeUnit.objects.in_bulk(list(codes.values()))
    report = ProvisionReport()
    for line, row in rows:
        unit_id = codes.get(row["unit_code"].strip())
        try:
            if unit_id is None:
                raise DomainError(
                    "schools.unknown_unit",
                    _("Không tìm thấy đơn vị có mã “%(c)s”."),
                    params={"c": row["unit_code"]},
                    field="unit_code",
                )
            school = school_create(
                actor=actor,
                code=row["code"],
                name=row["name"],
                levels=row["levels"],
                unit=units[unit_id],
                slug=row["slug"],
                on=day,
            )
            report.rows.append(RowOutcome(line, row["code"], True, school_id=school.id))
        except DomainError as exc:
            report.rows.append(RowOutcome(line, row["code"], False, exc.as_dict()["detail"]))
    return report
