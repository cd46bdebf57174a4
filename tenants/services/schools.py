"""Schools: create (with their schema), move between units, close; bulk provisioning from a file."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from hocba.env import runtime
from hocba.kernel import levels as school_levels
from hocba.kernel import spreadsheets
from hocba.kernel.errors import DomainError, NotAllowed, RowProblem, translate_db_error

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

log = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
CODE_MAX = School._meta.get_field("moet_code").max_length
NAME_MAX = School._meta.get_field("name").max_length


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


def _check_school_fields(code: str, name: str, slug: str) -> None:
    """What one school's own fields must be, whatever else exists (no query)."""
    if not code:
        raise DomainError("schools.missing_code", _("Thiếu mã trường."), field="code")
    if len(code) > CODE_MAX:
        raise DomainError(
            "schools.long_code", _("Mã trường dài quá %(n)s ký tự."), params={"n": CODE_MAX}, field="code"
        )
    if not name:
        raise DomainError("schools.missing_name", _("Thiếu tên trường."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(
            "schools.long_name", _("Tên trường dài quá %(n)s ký tự."), params={"n": NAME_MAX}, field="name"
        )
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


def _validate_new_school(code: str, name: str, slug: str, unit: AdministrativeUnit | None, day: dt.date) -> None:
    _check_school_fields(code, name, slug)
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


def max_schools_per_file() -> int:
    """How many schools one file may create (``HOCBA_PROVISION_MAX_SCHOOLS``, default 20).

    One file is created in one transaction (all or nothing, schemas included: the application's role cannot drop
    a schema, so nothing created could be removed after a commit). Each new schema holds a lock on every table,
    index and sequence it creates until the commit: about 360 locks a school (measured on PostgreSQL 16), in the
    server-wide lock table PostgreSQL sizes at ``max_locks_per_transaction × max_connections`` (6,400 by default,
    plus slack; forty schools, 14,400 locks, still passed here). Twenty schools, about 7,200 locks, keep a run near
    that size. A province that raises ``max_locks_per_transaction`` (e.g. 1024 → about 280 schools a file on 100
    connections) raises this with it; otherwise a longer list is split into several files."""
    return max(1, int(runtime("HOCBA_PROVISION_MAX_SCHOOLS", "20")))


class RowStatus:
    CREATED = "created"
    WOULD_CREATE = "would_create"  # a dry run: this row would be created
    HELD = "held"  # valid, but nothing was (or would be) created because another row failed
    REFUSED = "refused"


ROW_STATUS_LABELS = {
    RowStatus.CREATED: _("Đã tạo"),
    RowStatus.WOULD_CREATE: _("Sẽ được tạo"),
    RowStatus.HELD: _("Hợp lệ, nhưng không tạo vì tệp có dòng lỗi"),
    RowStatus.REFUSED: _("Bị từ chối"),
}


@dataclass
class RowOutcome(RowProblem):
    """One row of the file: what it asks for and what became of it (with the reason when refused)."""

    line: int
    code: str
    name: str = ""
    slug: str = ""
    unit_code: str = ""
    levels: list[str] = field(default_factory=list)
    status: str = RowStatus.HELD
    error_code: str = ""
    text: Any = ""  # the refusal: a catalogue message and its parameters
    params: dict[str, Any] = field(default_factory=dict)
    school_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.error_code

    def refuse(self, exc: DomainError) -> None:
        if self.ok:
            self.error_code, self.text, self.params = exc.code, exc.message, exc.params
        self.status, self.school_id = RowStatus.REFUSED, None

    @property
    def status_label(self) -> str:
        return str(ROW_STATUS_LABELS[self.status])

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "ok": self.ok,
            "status": self.status,
            "moet_code": self.code,
            "name": self.name,
            "slug": self.slug,
            "unit_code": self.unit_code,
            "levels": self.levels,
            "school_id": self.school_id,
            "code": self.error_code or None,
            "detail": self.message or None,
            "detail_en": self.message_en or None,
        }


@dataclass
class ProvisionReport:
    rows: list[RowOutcome] = field(default_factory=list)
    dry_run: bool = False
    create_valid: bool = False

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.status == RowStatus.CREATED)

    @property
    def would_create(self) -> int:
        return sum(1 for r in self.rows if r.status == RowStatus.WOULD_CREATE)

    @property
    def failed(self) -> list[RowOutcome]:
        return [r for r in self.rows if not r.ok]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "create_valid": self.create_valid,
            "created": self.created,
            "would_create": self.would_create,
            "failed": len(self.failed),
            "rows": [r.as_dict() for r in self.rows],
        }


