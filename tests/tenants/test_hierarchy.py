"""The effective-dated unit tree: create, rename, move, merge, close — with history."""

from __future__ import annotations

import datetime as dt

import pytest
from hocba.kernel.errors import DomainError, NotAllowed

from tenants import selectors
from tenants.models import AdministrativeUnit, Membership, PlatformAuditEntry, School, UnitKind, UnitVersion
from tenants.services import schools as school_services
from tenants.services import units as unit_services

D0 = dt.date(2025, 7, 1)
D1 = dt.date(2025, 9, 1)
D2 = dt.date(2026, 1, 1)


def _unit(pk):
    return AdministrativeUnit.objects.get(pk=pk)


def test_rename_keeps_the_old_name_in_history(w):
    unit = _unit(w.unit_a)
    unit_services.unit_rename(actor=None, unit=unit, name="Xã An Thạnh Mới", official_code="99-ATM", on=D1)
    assert selectors.unit_tree_on(D0).nodes[unit.pk].name == "Xã An Thạnh"
    assert selectors.unit_tree_on(D1).nodes[unit.pk].name == "Xã An Thạnh Mới"
    assert selectors.unit_tree_on(D1).nodes[unit.pk].official_code == "99-ATM"
    assert UnitVersion.objects.filter(unit=unit).count() == 2
    entry = PlatformAuditEntry.objects.filter(action="unit.rename", object_id=str(unit.pk)).get()
    assert entry.before["name"] == "Xã An Thạnh" and entry.after["name"] == "Xã An Thạnh Mới"


def test_merge_moves_schools_units_and_staff_and_history_answers_who_oversaw(w):
    source, target = _unit(w.unit_a), _unit(w.unit_b)
    child = unit_services.unit_create(
        actor=None, kind=UnitKind.COMMUNE, name="Ấp Con", official_code="99-AC", parent=source, valid_from=D0
    )
    moved = unit_services.unit_merge(actor=None, source=source, target=target, on=D2)
    assert moved == {"units": 1, "schools": 1, "memberships": 2}
    assert selectors.unit_overseeing(w.school_a, D1).id == source.pk
    assert selectors.unit_overseeing(w.school_a, D2).id == target.pk
    assert selectors.unit_tree_on(D2).nodes[child.pk].parent_id == target.pk
    assert source.pk not in selectors.unit_tree_on(D2).nodes
    assert Membership.objects.on(D2).filter(account_id=w.accounts["unit_a_admin"], unit=target).exists()
    assert not Membership.objects.on(D2).filter(unit=source).exists()
    # The unit A admin now oversees both schools through B.
    access = selectors.access_for(w.account("unit_a_admin"), D2)
    assert {w.school_a, w.school_b} <= access.schools_with("accounts.manage")
    source.refresh_from_db()
    assert source.closed_on == D2 and source.merged_into_id == target.pk


@pytest.mark.parametrize("target_is", ["self", "descendant"])
def test_merge_into_itself_or_a_descendant_is_refused(w, target_is):
    province = _unit(w.province)
    target = province if target_is == "self" else _unit(w.unit_a)
    before = UnitVersion.objects.count()
    with pytest.raises(DomainError) as info:
        unit_services.unit_merge(actor=None, source=province, target=target, on=D1)
    assert info.value.code == "units.merge_into_self"
    messages = info.value.as_dict()
    assert "sáp nhập" in messages["detail"] and "merge" in messages["detail_en"].lower()
    assert UnitVersion.objects.count() == before


def test_move_into_own_descendant_is_refused(w):
    child = unit_services.unit_create(
        actor=None, kind=UnitKind.COMMUNE, name="Ấp", official_code="99-AP", parent=_unit(w.unit_a), valid_from=D0
    )
    with pytest.raises(DomainError) as info:
        unit_services.unit_move(actor=None, unit=_unit(w.unit_a), parent=child, on=D1)
    assert info.value.code == "units.cycle"


def test_move_school_keeps_history(w):
    school = School.objects.get(pk=w.school_a)
    school_services.school_move(actor=None, school=school, unit=_unit(w.unit_b), on=D1)
    assert selectors.unit_overseeing(w.school_a, D0).id == w.unit_a
    assert selectors.unit_overseeing(w.school_a, D1).id == w.unit_b


def test_upper_secondary_school_directly_under_province(w):
    school = school_services.school_create(
        actor=None, code="99000099", name="THPT Tỉnh", levels="THPT", unit=_unit(w.province), slug="thpt-tinh", on=D0
    )
    assert selectors.unit_overseeing(school.pk, D0).id == w.province


def test_close_refuses_a_unit_with_schools_then_closes_an_empty_one(w):
    with pytest.raises(DomainError) as info:
        unit_services.unit_close(actor=None, unit=_unit(w.unit_a), on=D1)
    assert info.value.code == "units.not_empty"
    empty = unit_services.unit_create(
        actor=None,
        kind=UnitKind.COMMUNE,
        name="Xã Trống",
        official_code="99-XT",
        parent=_unit(w.province),
        valid_from=D0,
    )
    unit_services.unit_close(actor=None, unit=empty, on=D1)
    assert empty.pk in selectors.unit_tree_on(D0).nodes
    assert empty.pk not in selectors.unit_tree_on(D1).nodes


def test_duplicate_official_code_is_refused(w):
    with pytest.raises(DomainError) as info:
        unit_services.unit_create(
            actor=None,
            kind=UnitKind.COMMUNE,
            name="Khác",
            official_code="99-AT",
            parent=_unit(w.province),
            valid_from=D0,
        )
    assert info.value.code == "units.code_taken"


def test_unit_admin_cannot_manage_units(w):
    with pytest.raises(NotAllowed):
        unit_services.unit_rename(actor=w.account("unit_a_admin"), unit=_unit(w.unit_a), name="X", on=D1)


def test_province_admin_manages_units_of_the_province(w):
    unit_services.unit_rename(
        actor=w.account("province_admin"), unit=_unit(w.unit_a), name="Xã An Thạnh 2", on=selectors.today()
    )
    assert selectors.unit_tree_on().nodes[w.unit_a].name == "Xã An Thạnh 2"


def test_access_is_computed_in_constant_queries(w, queries):
    account = w.account("province_admin")
    with queries() as q:
        access = selectors.access_for(account)
    assert len(q) == 3
    assert {w.school_a, w.school_b} <= access.schools_with("schools.view")
    for i in range(20):
        unit_services.unit_create(
            actor=None,
            kind=UnitKind.COMMUNE,
            name=f"Xã {i}",
            official_code=f"99-{i}",
            parent=AdministrativeUnit.objects.get(pk=w.province),
            valid_from=D0,
        )
    with queries() as q:
        selectors.access_for(account)
    assert len(q) == 3
