"""Read grants: an officer asks, the school's principal approves or refuses, either ends it early; every read under a
grant is a platform audit entry. A grant opens the record book's read-only page of the named students only (004 art.
10.3: printing, stamping and keeping stay at the school) — never a profile, sheet, print, PDF or export."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.forms import local_text

from ..models import AccessGrant, Account, GrantStatus, School
from ..selectors import access_for
from ..selectors.grants import READ_ACTION
from .audit import audit_record


def max_days() -> int:
    return int(getattr(settings, "HOCBA_GRANT_MAX_DAYS", 7))


def _db_now() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def _grant_dict(g: AccessGrant) -> dict:
    return {
        "account_id": g.account_id,
        "school_id": g.school_id,
        "class_ids": list(g.class_ids),
        "student_ids": list(g.student_ids),
        "targets": g.targets_label,
        "purpose": g.purpose,
        "until": g.until,
        "status": g.status,
    }


@transaction.atomic
def grant_request(
    *,
    actor: Account,
    school: School,
    class_ids: list[int],
    student_ids: list[int],
    targets_label: str,
    purpose: str,
    until: dt.datetime | None,
) -> AccessGrant:
    """Ask ``school`` to let ``actor`` read the named records until ``until`` (at most ``HOCBA_GRANT_MAX_DAYS``)."""
    if not access_for(actor).has_in_school("grants.request", school.pk):
        raise NotAllowed("grants.out_of_scope", _("Trường này nằm ngoài phạm vi bạn được xin quyền xem học bạ."))
    if school.status != "active":
        raise DomainError("grants.school_closed", _("Trường này không còn hoạt động."))
    purpose = (purpose or "").strip()
    if not purpose:
        raise DomainError("grants.purpose_required", _("Cần ghi mục đích xem học bạ."), field="purpose")
    if not class_ids and not student_ids:
        raise DomainError("grants.no_records", _("Cần chọn lớp hoặc học sinh muốn xem học bạ."), field="class_ids")
    if until is None:
        raise DomainError("grants.until_required", _("Cần thời hạn của quyền xem."), field="until")
    now = _db_now()
    if until <= now:
        raise DomainError("grants.until_past", _("Thời hạn phải ở sau thời điểm hiện tại."), field="until")
    days = max_days()
    if until > now + dt.timedelta(days=days):
        raise DomainError(
            "grants.until_too_far",
            _("Quyền xem học bạ kéo dài tối đa %(days)s ngày (đến %(latest)s)."),
            params={"days": days, "latest": local_text(now + dt.timedelta(days=days))},
            field="until",
        )
    grant = AccessGrant.objects.create(
        account=actor,
        school=school,
        class_ids=sorted(set(class_ids)),
        student_ids=sorted(set(student_ids)),
        targets_label=targets_label[:1000],
        purpose=purpose[:500],
        until=until,
    )
    audit_record(actor=actor, action="grant.request", obj=grant, after=_grant_dict(grant), school_id=school.pk)
    return grant


def _decider_check(actor: Account, grant: AccessGrant) -> None:
    if not access_for(actor).has_in_school("grants.decide", grant.school_id):
        raise NotAllowed("grants.not_principal", _("Chỉ hiệu trưởng của trường mới quyết định quyền xem học bạ."))


def _locked(grant_id: int, school_id: int | None) -> AccessGrant:
    """The grant, locked; another school's id reads as absent."""
    qs = AccessGrant.objects.select_for_update().filter(pk=grant_id)
    if school_id is not None:
        qs = qs.filter(school_id=school_id)
    grant = qs.first()
    if grant is None:
        raise DomainError("grants.not_found", _("Không tìm thấy quyền xem này."), http_status=404)
    return grant


@transaction.atomic
def grant_decide(*, actor: Account, grant_id: int, school_id: int, approve: bool, note: str = "") -> AccessGrant:
    grant = _locked(grant_id, school_id)
    _decider_check(actor, grant)
    if grant.status != GrantStatus.REQUESTED:
        raise DomainError("grants.already_decided", _("Đề nghị này đã được quyết định."))
    if approve and grant.until <= _db_now():
        raise DomainError("grants.request_lapsed", _("Thời hạn xin xem đã qua; người xin cần gửi đề nghị mới."))
    before = _grant_dict(grant)
    grant.status = GrantStatus.APPROVED if approve else GrantStatus.REFUSED
    grant.decided_by = actor
    grant.decided_at = timezone.now()
    grant.decision_note = (note or "").strip()[:300]
    grant.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="grant.approve" if approve else "grant.refuse",
        obj=grant,
        before=before,
        after=_grant_dict(grant),
        school_id=grant.school_id,
    )
    return grant


@transaction.atomic
def grant_revoke(*, actor: Account, grant_id: int, school_id: int | None = None) -> AccessGrant:
    """The school's principal, or the holder, ends an approved grant before its time (``school_id``: the school whose
    site asks; None on the platform site, where only the holder's own grants are offered)."""
    grant = _locked(grant_id, school_id)
    if grant.account_id != actor.pk:
        _decider_check(actor, grant)
    if grant.status != GrantStatus.APPROVED:
        raise DomainError("grants.not_in_force", _("Quyền xem này không còn hiệu lực."))
    before = _grant_dict(grant)
    grant.status = GrantStatus.REVOKED
    grant.revoked_by = actor
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["status", "revoked_by", "revoked_at"])
    audit_record(
        actor=actor,
        action="grant.revoke",
        obj=grant,
        before=before,
        after=_grant_dict(grant),
        school_id=grant.school_id,
    )
    return grant


def grant_read_record(
    *, actor: Account, grant_id: int, school_id: int, student_id: int, student_name: str, year: str
) -> None:
    """One read of one record under a grant: a platform audit entry (the school's grant page lists them)."""
    audit_record(
        actor=actor,
        action=READ_ACTION,
        obj=AccessGrant(pk=grant_id),
        after={"student_id": student_id, "student_name": student_name, "year": year},
        school_id=school_id,
    )
