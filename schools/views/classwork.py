"""The homeroom teacher's pages: conduct per term and the daily attendance, both saved through the API
by class_entry.js (PUT /api/v1/classes/<id>/conduct/<term>/ and /absences/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.levels import PRIMARY

from tenants.windows import entry_state

from .. import schooldays
from ..access import SchoolAccess
from ..models import RecordState, SchoolClass
from ..selectors import (
    absences_between,
    absences_on,
    class_get,
    class_members,
    class_students,
    conduct_of,
    monthly_absences,
    months_of,
)
from ..services.classwork import CONDUCT_TEXT_MAX
from .common import SchoolTemplatePage

CONDUCT_SHORT = {"T": "T", "K": "K", "D": "Đ", "CD": "CĐ"}
CONDUCT_LEVELS = [
    (code, CONDUCT_SHORT[code], label)
    for code, label in (
        ("T", gettext_lazy("Tốt")),
        ("K", gettext_lazy("Khá")),
        ("D", gettext_lazy("Đạt")),
        ("CD", gettext_lazy("Chưa đạt")),
    )
]


def _managed_class(access: SchoolAccess, pk: int) -> SchoolClass:
    school_class = class_get(access, pk)
    if not access.may_manage_class(school_class.pk):
        raise NotAllowed("school.not_allowed", gettext_lazy("Chỉ giáo viên chủ nhiệm của lớp mới mở được trang này."))
    return school_class


def _entry_messages() -> dict[str, str]:
    return {
        "saving": _("Đang lưu…"),
        "dirty": _("%(n)s dòng đã sửa, chưa lưu"),
        "clean": _("Mọi thay đổi đã được lưu."),
        "nothing": _("Không có thay đổi nào để lưu."),
        "invalid": _("Có %(n)s dòng không hợp lệ; chưa lưu gì."),
        "offline": _("Chưa lưu được vì mất kết nối. Dữ liệu bạn nhập vẫn còn trên trang — bấm “Thử lại”."),
        "server_error": _("Máy chủ gặp lỗi (%(status)s); chưa lưu gì. Dữ liệu bạn nhập vẫn còn trên trang."),
        "refused": _("Không lưu được: %(detail)s"),
        "leave": _("Có thay đổi chưa lưu. Rời trang sẽ mất các thay đổi này."),
        "saved": _("Đã lưu rèn luyện của %(n)s học sinh."),
        "need_level": _("Chọn mức rèn luyện trước khi lưu nhận xét."),
    }


class ConductView(SchoolTemplatePage):
    """Conduct (rèn luyện) of the class for a term: Tốt / Khá / Đạt / Chưa đạt and a comment per student."""

    required_capability = "class.enter"
    template_name = "schools/class_conduct.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        term = self.kwargs["term"]
        if term not in (1, 2):
            raise DomainError("sheet.bad_term", gettext_lazy("Học kì phải là I hoặc II."), http_status=404)
        members = class_members(school_class, class_students(school_class))
        conduct = conduct_of(school_class, [m.student.pk for m in members])
        rows = []
        for m in members:
            level, text = conduct.get((m.student.pk, term), ("", ""))
            other = conduct.get((m.student.pk, 3 - term), ("", ""))[0]
            rows.append(
                {
                    "member": m,
                    "level": level,
                    "text": text,
                    "other": CONDUCT_SHORT.get(other, ""),
                    "locked": m.record_state not in recordstates.EDITABLE,
                    "state_label": RecordState(m.record_state).label,
                }
            )
        config = {
            "kind": "conduct",
            "api": reverse("api_conduct", args=[school_class.pk, term]),
            "messages": _entry_messages(),
        }
        window_state = entry_state(
            school_id=self.access.school_id,
            category="conduct",
            year_start=school_class.year.start_year,
            grade=school_class.grade,
            class_id=school_class.pk,
        )
        return super().get_context_data(
            school_class=school_class,
            term=term,
            rows=rows,
            levels=CONDUCT_LEVELS,
            text_max=CONDUCT_TEXT_MAX,
            config=config,
            window_state=window_state,
            is_primary=school_class.level == PRIMARY,
            **kwargs,
        )


def _parse_day(value: str) -> dt.date | None:
    """A day as the pages write it (dd/mm/yyyy) or as a date picker sends it (yyyy-mm-dd)."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _parse_month(value: str) -> dt.date | None:
    """The first day of a month written mm/yyyy (or yyyy-mm, as a month picker sends it)."""
    for pattern in ("%m/%Y", "%Y-%m"):
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _bounds(year) -> dict[str, dt.date]:
    return {"starts_on": year.starts_on, "ends_on": year.ends_on}


