"""What the history page's filters offer: the people who act in the school, students found by name."""

from __future__ import annotations

from hocba.kernel.roles import Role
from hocba.kernel.text import fold

from tenants.selectors import membership_list

from ..models import Student


def school_people(school_id: int) -> list[tuple[int, str]]:
    """Accounts that hold or held a staff role in the school (ended roles too: the history is older)."""
    people: dict[int, str] = {}
    for m in membership_list(school_ids=[school_id], include_ended=True):
        if m.role != Role.PARENT:
            people.setdefault(m.account_id, m.full_name or m.username)
    return sorted(people.items(), key=lambda p: fold(p[1]))


def student_named(pk: int) -> dict:
    """``{"id", "full_name"}`` of a student, or ``#<id>`` as the name when the school has no such student."""
    return Student.objects.filter(pk=pk).values("id", "full_name").first() or {"id": pk, "full_name": f"#{pk}"}


def students_matching(text: str, *, limit: int) -> list[dict]:
    """Students whose name contains ``text`` (marks and case ignored), in Vietnamese order."""
    return list(
        Student.objects.filter(search_name__contains=fold(text))
        .order_by("sort_key", "pk")
        .values("id", "full_name")[:limit]
    )
