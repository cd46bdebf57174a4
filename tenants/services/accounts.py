"""Accounts and memberships. Nobody grants a role outside their own scope or above their own role."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.roles import ROLE_LABELS, Role, Tier

from ..models import Account, AdministrativeUnit, Membership, School, SchoolStatus
from ..selectors import access_for, today, unit_tree_on
from .audit import audit_record


def _membership_dict(m: Membership) -> dict:
    return {
        "account_id": m.account_id,
        "role": m.role,
        "unit_id": m.unit_id,
        "school_id": m.school_id,
        "valid_from": m.valid_from,
        "valid_to": m.valid_to,
    }


def _check_grant_allowed(
    actor: Account | None, role: Role, unit: AdministrativeUnit | None, school: School | None, day: dt.date
) -> None:
    if actor is None or actor.is_superuser:
        return
    access = access_for(actor, day)
    allowed = (
        access.grantable_roles_in_school(school.id) if school is not None else access.grantable_roles_in_unit(unit.id)
    )
    if role not in allowed:
        scope = school.name if school is not None else unit_tree_on(day).nodes.get(unit.id).name
        raise NotAllowed(
            "memberships.out_of_scope",
            _("Bạn không thể cấp vai trò “%(role)s” tại “%(scope)s”: ngoài phạm vi hoặc vượt quyền của bạn."),
            params={"role": ROLE_LABELS[role], "scope": scope},
        )


def grant_scope_authorise(
    *, actor: Account | None, role: str | None, unit: AdministrativeUnit | None, school: School | None
) -> None:
    """May ``actor`` grant ``role`` (any role, when it is not one) in this unit or school? The API asks before it
    validates the rest of the body, so a refusal tells nothing about the body; the grant asks again."""
    if actor is None or actor.is_superuser or (unit is None and school is None):
        return
    day = today()
    if role in {r.value for r in Role}:
        _check_grant_allowed(actor, Role(role), unit, school, day)
        return
    access = access_for(actor, day)
    if not (
        access.grantable_roles_in_school(school.id) if school is not None else access.grantable_roles_in_unit(unit.id)
    ):
        raise NotAllowed("memberships.out_of_scope", _("Phạm vi này nằm ngoài thẩm quyền cấp vai trò của bạn."))


@transaction.atomic
def membership_grant(
    *,
    actor: Account | None,
    account: Account,
    role: str,
    unit: AdministrativeUnit | None = None,
    school: School | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> Membership:
    day = valid_from or today()
    try:
        role_enum = Role(role)
    except ValueError as exc:
        raise DomainError("memberships.bad_role", _("Vai trò không hợp lệ."), field="role") from exc
    if (unit is None) == (school is None):
        raise DomainError("memberships.scope", _("Chọn đúng một phạm vi: một đơn vị hoặc một trường."))
    if role_enum.tier is Tier.SCHOOL and school is None:
        raise DomainError(
            "memberships.needs_school",
            _("Vai trò “%(role)s” phải gắn với một trường."),
            params={"role": ROLE_LABELS[role_enum]},
            field="school",
        )
    if role_enum.tier is not Tier.SCHOOL and unit is None:
        raise DomainError(
            "memberships.needs_unit",
            _("Vai trò “%(role)s” phải gắn với một đơn vị."),
            params={"role": ROLE_LABELS[role_enum]},
            field="unit",
        )
    if school is not None and school.status != SchoolStatus.ACTIVE:
        raise DomainError("schools.closed", _("Trường đã đóng."))
    tree = unit_tree_on(day)
    if unit is not None:
        if unit.id not in tree.nodes:
            raise DomainError("memberships.unknown_unit", _("Đơn vị không tồn tại vào ngày này."), field="unit")
        if role_enum.tier is Tier.PROVINCE and tree.nodes[unit.id].parent_id is not None:
            raise DomainError(
                "memberships.needs_province", _("Vai trò cấp Sở phải gắn với một tỉnh/thành phố."), field="unit"
            )
        if role_enum.tier is Tier.UNIT and tree.nodes[unit.id].parent_id is None:
            raise DomainError(
                "memberships.needs_unit_below",
                _("Vai trò cấp Phòng/xã phải gắn với một đơn vị dưới tỉnh."),
                field="unit",
            )
    if valid_to is not None and valid_to < day:
        raise DomainError("memberships.period", _("Ngày kết thúc phải sau ngày bắt đầu."), field="valid_to")
    _check_grant_allowed(actor, role_enum, unit, school, day)
    if Membership.objects.filter(
        account=account, role=role_enum.value, unit=unit, school=school, valid_to__isnull=True
    ).exists():
        raise DomainError("memberships.exists", _("Tài khoản đã có vai trò này ở phạm vi này."))
    membership = Membership.objects.create(
        account=account,
        role=role_enum.value,
        unit=unit,
        school=school,
        valid_from=day,
        valid_to=valid_to,
        granted_by=actor,
    )
    audit_record(
        actor=actor,
        action="membership.grant",
        obj=membership,
        after=_membership_dict(membership),
        unit_id=unit.id if unit else None,
        school_id=school.id if school else None,
    )
    return membership


@transaction.atomic
def membership_end(*, actor: Account | None, membership: Membership, on: dt.date | None = None) -> Membership:
    day = on or today()
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.valid_to is not None and membership.valid_to <= day:
        raise DomainError("memberships.ended", _("Vai trò này đã kết thúc."))
    _check_grant_allowed(actor, Role(membership.role), membership.unit, membership.school, day)
    before = _membership_dict(membership)
    membership.valid_to = max(day, membership.valid_from)
    membership.save(update_fields=["valid_to"])
    audit_record(
        actor=actor,
        action="membership.end",
        obj=membership,
        before=before,
        after=_membership_dict(membership),
        unit_id=membership.unit_id,
        school_id=membership.school_id,
    )
    return membership


@transaction.atomic
def account_create(
    *,
    actor: Account | None,
    username: str,
    full_name: str,
    email: str = "",
    password: str | None = None,
    role: str | None = None,
    unit: AdministrativeUnit | None = None,
    school: School | None = None,
    valid_from: dt.date | None = None,
) -> Account:
    """Create a person's account and, when ``role`` is given, their first membership (both or neither)."""
    username, full_name, email = (username or "").strip(), (full_name or "").strip(), (email or "").strip().lower()
    if not username or not full_name:
        raise DomainError("accounts.missing", _("Cần có tên đăng nhập và họ tên."))
    if Account.objects.filter(username__iexact=username).exists():
        raise DomainError(
            "accounts.username_taken",
            _("Tên đăng nhập “%(u)s” đã được dùng."),
            params={"u": username},
            field="username",
        )
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError("accounts.bad_email", _("Địa chỉ email không hợp lệ."), field="email") from exc
        if Account.objects.filter(email__iexact=email).exists():
            raise DomainError("accounts.email_taken", _("Email đã được dùng."), field="email")
    if actor is not None and role is None and not actor.is_superuser:
        raise DomainError(
            "accounts.needs_role", _("Tài khoản mới cần một vai trò trong phạm vi của bạn."), field="role"
        )
    account = Account(username=username, full_name=full_name, email=email)
    if password:
        try:
            validate_password(password, account)
        except ValidationError as exc:
            raise DomainError("accounts.weak_password", " ".join(exc.messages), field="password") from exc
        account.set_password(password)
    else:
        account.set_unusable_password()
    account.save()
    audit_record(
        actor=actor,
        action="account.create",
        obj=account,
        after={"username": username, "full_name": full_name, "email": email},
        unit_id=unit.id if unit else None,
        school_id=school.id if school else None,
    )
    if role:
        membership_grant(actor=actor, account=account, role=role, unit=unit, school=school, valid_from=valid_from)
    return account


def school_account_create(
    *,
    actor: Account | None,
    school_id: int,
    role: str,
    username: str,
    full_name: str,
    email: str = "",
    password: str | None = None,
) -> int:
    """``account_create`` with a first role in a school, for per-school code that knows the school by its id
    only: the new account's id."""
    school = School.objects.get(pk=school_id)
    return account_create(
        actor=actor, username=username, full_name=full_name, email=email, password=password, role=role, school=school
    ).pk
