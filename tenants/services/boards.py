"""“Nhắc trường chậm”: the board's late schools' principals get a notice (and its e-mail copy) through the window
jobs' notices (``tenants.reminders._notify``), at most one a day per school and window (the notice's key), each
school reminded written in the platform audit trail."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from hocba.kernel import context
from hocba.kernel.errors import render
from hocba.kernel.roles import Role

from ..models import Account, Membership, PlatformAuditEntry
from ..reminders import SIGNATURE, _domains, _mail, _notify, fmt_local, site_url
from ..selectors.boards import SchoolRow

ACTION = "board.remind"


@dataclass(frozen=True)
class RemindResult:
    reminded: tuple[int, ...]  # schools whose principals got the notice now
    already: tuple[int, ...]  # schools reminded earlier today for the same window
    without_principal: tuple[int, ...]  # late schools with no principal to tell


def remind_key(window_id: int, day: dt.date) -> str:
    return f"board-remind:{window_id}:{day.isoformat()}"


def _text(row: SchoolRow, actor: Account) -> tuple[str, str]:
    with translation.override("vi"):
        category = row.next_category_label
        lock = fmt_local(row.next_lock_at)
        title = render(_("Nhắc tiến độ: «%(category)s» khóa lúc %(lock)s"), {"category": category, "lock": lock})
        lines = [
            render(_("Kính gửi Hiệu trưởng %(school)s,"), {"school": row.name}),
            "",
            render(
                _(
                    "Dữ liệu «%(category)s» của nhà trường sẽ khóa lúc %(lock)s; đến nay mới hoàn thành "
                    "%(pct)s phần trăm. Đề nghị nhà trường đôn đốc hoàn thành trước hạn khóa."
                ),
                {"category": category, "lock": lock, "pct": row.completion if row.completion is not None else 0},
            ),
            "",
            render(_("Người nhắc: %(name)s"), {"name": actor.full_name or actor.username}),
            "",
            render(SIGNATURE),
        ]
    return title[:200], "\n".join(lines)


def remind_late_schools(*, actor: Account, rows: Iterable[SchoolRow], day: dt.date) -> RemindResult:
    """Notify the principals (in force on ``day``) of the late ``rows``: one notice per principal under the key of
    the school's next window and the day, so a second press the same day sends nothing; an audit entry per school
    reminded. Queries: the principals, the domains, one insert per window, one audit insert."""
    late = [r for r in rows if r.late and r.next_window_id is not None]
    if not late:
        return RemindResult((), (), ())
    principals: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for school_id, account_id, email in (
        Membership.objects.on(day)
        .filter(school_id__in=[r.id for r in late], role=Role.PRINCIPAL, account__is_active=True)
        .values_list("school_id", "account_id", "account__email")
        .order_by("school_id", "account_id")
    ):
        principals[school_id].append((account_id, email))
    domains = _domains(r.id for r in late)
    by_window: dict[int, list[SchoolRow]] = defaultdict(list)
    for r in late:
        if principals.get(r.id):
            by_window[r.next_window_id].append(r)
    reminded, already, mails = [], [], []
    ctx = context.current()
    with transaction.atomic():
        for window_id, schools in by_window.items():
            notices, texts = [], {}
            for r in schools:
                title, body = _text(r, actor)
                url = site_url(domains.get(r.id, ""), "/")
                texts[r.id] = (title, body)
                notices += [(account_id, title, body, url) for account_id, _email in principals[r.id]]
            new = _notify(notices, remind_key(window_id, day))
            for r in schools:
                told = [(a, e) for a, e in principals[r.id] if a in new]
                (reminded if told else already).append(r)
                mails += [(*texts[r.id], settings.DEFAULT_FROM_EMAIL, [e]) for _a, e in told if e]
        PlatformAuditEntry.objects.bulk_create(
            [
                PlatformAuditEntry(
                    actor=actor,
                    actor_name=actor.username,
                    role=ctx.role,
                    ip=ctx.ip or None,
                    request_id=ctx.request_id,
                    source=ctx.source,
                    action=ACTION,
                    object_type="school",
                    object_id=str(r.id),
                    school_id=r.id,
                    after={
                        "window_id": r.next_window_id,
                        "category": r.next_category,
                        "locks_at": r.next_lock_at.isoformat(),
                        "completion": r.completion,
                        "principals": sum(1 for a, _e in principals[r.id]),
                    },
                )
                for r in reminded
            ]
        )
    _mail(mails)
    return RemindResult(
        tuple(r.id for r in reminded),
        tuple(r.id for r in already),
        tuple(r.id for r in late if not principals.get(r.id)),
    )