def _attendance_messages() -> dict[str, str]:
    messages_js = _entry_messages()
    messages_js["saved_absences"] = _("Đã lưu điểm danh ngày %(d)s.")
    return messages_js


def _attendance_page(access: SchoolAccess, school_class: SchoolClass, config: dict[str, Any]) -> dict[str, Any]:
    """What a day's and a month's attendance pages share: the class, its year, the page script's settings (with the
    messages it shows) and the state of the school's attendance window for the class."""
    return {
        "school_class": school_class,
        "year": school_class.year,
        "config": {**config, "messages": _attendance_messages()},
        "window_state": entry_state(
            school_id=access.school_id,
            category="attendance",
            year_start=school_class.year.start_year,
            grade=school_class.grade,
            class_id=school_class.pk,
        ),
    }


class AttendanceView(SchoolTemplatePage):
    """A day's attendance (tick the absent, excused or not) and each student's monthly sums for the year. The page
    opens on the last school day up to today (never a Sunday, never outside the school year)."""

    required_capability = "class.enter"
    template_name = "schools/class_attendance.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        year = school_class.year
        today = timezone.localdate()
        default = schooldays.last_school_day(**_bounds(year), today=today)
        asked = self.request.GET.get("date", "")
        day = _parse_day(asked) if asked else default
        if day is None or not year.starts_on <= day <= year.ends_on:
            messages.error(
                self.request,
                _("Ngày “%(d)s” không hợp lệ hoặc nằm ngoài năm học %(y)s; đang hiện ngày %(default)s.")
                % {"d": asked, "y": year.label, "default": default.strftime("%d/%m/%Y")},
            )
            day = default
        elif schooldays.is_day_off(day):
            shown = schooldays.previous_school_day(day, **_bounds(year)) or default
            messages.error(
                self.request,
                _("Ngày %(d)s là Chủ nhật, không phải ngày học: không điểm danh ngày này; đang hiện ngày %(shown)s.")
                % {"d": day.strftime("%d/%m/%Y"), "shown": shown.strftime("%d/%m/%Y")},
            )
            day = shown
        saved = self.request.GET.get("saved")
        if saved is not None and saved.isdigit():
            messages.success(
                self.request,
                _("Đã lưu điểm danh ngày %(d)s: %(n)s học sinh vắng.") % {"d": day.strftime("%d/%m/%Y"), "n": saved},
            )
        members = class_members(school_class, class_students(school_class))
        ids = [m.student.pk for m in members]
        absent = absences_on(ids, day)
        months = months_of(year)
        sums = monthly_absences(year, ids)
        rows = []
        for m in members:
            by_month = sums.get(m.student.pk, {})
            cells = [by_month.get(month, {"total": 0, "excused": 0, "unexcused": 0}) for month in months]
            a = absent.get(m.student.pk)
            rows.append(
                {
                    "member": m,
                    "absent": a is not None,
                    "excused": bool(a and a.excused),
                    "reason": a.reason if a else "",
                    "locked": m.record_state not in recordstates.EDITABLE,
                    "state_label": RecordState(m.record_state).label,
                    "months": cells,
                    "excused_total": sum(c["excused"] for c in cells),
                    "unexcused_total": sum(c["unexcused"] for c in cells),
                    "total": sum(c["total"] for c in cells),
                }
            )
        return super().get_context_data(
            **_attendance_page(
                self.access,
                school_class,
                {"kind": "absences", "api": reverse("api_absences", args=[school_class.pk]), "date": f"{day:%d/%m/%Y}"},
            ),
            day=day,
            rows=rows,
            months=months,
            previous_day=schooldays.previous_school_day(day, **_bounds(year)),
            next_day=schooldays.next_school_day(day, **_bounds(year)),
            today=today,
            **kwargs,
        )


