"""Roles and the capabilities they carry — the one table that maps the two.

A capability is a dotted name (``memberships.grant``). A membership gives a role in one scope (a unit
or a school); the role's capabilities hold in that scope: in a unit they reach every unit and school
below it on the day asked about, in a school only that school.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Tier(StrEnum):
    PROVINCE = "province"
    UNIT = "unit"
    SCHOOL = "school"


class Role(StrEnum):
    PROVINCE_ADMIN = "province_admin"
    PROVINCE_INSPECTOR = "province_inspector"
    UNIT_ADMIN = "unit_admin"
    UNIT_STAFF = "unit_staff"
    PRINCIPAL = "principal"
    VICE_PRINCIPAL = "vice_principal"
    SCHOOL_IT_ADMIN = "school_it_admin"
    HOMEROOM_TEACHER = "homeroom_teacher"
    SUBJECT_TEACHER = "subject_teacher"
    DEPARTMENT_HEAD = "department_head"
    CLERK = "clerk"
    PARENT = "parent"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def tier(self) -> Tier:
        return ROLE_TIERS[self]


ROLE_LABELS = {
    Role.PROVINCE_ADMIN: _("Quản trị cấp Sở"),
    Role.PROVINCE_INSPECTOR: _("Thanh tra cấp Sở"),
    Role.UNIT_ADMIN: _("Quản trị cấp Phòng/xã"),
    Role.UNIT_STAFF: _("Chuyên viên cấp Phòng/xã"),
    Role.PRINCIPAL: _("Hiệu trưởng"),
    Role.VICE_PRINCIPAL: _("Phó hiệu trưởng"),
    Role.SCHOOL_IT_ADMIN: _("Quản trị CNTT của trường"),
    Role.HOMEROOM_TEACHER: _("Giáo viên chủ nhiệm"),
    Role.SUBJECT_TEACHER: _("Giáo viên bộ môn"),
    Role.DEPARTMENT_HEAD: _("Tổ trưởng chuyên môn"),
    Role.CLERK: _("Nhân viên văn phòng"),
    Role.PARENT: _("Phụ huynh"),
}

ROLE_TIERS = {
    Role.PROVINCE_ADMIN: Tier.PROVINCE,
    Role.PROVINCE_INSPECTOR: Tier.PROVINCE,
    Role.UNIT_ADMIN: Tier.UNIT,
    Role.UNIT_STAFF: Tier.UNIT,
    **{
        r: Tier.SCHOOL
        for r in (
            Role.PRINCIPAL,
            Role.VICE_PRINCIPAL,
            Role.SCHOOL_IT_ADMIN,
            Role.HOMEROOM_TEACHER,
            Role.SUBJECT_TEACHER,
            Role.DEPARTMENT_HEAD,
            Role.CLERK,
            Role.PARENT,
        )
    },
}

# Administrative roles must use a second factor (DESIGN §4).
MFA_REQUIRED_ROLES = frozenset({Role.PROVINCE_ADMIN, Role.UNIT_ADMIN, Role.PRINCIPAL, Role.SCHOOL_IT_ADMIN})

# Every capability the platform knows, with what it lets a person do.
CAPABILITIES: dict[str, str] = {
    "platform.home": "see one's home page",
    "units.view": "see the units in scope",
    "units.manage": "create, rename, move, merge and close units in scope",
    "schools.view": "see the schools in scope",
    "schools.manage": "create schools, move them between units, close them",
    "accounts.view": "see the accounts that hold a membership in scope",
    "accounts.manage": "create accounts for people in scope",
    "memberships.grant": "give and end roles in scope (only roles the granter may grant)",
    "audit.view": "read the platform audit trail of the scope",
    "boards.view": "see the board of the schools in scope: their figures, filtered, sorted, by unit",
    "boards.export": "download the board of the schools in scope as a spreadsheet",
    "statistics.view": "see the statistics of the schools in scope: counts and result distributions, from rollups",
    "statistics.export": "download the statistics of the schools in scope as a spreadsheet",
    "boards.remind": "notify the principals of the schools late for their next lock (at most once a day each)",
    "school.enter": "open the school's pages",
    "school.staff.view": "see the school's staff list",
    "summary.view": "see the school's own figures as its boards show them: per class, at each lock, over time",
    # inside a school; which rows is decided by the school's selectors (own class, assigned subject…)
    "school.setup": "manage the school's years, curriculum, classes and teaching assignments",
    "records.view_all": "read every record of the school",
    "records.view_department": "read the records of one's department's subjects",
    "records.view_class": "read the records of one's homeroom class",
    "records.view_child": "read one's own child's approved record",
    "profiles.edit": "create and edit student profiles and enrolments (homeroom teacher: own class)",
    "sheets.enter": "enter scores and comments (subject teacher: assigned class × subject)",
    "class.enter": "enter conduct, attendance, awards and comments of one's homeroom class",
    "records.submit": "submit one's homeroom class's records",
    "exemptions.record": "record and revoke the principal's decisions exempting a student from a subject or its part",
    "records.approve": "approve records",
    "records.reopen": "reopen an approved record, with a reason",
    "records.sign": "sign approved records: one's subjects (teaching assignment), homeroom class, or as principal",
    "records.seal": "apply the school's organisation seal, closing a record's chain of signatures",
    "records.signing": "open a class's signing page (each record's chain of signatures) and one's device signing API",
    "records.lock": "lock the signed and archived records of the year (the principal's khóa decision)",
    "records.revoke": "revoke a signed or locked record, with a reason, so that it can be corrected and signed again",
    "records.archive": "archive the sealed records of a class or of the year (the archive jobs) and see the archive",
    "records.export": "download the archived bundles of a class or the year and make a leaving student's hand-over",
    "school.audit.view": "read the school's audit history",
    "windows.view": "see the open/lock windows that apply in scope",
    "windows.schedule": "schedule open/lock windows for the scope (a principal: lock the school early)",
    "windows.decide": "approve or refuse exceptions to the windows one's tier set",
    "windows.request": "ask for an exception to a lock, for named classes or students",
    "grants.request": "ask a school in scope to let one read named students' records for a while",
    "grants.decide": "approve, refuse and revoke requests to read the school's records; see every read under them",
    "records.view_granted": "read, and only read, the records a principal's grant names, until it ends",
}

# Held through an approved, unexpired read grant only, never through a role: the record book's read-only page of the
# granted students at that school (no profile, sheet, class page, print, PDF or export).
GRANT_HOLDER_CAPABILITIES = frozenset({"records.view_granted"})

ROLE_CAPABILITIES: dict[Role, frozenset[str]] = {
    Role.PROVINCE_ADMIN: frozenset(
        {
            "platform.home",
            "units.view",
            "units.manage",
            "schools.view",
            "schools.manage",
            "accounts.view",
            "accounts.manage",
            "memberships.grant",
            "audit.view",
            "windows.view",
            "windows.schedule",
            "windows.decide",
            "boards.view",
            "boards.export",
            "boards.remind",
            "statistics.view",
            "statistics.export",
        }
    ),
    Role.PROVINCE_INSPECTOR: frozenset(
        {
            "platform.home",
            "units.view",
            "schools.view",
            "audit.view",
            "windows.view",
            "grants.request",
            "boards.view",
            "boards.export",
            "statistics.view",
            "statistics.export",
        }
    ),
    Role.UNIT_ADMIN: frozenset(
        {
            "platform.home",
            "units.view",
            "schools.view",
            "accounts.view",
            "accounts.manage",
            "memberships.grant",
            "audit.view",
            "windows.view",
            "windows.schedule",
            "windows.decide",
            "boards.view",
            "boards.export",
            "boards.remind",
            "statistics.view",
            "statistics.export",
        }
    ),
    Role.UNIT_STAFF: frozenset(
        {
            "platform.home",
            "units.view",
            "schools.view",
            "windows.view",
            "grants.request",
            "boards.view",
            "boards.export",
            "boards.remind",
            "statistics.view",
            "statistics.export",
        }
    ),
    Role.PRINCIPAL: frozenset(
        {
            "platform.home",
            "school.enter",
            "school.staff.view",
            "summary.view",
            "accounts.view",
            "accounts.manage",
            "memberships.grant",
            "audit.view",
            "school.setup",
            "records.view_all",
            "profiles.edit",
            "exemptions.record",
            "sheets.enter",
            "class.enter",
            "records.approve",
            "records.reopen",
            "records.sign",
            "records.seal",
            "records.signing",
            "records.lock",
            "records.revoke",
            "records.archive",
            "records.export",
            "school.audit.view",
            "windows.view",
            "windows.schedule",
            "windows.request",
            "grants.decide",
        }
    ),
    Role.VICE_PRINCIPAL: frozenset(
        {
            "platform.home",
            "school.enter",
            "school.staff.view",
            "summary.view",
            "school.setup",
            "records.view_all",
            "profiles.edit",
            "exemptions.record",
            "sheets.enter",
            "class.enter",
            "records.approve",
            "records.sign",
            "records.signing",
            "windows.view",
        }
    ),
    Role.SCHOOL_IT_ADMIN: frozenset(
        {
            "platform.home",
            "school.enter",
            "school.staff.view",
            "accounts.view",
            "accounts.manage",
            "memberships.grant",
            "school.setup",
        }
    ),
    Role.HOMEROOM_TEACHER: frozenset(
        {
            "platform.home",
            "school.enter",
            "records.view_class",
            "profiles.edit",
            "class.enter",
            "records.submit",
            "sheets.enter",
            "records.sign",
            "records.signing",
        }
    ),
    Role.SUBJECT_TEACHER: frozenset(
        {"platform.home", "school.enter", "sheets.enter", "records.sign", "records.signing"}
    ),
    Role.DEPARTMENT_HEAD: frozenset(
        {
            "platform.home",
            "school.enter",
            "school.staff.view",
            "records.view_department",
            "sheets.enter",
            "records.sign",
            "records.signing",
        }
    ),
    Role.CLERK: frozenset(
        {"platform.home", "school.enter", "profiles.edit", "exemptions.record", "records.seal", "records.signing"}
    ),
    Role.PARENT: frozenset({"platform.home", "school.enter", "records.view_child"}),
}

_SCHOOL_STAFF_ROLES = frozenset(
    {Role.HOMEROOM_TEACHER, Role.SUBJECT_TEACHER, Role.DEPARTMENT_HEAD, Role.CLERK, Role.PARENT}
)
_ALL_SCHOOL_ROLES = frozenset(r for r, t in ROLE_TIERS.items() if t is Tier.SCHOOL)

# Which roles a holder of a role may grant, always inside the holder's own scope (004 art. 5.1, 11.2a).
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.PROVINCE_ADMIN: frozenset(Role),
    Role.UNIT_ADMIN: frozenset({Role.UNIT_ADMIN, Role.UNIT_STAFF}) | _ALL_SCHOOL_ROLES,
    Role.PRINCIPAL: (_ALL_SCHOOL_ROLES - {Role.PRINCIPAL}),
    Role.SCHOOL_IT_ADMIN: _SCHOOL_STAFF_ROLES,
}


def capabilities_of(role: Role | str) -> frozenset[str]:
    return ROLE_CAPABILITIES[Role(role)]


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, ROLE_LABELS[r]) for r in Role]


def _check_table() -> None:
    for role, caps in ROLE_CAPABILITIES.items():
        unknown = caps - CAPABILITIES.keys()
        if unknown:
            raise RuntimeError(f"role {role} names unknown capabilities {sorted(unknown)}")
    if set(ROLE_CAPABILITIES) != set(Role):
        raise RuntimeError("every role needs a row in ROLE_CAPABILITIES")
    if GRANT_HOLDER_CAPABILITIES - CAPABILITIES.keys():
        raise RuntimeError("grant capabilities must be known capabilities")
    if any(caps & GRANT_HOLDER_CAPABILITIES for caps in ROLE_CAPABILITIES.values()):
        raise RuntimeError("a grant's capabilities are held through a grant, never a role")


_check_table()
