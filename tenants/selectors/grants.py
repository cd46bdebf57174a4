"""Read grants as their holders, their schools and the middleware see them: plain frozen dataclasses, the database
clock (``now()``) deciding whether a grant is still in force, a constant number of queries per call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now

from ..models import AccessGrant, GrantStatus, PlatformAuditEntry
from .access import ReadGrant

READ_ACTION = "grant.read"
READS_SHOWN = 200  # the school's page shows the latest reads; the platform log keeps them all


@dataclass(frozen=True)
class GrantInfo:
    id: int
    account_id: int
    account_name: str
    school_id: int
    targets_label: str
    purpose: str
    until: dt.datetime
    status: str
    status_label: str
    in_force: bool  # approved, not revoked, and the database clock has not passed ``until``
    lapsed: bool  # approved and the database clock has passed ``until``
    requested_at: dt.datetime
    decided_by_name: str
    decided_at: dt.datetime | None
    decision_note: str
    revoked_by_name: str
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class GrantRead:
    at: dt.datetime
    grant_id: int
    account_name: str
    student_id: int | None
    student_name: str
    year: str


def _annotated(qs):
    return qs.annotate(
        in_force=Case(
            When(Q(status=GrantStatus.APPROVED) & Q(until__gt=Now()), then=Value(True)), default=Value(False)
        ),
        lapsed=Case(When(Q(status=GrantStatus.APPROVED) & Q(until__lte=Now()), then=Value(True)), default=Value(False)),
        account_name=F("account__full_name"),
        account_username=F("account__username"),
        decided_by_name=F("decided_by__full_name"),
        revoked_by_name=F("revoked_by__full_name"),
    )


def _info(g) -> GrantInfo:
    return GrantInfo(
        id=g.pk,
        account_id=g.account_id,
        account_name=g.account_name or g.account_username,
        school_id=g.school_id,
        targets_label=g.targets_label,
        purpose=g.purpose,
        until=g.until,
        status=g.status,
        status_label=str(GrantStatus(g.status).label),
        in_force=g.in_force,
        lapsed=g.lapsed,
        requested_at=g.requested_at,
        decided_by_name=g.decided_by_name or "",
        decided_at=g.decided_at,
        decision_note=g.decision_note,
        revoked_by_name=g.revoked_by_name or "",
        revoked_at=g.revoked_at,
    )


def grant_list(*, school_id: int, account_id: int | None = None, status: str | None = None) -> list[GrantInfo]:
    """The school's grants, newest first (one query); with ``account_id``, that holder's only; with ``status``, those
    in that state only."""
    qs = AccessGrant.objects.filter(school_id=school_id)
    if status is not None:
        qs = qs.filter(status=status)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return [_info(g) for g in _annotated(qs).order_by("-requested_at", "-id")]


def grant_get(*, grant_id: int, school_id: int) -> GrantInfo | None:
    """One grant of this school (None for another school's id)."""
    g = _annotated(AccessGrant.objects.filter(pk=grant_id, school_id=school_id)).first()
    return _info(g) if g is not None else None


def grant_of_holder(*, grant_id: int, account_id: int) -> GrantInfo | None:
    """One of the account's own grants (None for anyone else's)."""
    g = _annotated(AccessGrant.objects.filter(pk=grant_id, account_id=account_id)).first()
    return _info(g) if g is not None else None


def read_grants_in_force(*, account_id: int, school_id: int) -> tuple[tuple[ReadGrant, ...], bool]:
    """The account's grants in force at the school, and whether it held one there that has ended (expired or
    revoked) — the refusal then says so. One query."""
    rows = list(
        AccessGrant.objects.filter(account_id=account_id, school_id=school_id)
        .filter(Q(status=GrantStatus.APPROVED) | Q(status=GrantStatus.REVOKED))
        .annotate(
            live=Case(When(Q(status=GrantStatus.APPROVED) & Q(until__gt=Now()), then=Value(True)), default=Value(False))
        )
        .values_list("pk", "student_ids", "class_ids", "until", "live")
    )
    live = tuple(
        ReadGrant(pk, school_id, frozenset(students), frozenset(classes), until)
        for pk, students, classes, until, in_force in rows
        if in_force
    )
    return live, any(not in_force for *_rest, in_force in rows)


def grant_reads(*, school_id: int, grant_id: int | None = None, limit: int = READS_SHOWN) -> list[GrantRead]:
    """The reads under the school's grants, newest first (one query)."""
    qs = PlatformAuditEntry.objects.filter(action=READ_ACTION, school_id=school_id, object_type="accessgrant")
    if grant_id is not None:
        qs = qs.filter(object_id=str(grant_id))
    rows = qs.select_related("actor").order_by("-at", "-id")[:limit]
    return [
        GrantRead(
            at=e.at,
            grant_id=int(e.object_id),
            account_name=(e.actor.full_name or e.actor.username) if e.actor else e.actor_name,
            student_id=(e.after or {}).get("student_id"),
            student_name=(e.after or {}).get("student_name", ""),
            year=(e.after or {}).get("year", ""),
        )
        for e in rows
    ]
