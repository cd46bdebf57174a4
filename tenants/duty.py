"""The homeroom teachers' monthly duty (Long An reg. art. 7.2: "update the absences, leaves, class moves and
transfers of the students monthly"; the primary school's regulation II.3: "periodic updates by month or semester").

One beat entry (``tenants.tasks.monthly_duty``, on ``HOCBA_MONTHLY_DUTY_DAY`` at ``HOCBA_MONTHLY_DUTY_HOUR``, local
time, by default the 1st at 07:20) checks the month that has just ended, like the window jobs: it plans in public
(the active schools without a check of that month) and fans the work out in chunks of schools; a chunk asks each
school through ``tenants.perschool`` which classes had students and no attendance or conduct update that month
(``schools.monthlyduty``), reminds each of their homeroom teachers once — an in-app notice keyed
``monthly-duty:<school>:<class>:<yyyy-mm>``, then its e-mail copy after the commit — and records the school's figure
in ``MonthlyDutyCheck`` in the same transaction as the notices. A job that runs twice, or a chunk that is retried,
finds the school's row and sends nothing twice. The province and unit boards read the figure from that table
(``selectors.duty.monthly_duty_board``), never from the schools.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from hocba.env import runtime
from hocba.kernel.errors import DomainError, render

from . import perschool
from .models import Account, MonthlyDutyCheck, School
from .reminders import SIGNATURE, Dispatch, _domains, _mail, chunked, site_url

log = logging.getLogger(__name__)

DEFAULT_DAY, DEFAULT_HOUR = 1, 7
MONTH_TEXT = re.compile(r"(?:(\d{4})-(\d{1,2}))|(?:(\d{1,2})/(\d{4}))")


def schedule_day() -> int:
    """``HOCBA_MONTHLY_DUTY_DAY`` (1–28, default 1): the day of the month the previous month is checked."""
    return min(max(int(runtime("HOCBA_MONTHLY_DUTY_DAY", str(DEFAULT_DAY))), 1), 28)


def schedule_hour() -> int:
    """``HOCBA_MONTHLY_DUTY_HOUR`` (0–23, default 7, local time)."""
    return min(max(int(runtime("HOCBA_MONTHLY_DUTY_HOUR", str(DEFAULT_HOUR))), 0), 23)


def previous_month(today: dt.date) -> dt.date:
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def parse_month(value: str, *, field: str = "month") -> dt.date:
    """A month as people write it (``mm/yyyy``) or as the API does (``yyyy-mm``): its first day, or a refusal."""
    match = MONTH_TEXT.fullmatch(str(value or "").strip())
    if match:
        year, month = (match[1], match[2]) if match[1] else (match[4], match[3])
        if 1 <= int(month) <= 12 and 2000 <= int(year) <= 2200:
            return dt.date(int(year), int(month), 1)
    raise DomainError("duty.bad_month", _("Tháng phải theo dạng mm/yyyy, ví dụ 11/2026."), field=field)


# --- the beat job ----------------------------------------------------------------------------------------------


def plan_monthly_duty(dispatch: Dispatch, *, month: dt.date | None = None, now: dt.datetime | None = None) -> dict:
    """Beat: the month just ended (or ``month``) → the active schools not yet checked for it → chunk tasks."""
    month = (month or previous_month(timezone.localdate(now) if now else timezone.localdate())).replace(day=1)
    done = set(MonthlyDutyCheck.objects.filter(month=month).values_list("school_id", flat=True))
    todo = [
        [pk, schema]
        for pk, schema in School.objects.filter(status="active").order_by("pk").values_list("pk", "schema_name")
        if pk not in done
    ]
    chunks = chunked(todo)
    for chunk in chunks:
        dispatch(month.isoformat(), chunk)
    return {"month": month.isoformat(), "schools": len(todo), "chunks": len(chunks)}


def _notify_keyed(rows: list[tuple[int, str, str, str, str]]) -> set[tuple[int, str]]:
    """Insert (account, title, body, url, key) notices in one statement; the (account, key) pairs newly notified
    (a pair already notified gets nothing)."""
    if not rows:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_notification (account_id, title, body, url, key, created_at)
            SELECT u.a, u.t, u.b, u.u, u.k, now()
              FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) AS u(a, t, b, u, k)
            ON CONFLICT DO NOTHING
            RETURNING account_id, key
            """,
            [[r[i] for r in rows] for i in range(5)],
        )
        return {(a, k) for a, k in cursor.fetchall()}