WEEKDAYS = [
    gettext_lazy("T2"),
    gettext_lazy("T3"),
    gettext_lazy("T4"),
    gettext_lazy("T5"),
    gettext_lazy("T6"),
    gettext_lazy("T7"),
    gettext_lazy("CN"),
]


class AttendanceMonthView(SchoolTemplatePage):
    """A month of the class's attendance at a glance and in one go: a student per row, a day per column (P absent
    excused, K absent not excused), the day's count under each column, each day a link to its own page; Sundays and
    days outside the school year take nothing. Saved through the API (PUT …/absences/marks/); three queries whatever
    the size of the class."""

    required_capability = "class.enter"
    template_name = "schools/class_attendance_month.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        year = school_class.year
        today = timezone.localdate()
        default = schooldays.last_school_day(**_bounds(year), today=today).replace(day=1)
        first_month, last_month = year.starts_on.replace(day=1), year.ends_on.replace(day=1)
        asked = self.request.GET.get("month", "")
        month = _parse_month(asked) if asked else default
        if month is None or not first_month <= month <= last_month:
            messages.error(
                self.request,
                _("Tháng “%(m)s” không hợp lệ hoặc nằm ngoài năm học %(y)s; đang hiện tháng %(default)s.")
                % {"m": asked, "y": year.label, "default": default.strftime("%m/%Y")},
            )
            month = default
        saved = self.request.GET.get("saved")
        if saved is not None and saved.isdigit():
            messages.success(self.request, _("Đã lưu điểm danh tháng %(m)s.") % {"m": month.strftime("%m/%Y")})
        days = schooldays.month_days(month, **_bounds(year), today=today)
        members = class_members(school_class, class_students(school_class))
        absent = absences_between([m.student.pk for m in members], days[0].date, days[-1].date)
        totals = [0] * len(days)
        rows = []
        for m in members:
            cells, excused, unexcused = [], 0, 0
            for i, d in enumerate(days):
                a = absent.get((m.student.pk, d.date))
                mark = "" if a is None else ("P" if a.excused else "K")
                if a is not None:
                    totals[i] += 1
                    excused += a.excused
                    unexcused += not a.excused
                cells.append({"day": d, "mark": mark, "reason": a.reason if a else ""})
            rows.append(
                {
                    "member": m,
                    "cells": cells,
                    "excused": excused,
                    "unexcused": unexcused,
                    "locked": m.record_state not in recordstates.EDITABLE,
                    "state_label": RecordState(m.record_state).label,
                }
            )
        columns = [
            {"day": d, "weekday": WEEKDAYS[d.date.weekday()], "absent": totals[i], "today": d.date == today}
            for i, d in enumerate(days)
        ]
        return super().get_context_data(
            **_attendance_page(
                self.access,
                school_class,
                {"kind": "absences_month", "api": reverse("api_absence_marks", args=[school_class.pk]), "reload": True},
            ),
            month=month,
            columns=columns,
            rows=rows,
            previous_month=schooldays.shift_month(month, -1) if month > first_month else None,
            next_month=schooldays.shift_month(month, 1) if month < last_month else None,
            school_days=sum(1 for d in days if d.school_day),
            **kwargs,
        )
