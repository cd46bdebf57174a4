"""The open/lock window jobs (DESIGN §5): reminders before a lock, a compliance snapshot at the lock, the start
of the year-end sign-and-archive flow at a whole-year lock.

Each job is ONE beat entry (``tenants.tasks.window_reminders`` / ``window_snapshots`` / ``year_end_start``) that
plans the work in public and fans it out in chunks of schools (``plan_*`` → ``dispatch(window_id, chunk)``); a
chunk task asks each school through ``tenants.perschool`` and writes public rows.
Every step is idempotent: a marker row per (window, school) and a unique key per notice, so a job that runs
twice, or a chunk that is retried, sends nothing twice.

Enforcement never depends on any of this: the database refuses late writes by itself (0006/0003 SQL).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from hocba.env import runtime
from hocba.kernel import recordstates
from hocba.kernel.errors import render
from hocba.kernel.levels import grades_of
from hocba.kernel.schoolyear import school_year_of

from . import perschool
from .models import (
    Account,
    ComplianceSnapshot,
    DataCategory,
    Domain,
    Notification,
    School,
    SchoolRollup,
    Window,
    WindowReminder,
    WindowTier,
    YearEndStart,
)
from .rollup_outbox import drain_schools, drain_stale_of
from .rollups import outbox_mode
from .selectors import school_member_ids, school_placements_on, unit_tree_on
from .windows import setter_tiers

log = logging.getLogger(__name__)

CHUNK_SIZE = 200  # schools per chunk task
REMINDED_CATEGORIES = ("scores_1", "scores_2", "whole_year")  # schools.compliance.CATEGORY_TERMS
DEFAULT_REMIND_DAYS = 3
DEFAULT_SNAPSHOT_LOOKBACK_HOURS = 48  # a lock missed while the worker was down is still snapshotted
SIGNATURE = _("Hệ thống HọcBạ")  # the last line of every notice

Dispatch = Callable[[int, list], object]


def remind_days() -> float:
    """``HOCBA_WINDOW_REMIND_DAYS`` (default 3): how long before a lock the reminders go out."""
    return float(runtime("HOCBA_WINDOW_REMIND_DAYS", DEFAULT_REMIND_DAYS))


def snapshot_lookback() -> dt.timedelta:
    return dt.timedelta(hours=float(runtime("HOCBA_SNAPSHOT_LOOKBACK_HOURS", DEFAULT_SNAPSHOT_LOOKBACK_HOURS)))


def fmt_local(moment: dt.datetime) -> str:
    """dd/mm/yyyy HH:MM in the platform's time zone (Asia/Ho_Chi_Minh)."""
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


def chunked(rows: list, size: int | None = None) -> list[list]:
    size = size or CHUNK_SIZE
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# --- which schools a window covers ----------------------------------------------------------------


def window_schools(window: Window, day: dt.date | None = None) -> list[tuple[int, str]]:
    """(id, schema) of the active schools a window applies to on ``day`` (placements and units of that day, as
    ``hocba_school_units`` decides in the database), narrowed by the window's grades through the schools' levels."""
    day = day or timezone.localdate()
    if window.school_id is not None:
        qs = School.objects.filter(pk=window.school_id)
    else:
        units = unit_tree_on(day).descendants(window.unit_id)
        qs = School.objects.filter(pk__in=list(school_placements_on(day, unit_ids=units)))
    rows = qs.filter(status="active").order_by("pk").values_list("pk", "schema_name", "levels")
    return [(pk, schema) for pk, schema, levels in rows if covers_levels(window, levels)]


def covers_levels(window: Window, levels: Iterable[str] | None) -> bool:
    """Does the window's grade filter reach a school teaching ``levels`` (no filter: every school)?"""
    wanted = set(window.grades or [])
    return not wanted or bool(wanted & grades_of(levels))


def windows_of_schools(
    windows: Iterable[Window], *, tree, placements: dict[int, int], levels: dict[int, Iterable[str]]
) -> dict[int, list[Window]]:
    """``window_schools`` in memory for many windows at once: ``{school_id: [windows covering it]}`` for the active
    schools of ``levels`` (``{id: levels}``), given the unit tree and the placements of the day (no query)."""
    out: dict[int, list[Window]] = defaultdict(list)
    below: dict[int, set[int]] = {}
    for window in windows:
        if window.school_id is not None:
            hit = [window.school_id] if window.school_id in levels else []
        else:
            units = below.setdefault(window.unit_id, tree.descendants(window.unit_id) if tree else {window.unit_id})
            hit = [pk for pk in levels if placements.get(pk) in units]
        for pk in hit:
            if covers_levels(window, levels[pk]):
                out[pk].append(window)
    return out