def duty_key(school_id: int, class_id: int, month: dt.date) -> str:
    return f"monthly-duty:{school_id}:{class_id}:{month:%Y-%m}"


def _duty_text(teacher_name: str, class_name: str, month: dt.date, url: str) -> tuple[str, str]:
    """The reminder's title and body, in Vietnamese (what the notice stores and the e-mail carries)."""
    label = f"{month:%m/%Y}"
    with translation.override("vi"):
        title = render(
            _("Nhắc cập nhật hằng tháng: lớp %(class_name)s, tháng %(month)s"),
            {"class_name": class_name, "month": label},
        )
        lines = [
            render(_("Kính gửi thầy/cô %(name)s,"), {"name": teacher_name}),
            "",
            render(
                _(
                    "Trong tháng %(month)s, lớp %(class_name)s chưa có cập nhật điểm danh hay rèn luyện nào của giáo "
                    "viên chủ nhiệm. Theo quy định, giáo viên chủ nhiệm cập nhật hằng tháng thông tin học sinh vắng, "
                    "nghỉ học, chuyển lớp, chuyển trường."
                ),
                {"month": label, "class_name": class_name},
            ),
            render(_("Xin thầy/cô kiểm tra và cập nhật dữ liệu của tháng %(month)s."), {"month": label}),
            "",
            render(_("Mở trang điểm danh: %(url)s"), {"url": url}),
            "",
            render(SIGNATURE),
        ]
    return title[:200], "\n".join(lines)


def duty_school(month: dt.date, school_id: int, schema_name: str, domain: str = "") -> dict:
    """One school: its classes without an update (inside its schema), one notice per class to its homeroom teacher
    (never twice for a class and month), the school's figure recorded with them, then the e-mails."""
    info = perschool.classes_without_monthly_update(schema_name, month=month)
    classes = info["without_update"]
    teachers = {
        a.pk: a
        for a in Account.objects.filter(
            pk__in={c["homeroom_teacher_id"] for c in classes if c["homeroom_teacher_id"]}, is_active=True
        )
    }
    rows, texts = [], {}
    for c in classes:
        teacher = teachers.get(c["homeroom_teacher_id"])
        if teacher is None:
            continue  # no homeroom teacher (or a closed account): counted, nobody to remind
        url = site_url(domain, f"/classes/{c['class_id']}/attendance/")
        key = duty_key(school_id, c["class_id"], month)
        title, body = _duty_text(teacher.full_name or teacher.username, c["class_name"], month, url)
        rows.append((teacher.pk, title, body, url, key))
        texts[(teacher.pk, key)] = (title, body)
    with transaction.atomic():
        new = _notify_keyed(rows)
        MonthlyDutyCheck.objects.bulk_create(
            [
                MonthlyDutyCheck(
                    school_id=school_id,
                    month=month,
                    year_start=info["year_start"],
                    checked_at=timezone.now(),
                    classes=info["classes"],
                    classes_without_update=len(classes),
                    teachers_notified=len({a for a, _k in new}),
                    without_update=[
                        {
                            "class_id": c["class_id"],
                            "class_name": c["class_name"],
                            "grade": c["grade"],
                            "homeroom": bool(c["homeroom_teacher_id"]),
                        }
                        for c in classes
                    ],
                )
            ],
            ignore_conflicts=True,
        )
    mails = [
        (texts[pair][0], texts[pair][1], settings.DEFAULT_FROM_EMAIL, [teachers[pair[0]].email])
        for pair in sorted(new)
        if teachers[pair[0]].email
    ]
    return {
        "classes": info["classes"],
        "without_update": len(classes),
        "notified": len(new),
        "mailed": _mail(mails),
    }


def duty_chunk(month_iso: str, schools: list[list]) -> dict:
    """A chunk task's work: the month's check in each school of the chunk."""
    month = dt.date.fromisoformat(month_iso).replace(day=1)
    totals = {"schools": 0, "classes": 0, "without_update": 0, "notified": 0, "mailed": 0}
    domains = _domains(pk for pk, _schema in schools)
    for school_id, schema_name in schools:
        got = duty_school(month, school_id, schema_name, domains.get(school_id, ""))
        totals["schools"] += 1
        for k in ("classes", "without_update", "notified", "mailed"):
            totals[k] += got[k]
    return totals
