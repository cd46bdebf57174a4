"""Who may do what inside one school: roles from the public memberships, rows from this school's data.

Computed once per request in a constant number of queries; every school view, API and service asks
this object, never the role names directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from hocba.kernel.access import request_access
from hocba.kernel.roles import ROLE_CAPABILITIES, Role

LEADERSHIP = frozenset({Role.PRINCIPAL, Role.VICE_PRINCIPAL})


@dataclass(frozen=True)
class SchoolAccess:
    account_id: int | None
    school_id: int
    roles: frozenset[Role]
    homeroom_class_ids: frozenset[int] = frozenset()
    assignments: frozenset[tuple[int, int]] = frozenset()  # (class id, subject id)
    # (class id, subject id, sheet column) of the assignments limited to some columns (a subject shared by teachers)
    column_grants: frozenset[tuple[int, int, str]] = frozenset()
    department_subject_ids: frozenset[int] = frozenset()
    child_ids: frozenset[int] = frozenset()

    def can(self, capability: str) -> bool:
        return any(capability in ROLE_CAPABILITIES[r] for r in self.roles)

    @property
    def is_leadership(self) -> bool:
        return bool(self.roles & LEADERSHIP)

    def may_enter_sheet(self, class_id: int, subject_id: int) -> bool:
        return self.can("sheets.enter") and (self.is_leadership or (class_id, subject_id) in self.assignments)

    def entry_columns(self, class_id: int, subject_id: int) -> frozenset[str] | None:
        """The sheet columns this person enters in a class × subject they may enter: ``None`` for every column (the
        school's leadership, the whole subject's teacher), else the columns of their part."""
        if self.is_leadership or not self.column_grants:
            return None
        own = frozenset(k for c, s, k in self.column_grants if c == class_id and s == subject_id)
        return own or None

    def may_manage_class(self, class_id: int) -> bool:
        """Conduct, attendance, awards, comments and submitting: the homeroom teacher of the class, or BGH."""
        return self.can("class.enter") and (self.is_leadership or class_id in self.homeroom_class_ids)

    def may_edit_profiles(self, class_id: int | None) -> bool:
        if not self.can("profiles.edit"):
            return False
        return (
            self.is_leadership
            or Role.CLERK in self.roles
            or (class_id is not None and class_id in self.homeroom_class_ids)
        )

    def may_see_identity(self, class_id: int | None, student_id: int | None = None) -> bool:
        """A student's personal data (``services.students.PERSONAL_FIELDS``): the school's leadership, the profile
        editors of the class, its homeroom teacher, and the student's own parents; not a subject teacher. Pages, API
        and exports ask ``selectors.personal_data_readable``, which says which class is the student's."""
        return (
            self.can("records.view_all")
            or self.may_edit_profiles(class_id)
            or (class_id is not None and class_id in self.homeroom_class_ids)
            or (student_id is not None and student_id in self.child_ids)
        )

    def may_read_class(self, class_id: int, subject_ids_of_class: frozenset[int] = frozenset()) -> bool:
        if self.can("records.view_all") or class_id in self.homeroom_class_ids:
            return True
        if any(c == class_id for c, _s in self.assignments):
            return True
        return bool(self.can("records.view_department") and subject_ids_of_class & self.department_subject_ids)

    def readable_subject_ids(self, class_id: int, all_subject_ids: frozenset[int]) -> frozenset[int]:
        """Which subjects of a class's records this person may read."""
        if self.can("records.view_all") or class_id in self.homeroom_class_ids:
            return all_subject_ids
        own = {s for c, s in self.assignments if c == class_id}
        if self.can("records.view_department"):
            own |= all_subject_ids & self.department_subject_ids
        return frozenset(own)


def school_access(account_id: int | None, school_id: int, roles: set[Role]) -> SchoolAccess:
    """One query for all the rows that scope this person inside the current school schema."""
    if account_id is None or not roles:
        return SchoolAccess(account_id, school_id, frozenset(roles))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'homeroom', c.id, 0, '' FROM schools_schoolclass c
             JOIN schools_schoolyear y ON y.id = c.year_id WHERE c.homeroom_teacher_id = %(a)s
            UNION ALL SELECT 'assignment', t.school_class_id, t.subject_id, '' FROM schools_teachingassignment t
             WHERE t.teacher_id = %(a)s
            UNION ALL SELECT 'column', t.school_class_id, t.subject_id, k FROM schools_teachingassignment t,
                   unnest(t.columns) AS k WHERE t.teacher_id = %(a)s
            UNION ALL SELECT 'department', s.id, 0, '' FROM schools_subject s
             JOIN schools_department d ON d.id = s.department_id WHERE d.head_id = %(a)s
            UNION ALL SELECT 'child', g.student_id, 0, '' FROM schools_guardianlink g WHERE g.account_id = %(a)s
            """,
            {"a": account_id},
        )
        rows = cursor.fetchall()
    return SchoolAccess(
        account_id,
        school_id,
        frozenset(roles),
        homeroom_class_ids=frozenset(r[1] for r in rows if r[0] == "homeroom"),
        assignments=frozenset((r[1], r[2]) for r in rows if r[0] == "assignment"),
        column_grants=frozenset((r[1], r[2], r[3]) for r in rows if r[0] == "column"),
        department_subject_ids=frozenset(r[1] for r in rows if r[0] == "department"),
        child_ids=frozenset(r[1] for r in rows if r[0] == "child"),
    )


def request_school_access(request) -> SchoolAccess:
    cached = getattr(request, "_hocba_school_access", None)
    if cached is None:
        school = request.tenant
        user = request.user
        roles = request_access(request).school_roles(school.pk) if user.is_authenticated else set()
        cached = school_access(user.pk if user.is_authenticated else None, school.pk, roles)
        request._hocba_school_access = cached
    return cached
