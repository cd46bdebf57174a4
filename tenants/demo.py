"""The demo province: two units, four schools, an account for every role (``manage.py seed_demo``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from django.db import transaction
from django.utils import timezone
from hocba.kernel.roles import Role

from . import perschool
from .models import Account, AdministrativeUnit, Membership, School, UnitKind, UnitVersion
from .services.accounts import account_create, membership_grant
from .services.schools import school_create
from .services.units import unit_create

DEMO_PASSWORD = "hocba-demo-2026"
DEMO_START = dt.date(2025, 7, 1)

UNITS = [
    # code, name, kind, parent code (None = province)
    ("72", "Sở GD&ĐT Tây Ninh", UnitKind.PROVINCE, None),
    ("72-NL", "Xã Nam Lợi", UnitKind.COMMUNE, "72"),
    ("72-TA", "Phường Tân An", UnitKind.WARD, "72"),
]
SCHOOLS = [
    # code, name, levels, unit code, slug
    ("72000101", "Trường Tiểu học Nam Lợi", ["primary"], "72-NL", "th-nam-loi"),
    ("72000201", "Trường THCS Nguyễn Du", ["lower_secondary"], "72-TA", "thcs-nguyen-du"),
    ("72000301", "Trường THPT Lê Quý Đôn", ["upper_secondary"], "72", "thpt-le-quy-don"),
    ("72000401", "Trường TH và THCS Hòa Bình", ["primary", "lower_secondary"], "72-NL", "th-thcs-hoa-binh"),
]
ACCOUNTS = [
    # username, full name, role, scope code (unit code or school slug)
    ("so.quantri", "Nguyễn Văn An", Role.PROVINCE_ADMIN, "72"),
    ("so.thanhtra", "Trần Thị Bình", Role.PROVINCE_INSPECTOR, "72"),
    ("namloi.quantri", "Lê Văn Cường", Role.UNIT_ADMIN, "72-NL"),
    ("namloi.chuyenvien", "Phạm Thị Dung", Role.UNIT_STAFF, "72-NL"),
    ("tanan.quantri", "Hoàng Văn Em", Role.UNIT_ADMIN, "72-TA"),
    ("nguyendu.hieutruong", "Võ Thị Giang", Role.PRINCIPAL, "thcs-nguyen-du"),
    ("nguyendu.phohieutruong", "Đặng Văn Hải", Role.VICE_PRINCIPAL, "thcs-nguyen-du"),
    ("nguyendu.cntt", "Bùi Thị Hoa", Role.SCHOOL_IT_ADMIN, "thcs-nguyen-du"),
    ("nguyendu.gvcn", "Đỗ Văn Khánh", Role.HOMEROOM_TEACHER, "thcs-nguyen-du"),
    ("nguyendu.gvbm", "Ngô Thị Lan", Role.SUBJECT_TEACHER, "thcs-nguyen-du"),
    ("nguyendu.totruong", "Dương Văn Minh", Role.DEPARTMENT_HEAD, "thcs-nguyen-du"),
    ("nguyendu.vanthu", "Lý Thị Ngọc", Role.CLERK, "thcs-nguyen-du"),
    ("nguyendu.phuhuynh", "Trịnh Văn Phúc", Role.PARENT, "thcs-nguyen-du"),
    ("namloi.hieutruong", "Mai Thị Quỳnh", Role.PRINCIPAL, "th-nam-loi"),
    ("namloi.giaovien", "Lương Văn Tài", Role.SUBJECT_TEACHER, "th-nam-loi"),
    ("namloi.gvcn", "Kiều Thị Xuân", Role.HOMEROOM_TEACHER, "th-nam-loi"),
    ("lequydon.hieutruong", "Cao Văn Sơn", Role.PRINCIPAL, "thpt-le-quy-don"),
    ("hoabinh.hieutruong", "Tạ Thị Thu", Role.PRINCIPAL, "th-thcs-hoa-binh"),
]


def demo_totp_secret(username: str) -> str:
    """A fixed secret per demo account so that re-seeding keeps working authenticator entries."""
    return base64.b32encode(hashlib.sha256(f"hocba-demo:{username}".encode()).digest()[:20]).decode()


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    scope: str
    totp_secret: str | None
    url: str


def _unit_by_code(code: str, day: dt.date) -> AdministrativeUnit | None:
    version = UnitVersion.objects.on(day).filter(official_code=code).select_related("unit").first()
    return version.unit if version else None


@transaction.atomic
def seed_demo(*, base_url_for) -> list[DemoAccount]:
    """Create what is missing; never duplicate. ``base_url_for(slug | None)`` builds a page address."""

    day = DEMO_START
    units: dict[str, AdministrativeUnit] = {}
    for code, name, kind, parent_code in UNITS:
        unit = _unit_by_code(code, day)
        if unit is None:
            unit = unit_create(
                actor=None,
                kind=kind,
                name=name,
                official_code=code,
                parent=units.get(parent_code) if parent_code else None,
                valid_from=day,
            )
        units[code] = unit
    schools: dict[str, School] = {}
    for code, name, levels, unit_code, slug in SCHOOLS:
        school = School.objects.filter(slug=slug).first()
        if school is None:
            school = school_create(
                actor=None, code=code, name=name, levels=levels, unit=units[unit_code], slug=slug, on=day
            )
        schools[slug] = school
    if not Account.objects.filter(username="operator").exists():
        op = Account.objects.create_superuser(
            "operator", "operator@hocba.localhost", DEMO_PASSWORD, full_name="Vận hành nền tảng"
        )
        op.save()
    out = []
    for username, full_name, role, scope in ACCOUNTS:
        unit = units.get(scope)
        school = schools.get(scope)
        account = Account.objects.filter(username=username).first()
        if account is None:
            account = account_create(
                actor=None,
                username=username,
                full_name=full_name,
                email=f"{username}@hocba.localhost",
                password=DEMO_PASSWORD,
            )
        if not Membership.objects.filter(
            account=account, role=role.value, unit=unit, school=school, valid_to__isnull=True
        ).exists():
            membership_grant(actor=None, account=account, role=role.value, unit=unit, school=school, valid_from=day)
        secret = None
        if role in (Role.PROVINCE_ADMIN, Role.UNIT_ADMIN, Role.PRINCIPAL, Role.SCHOOL_IT_ADMIN):
            secret = demo_totp_secret(username)
            if not Authenticator.objects.filter(user=account, type=Authenticator.Type.TOTP).exists():
                Authenticator.objects.create(
                    user=account,
                    type=Authenticator.Type.TOTP,
                    data={"secret": get_mfa_adapter().encrypt(secret)},
                )
        out.append(DemoAccount(username, full_name, role, scope, secret, base_url_for(school.slug if school else None)))
    _seed_school_content(schools)
    return out


def _seed_school_content(schools: dict[str, School]) -> None:
    """Each demo school gets its year, classes and students; Nguyễn Du also its teachers' work."""
    ids = dict(Account.objects.filter(username__in=[a[0] for a in ACCOUNTS]).values_list("username", "pk"))
    for slug, school in schools.items():
        staff = {}
        if slug == "thcs-nguyen-du":
            staff = {
                "homeroom": ids.get("nguyendu.gvcn"),
                "subject": ids.get("nguyendu.gvbm"),
                "department_head": ids.get("nguyendu.totruong"),
                "parent": ids.get("nguyendu.phuhuynh"),
            }
        elif slug == "th-nam-loi":
            staff = {"homeroom": ids.get("namloi.gvcn")}  # 1A1's homeroom teacher: TT27 qualities, conduct, year end
        perschool.seed_demo(
            school.schema_name, school_id=school.pk, levels=list(school.levels), staff=staff, today=timezone.localdate()
        )
