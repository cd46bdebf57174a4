"""The school's home on its own address: what waits for the person first (the principal's approvals and deadlines,
the homeroom teacher's drafts, reopened records, unfinished sheets and monthly updates, a teacher's sheets, a
parent's children), then their roles and what they may do here.

Each list is a constant number of queries whatever the number of classes (``selectors.waiting``); the windows and the
exception requests are the public side's (``tenants.selectors``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hocba.kernel.roles import ROLE_CAPABILITIES, Role

from tenants.selectors import unit_overseeing
from tenants.selectors.grants import grant_list
from tenants.selectors.windows import exceptions_of_school, windows_for_school
from tenants.windows import DataCategory, ExceptionStatus, setter_label, setter_tiers, window_state

from ..access import SchoolAccess
from ..models import RecordState
from ..selectors import children_with_records, current_year
from ..selectors.completeness import classes_incomplete_counts
from ..selectors.waiting import (
    ClassRecords,
    monthly_update_missing,
    records_by_class,
    records_reopened,
    sheets_unfinished,
)
from ..selectors.windows import class_and_student_names
from ..services.readerview import ever_approved
from .common import SchoolTemplatePage

CLOSING_SOON = dt.timedelta(days=7)
WORK_LISTS = (
    "to_approve",
    "to_sign",
    "reopened",
    "closing",
    "requests",
    "grant_requests",
    "drafts",
    "own_reopened",
    "class_sheets",
    "monthly",
    "my_sheets",
)
SHOWN = 10  # items of a list shown on the home; the rest are counted


def _block(items: list, total: int | None = None) -> dict:
    """A list as the home shows it: the first items, how many more there are, and its count (records, for a list of
    classes)."""
    return {"items": items[:SHOWN], "more": max(0, len(items) - SHOWN), "count": len(items) if total is None else total}


def _classes_with(rows: list[ClassRecords], state: str) -> dict:
    items = [{"records": r, "count": r.count(state)} for r in rows if r.count(state)]
    return _block(items, sum(i["count"] for i in items))


class SchoolHomeView(SchoolTemplatePage):
    """The school's own home on its subdomain."""

    required_capability = "school.enter"
    template_name = "schools/school_home.html"

    def get_context_data(self, **kwargs):
        access = self.access
        school = self.request.tenant
        roles = sorted(access.roles, key=list(Role).index)
        caps = set().union(*(ROLE_CAPABILITIES[r] for r in roles)) if roles else set()
        today = timezone.localdate()
        ctx = {
            "school": school,
            "roles": roles,
            "caps": caps,
            "unit": unit_overseeing(school.pk, today),
            **self.waiting(access, today),
        }
        return super().get_context_data(**ctx, **kwargs)

    def waiting(self, access: SchoolAccess, today: dt.date) -> dict:
        """Every list of work the person's roles give them; the lists of other roles are left out of the context."""
        year = current_year()
        now = timezone.now()
        leads = access.can("records.approve")
        homeroom = access.can("class.enter") and bool(access.homeroom_class_ids)
        teaches = access.can("sheets.enter") and bool(access.assignments)
        lists: dict = {"year": year}
        windows = (
            windows_for_school(self.request.tenant, year.start_year)
            if year is not None and (leads or homeroom or teaches)
            else []
        )
        by_class = records_by_class(year=year) if year is not None and (leads or homeroom) else []
        if leads:
            lists["to_approve"] = _classes_with(by_class, RecordState.SUBMITTED)
            lists["to_sign"] = _classes_with(by_class, RecordState.APPROVED)
            lists["reopened"] = _block(records_reopened(year=year))
            lists["closing"] = _block(self.closing(windows, now) if access.can("windows.view") else [])
            lists["requests"] = _block(self.requests(access) if access.can("windows.view") else [])
        if access.can("grants.decide"):
            lists["grant_requests"] = _block(grant_list(school_id=self.request.tenant.pk, status="requested"))
        if homeroom:
            own = [r for r in by_class if r.class_id in access.homeroom_class_ids]
            lists["drafts"] = _classes_with(own, RecordState.DRAFT)
            if lists["drafts"]["items"]:
                incomplete = classes_incomplete_counts(
                    year,
                    states=(RecordState.DRAFT,),
                    class_ids=[i["records"].class_id for i in lists["drafts"]["items"]],
                )
                for item in lists["drafts"]["items"]:
                    item["incomplete"] = incomplete.get(item["records"].class_id, 0)
            lists["own_reopened"] = _block(records_reopened(year=year, class_ids=access.homeroom_class_ids))
            lists["monthly"] = _block(monthly_update_missing(today=today, class_ids=access.homeroom_class_ids))
        if homeroom or teaches:
            me = access.account_id
            sheets = sheets_unfinished(
                year=year,
                windows=windows,
                now=now,
                teacher_id=me if teaches else None,
                class_ids=access.homeroom_class_ids if homeroom else (),
            )
            if homeroom:  # their class's sheets others enter; the ones they enter themselves are in their own list
                lists["class_sheets"] = _block(
                    [
                        s
                        for s in sheets
                        if s.class_id in access.homeroom_class_ids and not (teaches and me in s.teacher_ids)
                    ]
                )
            if teaches:
                lists["my_sheets"] = _block([s for s in sheets if me in s.teacher_ids])
        if access.can("records.view_child"):
            lists["children"] = [
                {
                    "student": s,
                    "record": r,
                    "readable": r is not None and ever_approved(r),
                    "state_label": RecordState(r.state).label if r else "",
                }
                for s, r in children_with_records(access.child_ids)
            ]
        lists["has_work"] = any(lists[k]["count"] for k in WORK_LISTS if k in lists)
        return lists

    @staticmethod
    def closing(windows: list, now: dt.datetime) -> list[dict]:
        """The windows open now that lock within a week, the soonest first."""
        soon = sorted(
            (w for w in windows if window_state(w, now) == "open" and w.locks_at - now <= CLOSING_SOON),
            key=lambda w: w.locks_at,
        )
        setters = setter_tiers(soon) if soon else {}
        return [
            {
                "window": w,
                "category_label": DataCategory(w.category).label,
                "tier_label": setter_label(setters, w),
                "days": (timezone.localdate(w.locks_at) - timezone.localdate(now)).days,
            }
            for w in soon
        ]

    def requests(self, access: SchoolAccess) -> list[dict]:
        """The school's exception requests still waiting for the tier that set the lock (read only here)."""
        pending = list(
            exceptions_of_school(access.school_id).filter(status=ExceptionStatus.REQUESTED).order_by("-requested_at")
        )
        if not pending:
            return []
        setters = setter_tiers({e.window for e in pending})
        class_names, student_names = class_and_student_names(
            {c for e in pending for c in e.class_ids}, {s for e in pending for s in e.student_ids}
        )
        return [
            {
                "exception": e,
                "category_label": DataCategory(e.window.category).label,
                "tier_label": setter_label(setters, e.window),
                "status_label": ExceptionStatus(e.status).label,
                "names": [class_names.get(c, f"#{c}") for c in e.class_ids]
                + [student_names.get(s, f"#{s}") for s in e.student_ids],
            }
            for e in pending
        ]