def _domains(school_ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for tenant_id, domain, _primary in (
        Domain.objects.filter(tenant_id__in=list(school_ids))
        .values_list("tenant_id", "domain", "is_primary")
        .order_by("tenant_id", "-is_primary", "domain")
    ):
        out.setdefault(tenant_id, domain)
    return out


def site_url(domain: str, path: str) -> str:
    if not domain:
        return path
    if settings.DEBUG:
        return f"http://{domain}:{runtime('HOCBA_PORT', '8000')}{path}"
    return f"https://{domain}{path}"


# --- notices ----------------------------------------------------------------------------------------


def notifications_for(account_id: int, limit: int = 20) -> list[Notification]:
    """The account's latest notices, newest first (the in-app list)."""
    return list(Notification.objects.filter(account_id=account_id).order_by("-created_at", "-id")[:limit])


def unread_count(account_id: int) -> int:
    return Notification.objects.filter(account_id=account_id, read_at__isnull=True).count()


def _notify(rows: list[tuple[int, str, str, str]], key: str) -> set[int]:
    """Insert (account, title, body, url) notices under ``key``; one statement; the accounts newly notified
    (an account that already has a notice with this key gets nothing)."""
    if not rows:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_notification (account_id, title, body, url, key, created_at)
            SELECT u.a, u.t, u.b, u.u, %s, now()
              FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS u(a, t, b, u)
            ON CONFLICT DO NOTHING
            RETURNING account_id
            """,
            [key, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]],
        )
        return {r[0] for r in cursor.fetchall()}


def _mail(messages: list[tuple[str, str, str, list[str]]]) -> int:
    """The e-mail copies, after the notices are committed; a mail failure never undoes a notice."""
    if not messages:
        return 0
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception:  # noqa: BLE001 - the in-app notice stands; the failure is logged
        log.exception("window notices: %d e-mail(s) not sent", len(messages))
        return 0


def _labels(window: Window) -> tuple[str, str]:
    """The category and who set the window, by the setter's level (``setter_tiers``: the Sở may lock one school);
    worked out once per loaded window."""
    if not hasattr(window, "setter_tier"):
        window.setter_tier = setter_tiers([window])[window.pk]
    with translation.override("vi"):
        return str(DataCategory(window.category).label), str(WindowTier(window.setter_tier).label)


def _year_label(window: Window) -> str:
    return f"{window.year_start}–{window.year_start + 1}"


# --- reminders ----------------------------------------------------------------------------------------


def windows_to_remind(now: dt.datetime | None = None) -> list[Window]:
    now = now or timezone.now()
    return list(
        Window.objects.filter(
            cancelled_at__isnull=True,
            category__in=REMINDED_CATEGORIES,
            opens_at__lte=now,
            locks_at__gt=now,
            locks_at__lte=now + dt.timedelta(days=remind_days()),
        ).order_by("locks_at", "pk")
    )


def plan_reminders(dispatch: Dispatch, now: dt.datetime | None = None) -> dict:
    """Beat: windows locking within ``remind_days()`` → their schools not yet reminded → chunk tasks."""
    day = timezone.localdate(now) if now else timezone.localdate()
    windows = windows_to_remind(now)
    schools = chunks = 0
    for window in windows:
        done = set(WindowReminder.objects.filter(window=window).values_list("school_id", flat=True))
        todo = [[pk, schema] for pk, schema in window_schools(window, day) if pk not in done]
        for chunk in chunked(todo):
            dispatch(window.pk, chunk)
            chunks += 1
        schools += len(todo)
    return {"windows": len(windows), "schools": schools, "chunks": chunks}


def _reminder_text(window: Window, teacher_name: str, sheets: list[dict], url: str) -> tuple[str, str]:
    """The reminder's title and body, in Vietnamese (what the notice stores and the e-mail carries)."""
    category, tier = _labels(window)
    lock = fmt_local(window.locks_at)
    with translation.override("vi"):
        title = render(_("Nhắc nhập liệu: «%(category)s» khóa lúc %(lock)s"), {"category": category, "lock": lock})
        lines = [
            render(_("Kính gửi thầy/cô %(name)s,"), {"name": teacher_name}),
            "",
            render(
                _(
                    "Lịch nhập liệu «%(category)s» năm học %(year)s do %(tier)s đặt sẽ khóa lúc %(lock)s. "
                    "Sau thời điểm này mọi thay đổi sẽ bị từ chối."
                ),
                {"category": category, "year": _year_label(window), "tier": tier, "lock": lock},
            ),
            "",
            render(_("Các bảng điểm thầy/cô chưa nhập xong:")),
        ]
        for s in sheets:
            lines.append(
                render(
                    _("- Lớp %(class_name)s – môn %(subject)s (học kì %(term)s): đã nhập %(filled)s/%(required)s ô."),
                    {
                        "class_name": s["class_name"],
                        "subject": s["subject_name"],
                        "term": "I" if s["term"] == 1 else "II",
                        "filled": s["filled"],
                        "required": s["required"],
                    },
                )
            )
        if window.reason:
            lines += ["", render(_("Ghi chú của lịch: %(reason)s"), {"reason": window.reason})]
        lines += ["", render(_("Mở bảng điểm: %(url)s"), {"url": url}), "", render(SIGNATURE)]
    return title[:200], "\n".join(lines)


def remind_school(window: Window, school_id: int, schema_name: str, domain: str = "") -> dict:
    """One school: its unfinished sheets (inside its schema), one notice per teacher (never twice for a window),
    the school's pass marked done, then the e-mails."""
    sheets = perschool.unfinished_sheets(
        schema_name, year_start=window.year_start, category=window.category, grades=list(window.grades or [])
    )
    by_teacher: dict[int, list[dict]] = defaultdict(list)
    for s in sheets:
        for teacher_id in s.get("teacher_ids") or [s["teacher_id"]]:  # a shared subject: each unfinished part's teacher
            by_teacher[teacher_id].append(s)
    teachers = {a.pk: a for a in Account.objects.filter(pk__in=list(by_teacher), is_active=True)}
    rows, texts = [], {}
    for teacher_id, items in by_teacher.items():
        teacher = teachers.get(teacher_id)
        if teacher is None:
            continue
        first = items[0]
        url = site_url(domain, f"/classes/{first['class_id']}/sheets/{first['subject_id']}/{first['term']}/")
        title, body = _reminder_text(window, teacher.full_name or teacher.username, items, url)
        rows.append((teacher_id, title, body, url))
        texts[teacher_id] = (title, body)
    with transaction.atomic():
        new = _notify(rows, f"window-remind:{window.pk}")
        WindowReminder.objects.bulk_create(
            [
                WindowReminder(
                    window=window, school_id=school_id, sent_at=timezone.now(), teachers=len(rows), sheets=len(sheets)
                )
            ],
            ignore_conflicts=True,
        )
    mails = [
        (texts[t][0], texts[t][1], settings.DEFAULT_FROM_EMAIL, [teachers[t].email])
        for t in sorted(new)
        if teachers[t].email
    ]
    sent = _mail(mails)
    return {"sheets": len(sheets), "teachers": len(rows), "notified": len(new), "mailed": sent}


def remind_chunk(window_id: int, schools: list[list]) -> dict:
    """A chunk task's work: the window's reminders in each school of the chunk."""
    window = Window.objects.filter(pk=window_id).first()
    totals = {"schools": 0, "sheets": 0, "teachers": 0, "notified": 0, "mailed": 0}
    if window is None or window.cancelled_at is not None or window.locks_at <= timezone.now():
        return totals  # cancelled or already locked since it was planned: nothing to remind
    domains = _domains(pk for pk, _schema in schools)
    for school_id, schema_name in schools:
        got = remind_school(window, school_id, schema_name, domains.get(school_id, ""))
        totals["schools"] += 1
        for k in ("sheets", "teachers", "notified", "mailed"):
            totals[k] += got[k]
    return totals


# --- snapshots at the lock ----------------------------------------------------------------------------


def windows_locked_recently(now: dt.datetime | None = None) -> list[Window]:
    now = now or timezone.now()
    return list(
        Window.objects.filter(
            cancelled_at__isnull=True, locks_at__lte=now, locks_at__gt=now - snapshot_lookback()
        ).order_by("locks_at", "pk")
    )


def plan_snapshots(
    dispatch: Dispatch, dispatch_year_end: Dispatch | None = None, now: dt.datetime | None = None
) -> dict:
    """Beat (every minute): windows whose lock passed (within the look-back) → their schools without a snapshot
    → chunk tasks; a whole-year lock also starts the year-end flow for its schools."""
    windows = windows_locked_recently(now)
    out = {"windows": 0, "schools": 0, "chunks": 0, "year_end_chunks": 0}
    for window in windows:
        schools = window_schools(window, timezone.localdate(window.locks_at))
        done = set(ComplianceSnapshot.objects.filter(window=window).values_list("school_id", flat=True))
        todo = [pk for pk, _schema in schools if pk not in done]
        if todo:
            out["windows"] += 1
            out["schools"] += len(todo)
        for chunk in chunked(todo):
            dispatch(window.pk, chunk)
            out["chunks"] += 1
        if window.category == DataCategory.WHOLE_YEAR and dispatch_year_end is not None:
            out["year_end_chunks"] += _plan_year_end_of(window, schools, dispatch_year_end)
    return out


ROLLUP_FIGURES = (
    "students",
    "entries",
    "entries_term1",
    "entries_term2",
    "conduct_entries",
    "absences",
    "classes",
    "records_reopened",
    # the boards' completeness figures (tenants.rollups.DERIVED_FIELDS), archived records and the daily count of edits
    "profile_complete",
    "sheets_required_term1",
    "sheets_done_term1",
    "sheets_required_term2",
    "sheets_done_term2",
    "conduct_done_term1",
    "conduct_done_term2",
    "records_archived",
    "edits_after_approval",
)


def _figures(rollup: dict | None) -> dict:
    if rollup is None:
        return {
            **{k: 0 for k in ROLLUP_FIGURES},
            "records": {s: 0 for s in recordstates.STATES},
            "records_total": 0,
            "rollup_missing": True,
        }
    records = {s: rollup[f"records_{s}"] for s in recordstates.STATES}
    return {
        **{k: rollup[k] for k in ROLLUP_FIGURES},
        "records": records,
        "records_total": sum(records.values()),
        "rollup_updated_at": rollup["updated_at"].isoformat() if rollup["updated_at"] else None,
        "rollup_reconciled_at": rollup["reconciled_at"].isoformat() if rollup["reconciled_at"] else None,
        "rollup_missing": False,
    }


def snapshot_chunk(window_id: int, school_ids: list[int]) -> int:
    """Copy the chunk's rollup rows for the window's year: one read, one bulk insert (public data only). In the
    outbox mode the chunk's schools are drained first, so the copy holds every write committed before the lock."""
    window = Window.objects.filter(pk=window_id).first()
    if window is None or window.cancelled_at is not None:
        return 0
    if outbox_mode():
        drain_schools(school_ids, via="snapshot")
    drain_stale_of(school_ids)  # the completeness figures as of the lock, whatever the drain's pace
    taken_at = timezone.now()
    rollups = {
        r["school_id"]: r
        for r in SchoolRollup.objects.filter(school_id__in=school_ids, year_start=window.year_start).values(
            "school_id", *ROLLUP_FIGURES, *(f"records_{s}" for s in recordstates.STATES), "updated_at", "reconciled_at"
        )
    }
    rows = [
        ComplianceSnapshot(
            window=window,
            school_id=pk,
            year_start=window.year_start,
            locks_at=window.locks_at,
            taken_at=taken_at,
            figures=_figures(rollups.get(pk)),
        )
        for pk in school_ids
    ]
    ComplianceSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- the year-end flow ----------------------------------------------------------------------------------


def _plan_year_end_of(window: Window, schools: list[tuple[int, str]], dispatch: Dispatch) -> int:
    done = set(YearEndStart.objects.filter(window=window).values_list("school_id", flat=True))
    todo = [[pk, schema] for pk, schema in schools if pk not in done]
    chunks = chunked(todo)
    for chunk in chunks:
        dispatch(window.pk, chunk)
    return len(chunks)


def plan_year_end(dispatch: Dispatch, now: dt.datetime | None = None, window_id: int | None = None) -> dict:
    """Beat (daily), or one window: locked whole-year windows of this school year or the last one → the schools
    where the year-end flow has not started for that window → chunk tasks (a catch-up for the snapshot job's)."""
    now = now or timezone.now()
    qs = Window.objects.filter(
        cancelled_at__isnull=True,
        category=DataCategory.WHOLE_YEAR,
        locks_at__lte=now,
        year_start__gte=school_year_of(timezone.localdate(now)) - 1,
    )
    if window_id is not None:
        qs = qs.filter(pk=window_id)
    windows = list(qs.order_by("locks_at", "pk"))
    chunks = 0
    for window in windows:
        chunks += _plan_year_end_of(window, window_schools(window, timezone.localdate(window.locks_at)), dispatch)
    return {"windows": len(windows), "chunks": chunks}


def _year_end_text(window: Window, info: dict, url: str) -> tuple[str, str]:
    """The principal's notice that the year is locked and its records can be signed, in Vietnamese."""
    _category, tier = _labels(window)
    counts = {k: info[k] for k in ("ready", "not_ready", "done")}
    with translation.override("vi"):
        title = render(_("%(ready)s học bạ sẵn sàng ký số"), counts)
        lines = [
            render(
                _("Năm học %(year)s đã khóa sổ lúc %(lock)s theo lịch của %(tier)s."),
                {"year": _year_label(window), "lock": fmt_local(window.locks_at), "tier": tier},
            ),
            render(
                _(
                    "%(ready)s học bạ đã được duyệt, sẵn sàng ký số; %(not_ready)s học bạ chưa được duyệt; "
                    "%(done)s học bạ đã ký hoặc đã khóa."
                ),
                counts,
            ),
            "",
        ]
        for c in info["by_class"]:
            lines.append(
                render(
                    _("- Lớp %(class_name)s: %(ready)s sẵn sàng ký, %(not_ready)s chưa duyệt, %(done)s đã ký/khóa."),
                    {k: c[k] for k in ("class_name", "ready", "not_ready", "done")},
                )
            )
        lines += ["", render(_("Danh sách lớp: %(url)s"), {"url": url}), "", render(SIGNATURE)]
    return title, "\n".join(lines)


def year_end_school(window: Window, school_id: int, schema_name: str, domain: str = "") -> dict:
    """One school: count the records ready to sign (inside its schema), mark the flow started for the window,
    tell the principal(s) once."""
    info = perschool.ready_to_sign(schema_name, year_start=window.year_start, grades=list(window.grades or []))
    principals = {
        a.pk: a for a in Account.objects.filter(pk__in=school_member_ids(school_id, ["principal"]), is_active=True)
    }
    url = site_url(domain, "/classes/")
    title, body = _year_end_text(window, info, url)
    with transaction.atomic():
        YearEndStart.objects.bulk_create(
            [
                YearEndStart(
                    window=window,
                    school_id=school_id,
                    year_start=window.year_start,
                    started_at=timezone.now(),
                    ready_to_sign=info["ready"],
                    not_ready=info["not_ready"],
                    done=info["done"],
                    by_class=info["by_class"],
                    notified=0,
                )
            ],
            ignore_conflicts=True,
        )
        # once per principal and window, however often this runs (the notice's key)
        new = (
            _notify([(pk, title, body, url) for pk in principals], f"year-end:{window.pk}")
            if info["ready"] + info["not_ready"] + info["done"]
            else set()
        )  # no record of the year: nothing to tell
    if new:
        YearEndStart.objects.filter(window=window, school_id=school_id).update(notified=len(new))
    mails = [
        (title, body, settings.DEFAULT_FROM_EMAIL, [principals[p].email]) for p in sorted(new) if principals[p].email
    ]
    return {**{k: info[k] for k in ("ready", "not_ready", "done")}, "notified": len(new), "mailed": _mail(mails)}


def year_end_chunk(window_id: int, schools: list[list]) -> dict:
    window = Window.objects.filter(pk=window_id).first()
    totals = {"schools": 0, "ready": 0, "notified": 0, "mailed": 0}
    if window is None or window.cancelled_at is not None or window.locks_at > timezone.now():
        return totals  # cancelled, or moved later since it was planned
    domains = _domains(pk for pk, _schema in schools)
    for school_id, schema_name in schools:
        got = year_end_school(window, school_id, schema_name, domains.get(school_id, ""))
        totals["schools"] += 1
        for k in ("ready", "notified", "mailed"):
            totals[k] += got[k]
    return totals
