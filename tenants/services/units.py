"""Administrative units: create, rename, move, merge, close. Every operation keeps history."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed

from ..models import Account, AdministrativeUnit, Membership, SchoolPlacement, UnitKind, UnitVersion
from ..selectors import access_for, today, unit_tree_on
from .audit import audit_record


def _version_dict(v: UnitVersion) -> dict:
    return {
        "name": v.name,
        "official_code": v.official_code,
        "parent_id": v.parent_id,
        "valid_from": v.valid_from,
        "valid_to": v.valid_to,
    }


def _require_unit_manager(actor: Account | None, unit_id: int | None, day: dt.date) -> None:
    """``actor`` None is the platform itself (commands, seeding); a person needs units.manage above the unit."""
    if actor is None:
        return
    access = access_for(actor, day)
    if unit_id is None:
        # A new province can only be created by platform operators.
        if not actor.is_superuser:
            raise NotAllowed("units.not_allowed", _("Bạn không có quyền tạo đơn vị cấp tỉnh."))
        return
    if not access.has_in_unit("units.manage", unit_id) and not actor.is_superuser:
        raise NotAllowed("units.not_allowed", _("Đơn vị này nằm ngoài phạm vi quản lý của bạn."))


def _open_version(unit: AdministrativeUnit) -> UnitVersion:
    version = UnitVersion.objects.select_for_update().filter(unit=unit, valid_to__isnull=True).first()
    if version is None:
        raise DomainError("units.closed", _("Đơn vị đã giải thể hoặc sáp nhập; không thể thay đổi."))
    return version


def _check_code_free(code: str, day: dt.date, *, except_unit: int | None = None) -> None:
    taken = UnitVersion.objects.on(day).filter(official_code=code)
    if except_unit is not None:
        taken = taken.exclude(unit_id=except_unit)
    if taken.exists():
        raise DomainError(
            "units.code_taken", _("Mã đơn vị %(code)s đã được dùng."), params={"code": code}, field="official_code"
        )


def _split(version: UnitVersion, day: dt.date, **changes) -> UnitVersion:
    if day < version.valid_from:
        raise DomainError(
            "units.before_version",
            _("Ngày hiệu lực phải sau ngày %(d)s."),
            params={"d": version.valid_from.strftime("%d/%m/%Y")},
        )
    fields = {
        "unit": version.unit,
        "name": version.name,
        "official_code": version.official_code,
        "parent": version.parent,
    }
    fields.update(changes)
    if day == version.valid_from:
        for key, value in fields.items():
            setattr(version, key, value)
        version.save()
        return version
    version.valid_to = day
    version.save(update_fields=["valid_to"])
    return UnitVersion.objects.create(valid_from=day, **fields)


@transaction.atomic
def unit_create(
    *,
    actor: Account | None,
    kind: str,
    name: str,
    official_code: str,
    parent: AdministrativeUnit | None = None,
    valid_from: dt.date | None = None,
) -> AdministrativeUnit:
    day = valid_from or today()
    name, official_code = name.strip(), official_code.strip()
    if kind not in UnitKind.values:
        raise DomainError("units.bad_kind", _("Loại đơn vị không hợp lệ."), field="kind")
    if not name or not official_code:
        raise DomainError("units.missing", _("Cần có tên và mã đơn vị."))
    if kind == UnitKind.PROVINCE and parent is not None:
        raise DomainError("units.province_parent", _("Đơn vị cấp tỉnh không có đơn vị cấp trên."), field="parent")
    if kind != UnitKind.PROVINCE and parent is None:
        raise DomainError("units.needs_parent", _("Đơn vị này cần thuộc một tỉnh/thành phố."), field="parent")
    if parent is not None and parent.id not in unit_tree_on(day).nodes:
        raise DomainError("units.unknown_parent", _("Đơn vị cấp trên không tồn tại vào ngày này."), field="parent")
    _require_unit_manager(actor, parent.id if parent else None, day)
    _check_code_free(official_code, day)
    unit = AdministrativeUnit.objects.create(kind=kind, created_on=day)
    version = UnitVersion.objects.create(
        unit=unit, name=name, official_code=official_code, parent=parent, valid_from=day
    )
    audit_record(actor=actor, action="unit.create", obj=unit, after=_version_dict(version), unit_id=unit.id)
    return unit


@transaction.atomic
def unit_rename(
    *,
    actor: Account | None,
    unit: AdministrativeUnit,
    name: str,
    official_code: str | None = None,
    on: dt.date | None = None,
) -> UnitVersion:
    day = on or today()
    _require_unit_manager(actor, unit.id, day)
    version = _open_version(unit)
    before = _version_dict(version)
    code = (official_code or version.official_code).strip()
    if not name.strip():
        raise DomainError("units.missing", _("Cần có tên và mã đơn vị."))
    _check_code_free(code, day, except_unit=unit.id)
    new = _split(version, day, name=name.strip(), official_code=code)
    audit_record(actor=actor, action="unit.rename", obj=unit, before=before, after=_version_dict(new), unit_id=unit.id)
    return new


@transaction.atomic
def unit_move(
    *, actor: Account | None, unit: AdministrativeUnit, parent: AdministrativeUnit, on: dt.date | None = None
) -> UnitVersion:
    day = on or today()
    tree = unit_tree_on(day)
    if unit.kind == UnitKind.PROVINCE:
        raise DomainError("units.province_parent", _("Đơn vị cấp tỉnh không có đơn vị cấp trên."), field="parent")
    if parent.id == unit.id or parent.id in tree.descendants(unit.id):
        raise DomainError("units.cycle", _("Không thể chuyển đơn vị vào chính nó hoặc đơn vị cấp dưới của nó."))
    if parent.id not in tree.nodes:
        raise DomainError("units.unknown_parent", _("Đơn vị cấp trên không tồn tại vào ngày này."), field="parent")
    _require_unit_manager(actor, unit.id, day)
    _require_unit_manager(actor, parent.id, day)
    version = _open_version(unit)
    before = _version_dict(version)
    new = _split(version, day, parent=parent)
    audit_record(actor=actor, action="unit.move", obj=unit, before=before, after=_version_dict(new), unit_id=unit.id)
    return new


def _end_unit(unit: AdministrativeUnit, day: dt.date) -> UnitVersion:
    version = _open_version(unit)
    if day <= version.valid_from:
        raise DomainError(
            "units.before_version",
            _("Ngày hiệu lực phải sau ngày %(d)s."),
            params={"d": version.valid_from.strftime("%d/%m/%Y")},
        )
    version.valid_to = day
    version.save(update_fields=["valid_to"])
    return version


@transaction.atomic
def unit_merge(
    *, actor: Account | None, source: AdministrativeUnit, target: AdministrativeUnit, on: dt.date | None = None
) -> dict[str, int]:
    """Merge ``source`` into ``target``: its child units, schools and staff scopes follow from ``on``."""
    day = on or today()
    tree = unit_tree_on(day)
    if source.id == target.id or target.id in tree.descendants(source.id):
        raise DomainError(
            "units.merge_into_self", _("Không thể sáp nhập một đơn vị vào chính nó hoặc đơn vị cấp dưới của nó.")
        )
    if source.id not in tree.nodes or target.id not in tree.nodes:
        raise DomainError("units.closed", _("Đơn vị đã giải thể hoặc sáp nhập; không thể thay đổi."))
    _require_unit_manager(actor, source.id, day)
    _require_unit_manager(actor, target.id, day)
    moved = {"units": 0, "schools": 0, "memberships": 0}
    for child in tree.children.get(source.id, ()):
        child_version = _open_version(AdministrativeUnit(pk=child))
        _split(child_version, day, parent=target)
        moved["units"] += 1
    for placement in SchoolPlacement.objects.select_for_update().on(day).filter(unit=source, valid_to__isnull=True):
        _move_placement(placement, target, day)
        moved["schools"] += 1
    for membership in Membership.objects.select_for_update().filter(unit=source, valid_to__isnull=True):
        _move_membership(membership, target, day)
        moved["memberships"] += 1
    ended = _end_unit(source, day)
    source.closed_on = day
    source.merged_into = target
    source.save(update_fields=["closed_on", "merged_into"])
    audit_record(
        actor=actor,
        action="unit.merge",
        obj=source,
        before=_version_dict(ended),
        after={"merged_into": target.id, "on": day, **moved},
        unit_id=target.id,
    )
    return moved


def _move_placement(placement: SchoolPlacement, unit: AdministrativeUnit, day: dt.date) -> SchoolPlacement:
    if placement.valid_from >= day:
        placement.unit = unit
        placement.save(update_fields=["unit"])
        return placement
    placement.valid_to = day
    placement.save(update_fields=["valid_to"])
    return SchoolPlacement.objects.create(school_id=placement.school_id, unit=unit, valid_from=day)


def _move_membership(membership: Membership, unit: AdministrativeUnit, day: dt.date) -> None:
    if Membership.objects.filter(
        account_id=membership.account_id, role=membership.role, unit=unit, valid_to__isnull=True
    ).exists():
        membership.valid_to = max(day, membership.valid_from)
        membership.save(update_fields=["valid_to"])
        return
    if membership.valid_from >= day:
        membership.unit = unit
        membership.save(update_fields=["unit"])
        return
    membership.valid_to = day
    membership.save(update_fields=["valid_to"])
    Membership.objects.create(
        account_id=membership.account_id,
        role=membership.role,
        unit=unit,
        valid_from=day,
        granted_by=membership.granted_by,
    )


@transaction.atomic
def unit_close(*, actor: Account | None, unit: AdministrativeUnit, on: dt.date | None = None) -> None:
    day = on or today()
    tree = unit_tree_on(day)
    _require_unit_manager(actor, unit.id, day)
    if tree.children.get(unit.id) or SchoolPlacement.objects.on(day).filter(unit=unit).exists():
        raise DomainError(
            "units.not_empty", _("Đơn vị còn đơn vị cấp dưới hoặc trường trực thuộc; hãy chuyển hoặc sáp nhập trước.")
        )
    ended = _end_unit(unit, day)
    Membership.objects.filter(unit=unit, valid_to__isnull=True).update(valid_to=day)
    unit.closed_on = day
    unit.save(update_fields=["closed_on"])
    audit_record(
        actor=actor,
        action="unit.close",
        obj=unit,
        before=_version_dict(ended),
        after={"closed_on": day},
        unit_id=unit.id,
    )