def read_school_rows(path: Path | str, content: bytes | None = None) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file with columns code,name,levels,unit_code,slug (line numbers as a person counts)."""
    path = Path(path)
    if path.suffix.lower() not in {".xlsx", ".xlsm", ".csv"}:
        raise DomainError("provision.bad_type", _("Chỉ nhận tệp .csv hoặc .xlsx."))
    if content is None:
        spreadsheets.check_upload_size(path.stat().st_size)
    data = content if content is not None else path.read_bytes()
    try:
        table = spreadsheets.read_table(data, name=path.name)  # the kernel's limits: size, unpacking, rows, columns
    except spreadsheets.ImportFailed as exc:  # one problem of the whole file: its own words, naming the limit
        problem = exc.problems[0]
        code = {"excel.not_a_workbook": "provision.bad_file", "csv.bad_encoding": "provision.bad_encoding"}
        raise DomainError(code.get(problem.code, problem.code), problem.text, params=problem.params) from None
    raw_rows = table.rows
    if not raw_rows:
        raise DomainError("provision.empty", _("Tệp không có dữ liệu."))
    header = [h.lower() for h in raw_rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DomainError(
            "provision.missing_columns",
            _(
                "Thiếu cột: %(cols)s. Cần các cột code,name,levels,unit_code,slug; hàng đầu của tệp "
                "(%(layout)s) có: %(found)s."
            ),
            params={"cols": ", ".join(missing), "layout": table.layout, "found": " | ".join(raw_rows[0])[:300]},
        )
    index = {c: header.index(c) for c in COLUMNS}
    out = []
    for n, row in enumerate(raw_rows[1:], start=2):
        out.append((n, {c: (row[i] if i < len(row) else "") for c, i in index.items()}))
    return out


def _duplicate(kind: str, value: str, line: int) -> DomainError:
    if kind == "code":
        return DomainError(
            "provision.duplicate_code",
            _("Mã trường %(code)s trùng với dòng %(line)s của tệp."),
            params={"code": value, "line": line},
            field="code",
        )
    return DomainError(
        "provision.duplicate_slug",
        _("Tên miền con “%(slug)s” trùng với dòng %(line)s của tệp."),
        params={"slug": value, "line": line},
        field="slug",
    )


def _validate_rows(
    actor: Account | None, rows: list[tuple[int, dict[str, str]]], day: dt.date
) -> tuple[list[RowOutcome], dict[int, AdministrativeUnit]]:
    """Every row checked against every rule of ``school_create``, the rest of the file and what exists, with a
    constant number of queries; nothing is written. Each row keeps its first problem."""
    codes = dict(UnitVersion.objects.on(day).values_list("official_code", "unit_id"))
    units = AdministrativeUnit.objects.in_bulk(list(codes.values()))
    nodes = unit_tree_on(day).nodes
    acc = None if actor is None or actor.is_superuser else access_for(actor, day)
    outcomes: list[RowOutcome] = []
    for line, row in rows:
        outcomes.append(
            RowOutcome(
                line,
                (row.get("code") or "").strip(),
                name=(row.get("name") or "").strip(),
                slug=(row.get("slug") or "").strip().lower(),
                unit_code=(row.get("unit_code") or "").strip(),
            )
        )
    taken_codes = set(
        School.objects.filter(moet_code__in=[o.code for o in outcomes]).values_list("moet_code", flat=True)
    )
    slugs = [o.slug for o in outcomes]
    taken_slugs = set(School.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    domains = {f"{slug}.{settings.BASE_DOMAIN}": slug for slug in slugs}
    taken_slugs |= {
        domains[d] for d in Domain.objects.filter(domain__in=list(domains)).values_list("domain", flat=True)
    }
    first_code: dict[str, int] = {}
    first_slug: dict[str, int] = {}
    unit_of: dict[int, AdministrativeUnit] = {}
    for (line, row), outcome in zip(rows, outcomes, strict=True):
        try:
            _check_school_fields(outcome.code, outcome.name, outcome.slug)
            outcome.levels = parse_levels(row.get("levels") or "")
            if outcome.code in first_code:
                raise _duplicate("code", outcome.code, first_code[outcome.code])
            if outcome.slug in first_slug:
                raise _duplicate("slug", outcome.slug, first_slug[outcome.slug])
            unit_id = codes.get(outcome.unit_code)
            if unit_id is None or unit_id not in nodes:
                raise DomainError(
                    "schools.unknown_unit",
                    _("Không tìm thấy đơn vị có mã “%(c)s”."),
                    params={"c": outcome.unit_code},
                    field="unit_code",
                )
            if acc is not None and not acc.has_in_unit("schools.manage", unit_id):
                raise NotAllowed("schools.not_allowed", _("Đơn vị này nằm ngoài phạm vi quản lý của bạn."))
            if outcome.code in taken_codes:
                raise DomainError(
                    "schools.code_taken",
                    _("Mã trường %(code)s đã tồn tại."),
                    params={"code": outcome.code},
                    field="code",
                )
            if outcome.slug in taken_slugs:
                raise DomainError(
                    "schools.slug_taken",
                    _("Tên miền con “%(slug)s” đã được dùng."),
                    params={"slug": outcome.slug},
                    field="slug",
                )
            unit_of[line] = units[unit_id]
        except DomainError as exc:
            outcome.refuse(exc)
        # A later row repeating this code or sub-domain is the duplicate, even when this row has another problem.
        first_code.setdefault(outcome.code, line)
        first_slug.setdefault(outcome.slug, line)
    return outcomes, unit_of


class _RollBack(Exception):
    pass


def schools_provision(
    *,
    actor: Account | None,
    rows: list[tuple[int, dict[str, str]]],
    on: dt.date | None = None,
    dry_run: bool = False,
    create_valid: bool = False,
    most: int | None = None,
) -> ProvisionReport:
    """Create the schools of a file: all of them or none.

    The whole file is validated first (every field, duplicates within the file, codes and sub-domains that
    exist, unknown units, the actor's scope). Any refused row means nothing is created, unless
    ``create_valid``: then the valid rows are. ``dry_run`` validates only and says what would be created.
    The creation is one transaction — public rows, audit entries and each school's schema (PostgreSQL
    DDL is transactional; ``provisioning.schema_create`` runs inside the caller's transaction): a school
    that fails mid-way rolls back every school of the run, or with ``create_valid`` only its own savepoint.
    ``most`` overrides the number of rows allowed (a dry run checks as many as a background job may create:
    ``school_files.max_schools_per_job``). The pages and the API create through a background job instead
    (``school_files``); this path serves the ``provision_schools`` command.
    """
    most = most or max_schools_per_file()
    if len(rows) > most:
        raise DomainError(
            "provision.too_many",
            _("Tệp có %(n)s trường; mỗi lần chỉ tạo tối đa %(max)s trường. Hãy chia thành nhiều tệp."),
            params={"n": len(rows), "max": most},
        )
    if not rows:
        raise DomainError("provision.no_rows", _("Tệp không có dòng trường nào dưới hàng tiêu đề."))
    day = on or today()
    report = ProvisionReport(dry_run=dry_run, create_valid=create_valid)
    report.rows, unit_of = _validate_rows(actor, rows, day)
    valid = [r for r in report.rows if r.ok]
    if dry_run or not valid or (report.failed and not create_valid):
        creatable = dry_run and (create_valid or not report.failed)
        for outcome in valid:
            outcome.status = RowStatus.WOULD_CREATE if creatable else RowStatus.HELD
        return report
    try:
        with transaction.atomic():
            for outcome in valid:
                try:
                    school = school_create(
                        actor=actor,
                        code=outcome.code,
                        name=outcome.name,
                        levels=outcome.levels,
                        unit=unit_of[outcome.line],
                        slug=outcome.slug,
                        on=day,
                    )
                except DomainError as exc:
                    outcome.refuse(exc)
                except DatabaseError as exc:  # the school's savepoint is rolled back; say so in plain words
                    log.exception("provisioning %s failed", outcome.slug)
                    outcome.refuse(
                        translate_db_error(exc)
                        or DomainError("provision.failed", _("Không tạo được trường này (lỗi cơ sở dữ liệu)."))
                    )
                else:
                    outcome.status, outcome.school_id = RowStatus.CREATED, school.id
                if not outcome.ok and not create_valid:
                    raise _RollBack
    except _RollBack:
        for outcome in valid:
            if outcome.ok:
                outcome.status, outcome.school_id = RowStatus.HELD, None
    return report
