"""A student's enrolments, parents' accounts and awards (of a student the caller has already been allowed to
see: ``scope.student_visible``), whose personal data one may read, the parents' accounts of the school, a parent's
children, a record by its id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError

from tenants.selectors import account_briefs, account_names, school_member_ids

from ..access import SchoolAccess
from ..models import AwardDiscipline, Enrolment, GuardianLink, RecordBook, Student
from .scope import not_found


def enrolment_history(student: Student) -> list[Enrolment]:
    return list(
        Enrolment.objects.filter(student=student).select_related("school_class__year").order_by("starts_on", "pk")
    )


def current_class_id(history: list[Enrolment]) -> int | None:
    return next((e.school_class_id for e in reversed(history) if e.ends_on is None), None)


def personal_data_readable(access: SchoolAccess, student_ids: Iterable[int]) -> frozenset[int]:
    """Of these students (already visible to this person), those whose personal data (``PERSONAL_FIELDS``: identity
    number, address, guardians, ethnicity, place of birth…) this person may read — the one rule every page, API and
    export asks.

    The profile keepers: the school's leadership and office (every student), the homeroom teacher of the class the
    student is in now (or, once they left the school, was in last), the student's own parents. Not a subject teacher,
    a department head, the school's IT admin, nor the homeroom teacher of another class. At most one statement.
    """
    ids = frozenset(student_ids)
    if access.may_see_identity(None):  # leadership, office: the whole school, whatever the class
        return ids
    own = frozenset(sid for sid in ids if access.may_see_identity(None, sid))  # one's own children
    if not access.homeroom_class_ids or not ids - own:
        return own
    latest = (
        Enrolment.objects.filter(student_id__in=ids - own)
        .order_by("student_id", F("ends_on").desc(nulls_first=True), "-starts_on", "-pk")
        .distinct("student_id")
        .values_list("student_id", "school_class_id")
    )
    return own | frozenset(sid for sid, class_id in latest if access.may_see_identity(class_id, sid))


def current_enrolment(student: Student) -> Enrolment:
    """The enrolment the student is in now; refused once they left the school."""
    enrolment = (
        Enrolment.objects.filter(student=student, ends_on__isnull=True).select_related("school_class__year").first()
    )
    if enrolment is None:
        raise DomainError(
            "students.not_enrolled",
            gettext_lazy("Học sinh %(name)s hiện không theo học ở trường (đã chuyển đi hoặc thôi học)."),
            params={"name": student.full_name},
        )
    return enrolment


def guardian_account_ids(student: Student) -> list[int]:
    return list(GuardianLink.objects.filter(student=student).values_list("account_id", flat=True))


def _same_name(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def record_guardians(student: Student) -> list[dict[str, Any]]:
    """Every parent or guardian of the student as the record book names them: those of the profile (name and relation,
    in its order), then the parents' accounts linked to the student that the profile does not name (``account``:
    the person has an account that reads the book). Names and relations only — personal data all the same: ask
    ``personal_data_readable`` first. Two statements."""
    relations = _link_relations(student)
    names = account_names(relations)
    linked = {_same_name(n): (n, relations[pk]) for pk, n in names.items() if n}
    out = []
    for g in student.guardians or []:
        if isinstance(g, dict) and str(g.get("name") or "").strip():
            key = _same_name(g["name"])
            relation = str(g.get("relation") or "") or (linked[key][1] if key in linked else "")
            out.append({"name": str(g["name"]).strip(), "relation": relation, "account": key in linked})
            linked.pop(key, None)
    out += [
        {"name": n, "relation": relation, "account": True}
        for n, relation in sorted(linked.values(), key=lambda item: _same_name(item[0]))
    ]
    return out


def _link_relations(student: Student) -> dict[int, str]:
    """{account id: relation} of the parents' accounts linked to the student."""
    return dict(GuardianLink.objects.filter(student=student).values_list("account_id", "relation"))


def guardian_accounts(student: Student) -> list[dict[str, Any]]:
    """The parents' accounts linked to the student: id, username, full name and relation to the student, by name."""
    relations = _link_relations(student)
    return [{**row, "relation": relations.get(row["account"], "")} for row in _account_rows(relations)]


def parent_accounts_of_school(school_id: int) -> list[dict[str, Any]]:
    """Every account holding the role "parent" in the school today (the accounts one may link)."""
    return _account_rows(school_member_ids(school_id, ["parent"]))


def _account_rows(account_ids: Iterable[int]) -> list[dict[str, Any]]:
    return sorted(
        ({"account": a.id, "username": a.username, "full_name": a.full_name} for a in account_briefs(account_ids)),
        key=lambda r: (r["full_name"], r["account"]),
    )


def awards_of(student: Student, year_id: int) -> list[AwardDiscipline]:
    return list(AwardDiscipline.objects.filter(student=student, year_id=year_id).order_by("decided_on", "pk"))


def student_names(student_ids: Iterable[int]) -> dict[int, str]:
    return dict(Student.objects.filter(pk__in=student_ids).values_list("pk", "full_name"))


def children_with_records(child_ids: frozenset[int]) -> list[tuple[Student, RecordBook | None]]:
    """A parent's linked children (Vietnamese order) with each one's latest record."""
    students = list(Student.objects.filter(pk__in=child_ids).order_by("sort_key", "pk"))
    latest: dict[int, RecordBook] = {}
    for record in (
        RecordBook.objects.filter(student_id__in=child_ids)
        .select_related("school_class__year")
        .order_by("student_id", "-year__start_year")
    ):
        latest.setdefault(record.student_id, record)
    return [(s, latest.get(s.pk)) for s in students]


def record_get(pk: int, *, with_student: bool = False) -> RecordBook:
    """A record by its id (404 if this school has none); the services decide who may act on it."""
    records = RecordBook.objects.select_related("student") if with_student else RecordBook.objects
    record = records.filter(pk=pk).first()
    if record is None:
        raise not_found()
    return record
