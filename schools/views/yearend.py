"""Year-end pages of a class: TT27 qualities and competencies (homeroom teacher, saved through the API by
class_entry.js), the year-end table with the principal's decisions (re-test, summer training, comments,
completion, commendations; read-only for the homeroom teacher), the homeroom comments, awards and discipline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.forms import LOCAL_FORMAT, LOCAL_PLACEHOLDER
from hocba.kernel.levels import PRIMARY
from hocba.kernel.refusals import refusal_text

from tenants.selectors.windows import exceptions_of_school
from tenants.selectors.year_end import class_at_lock
from tenants.windows import ExceptionStatus, WindowTier, entry_state

from ..access import SchoolAccess
from ..models import SchoolClass
from ..selectors import class_awards, class_get, class_members, class_students, current_year
from ..services import classwork, yearend
from .classwork import _entry_messages
from .common import SchoolPage, SchoolTemplatePage, report

QUALITY_LEVELS = [
    ("T", "T", gettext_lazy("Tốt")),
    ("D", "Đ", gettext_lazy("Đạt")),
    ("C", "C", gettext_lazy("Cần cố gắng")),
]
QUALITY_SHORT = {"T": "T", "D": "Đ", "C": "C"}
SUBJECT_LEVELS = [
    ("T", gettext_lazy("T — Hoàn thành tốt")),
    ("H", gettext_lazy("H — Hoàn thành")),
    ("C", gettext_lazy("C — Chưa hoàn thành")),
]
FOLLOWUP_QUALITY_LEVELS = [
    ("T", gettext_lazy("T — Tốt")),
    ("D", gettext_lazy("Đ — Đạt")),
    ("C", gettext_lazy("C — Cần cố gắng")),
]
CHECKPOINT_LABELS = {
    (1, "mid"): gettext_lazy("Giữa học kì I"),
    (1, "end"): gettext_lazy("Cuối học kì I"),
    (2, "mid"): gettext_lazy("Giữa học kì II"),
    (2, "end"): gettext_lazy("Cuối năm học"),
}


def _managed_class(access: SchoolAccess, pk: int) -> SchoolClass:
    school_class = class_get(access, pk)
    if not access.may_manage_class(school_class.pk):
        raise NotAllowed("school.not_allowed", gettext_lazy("Chỉ giáo viên chủ nhiệm của lớp mới mở được trang này."))
    return school_class


def _window(access: SchoolAccess, school_class: SchoolClass, category: str):
    return entry_state(
        school_id=access.school_id,
        category=category,
        year_start=school_class.year.start_year,
        grade=school_class.grade,
        class_id=school_class.pk,
    )


def _members(school_class: SchoolClass):
    return class_members(school_class, class_students(school_class))


class QualitiesView(SchoolTemplatePage):
    """TT27 qualities and competencies of the class at a checkpoint: all fifteen levels per student, or one
    quality/competency with its comments (``?trait=code``); saved in one request through the API."""

    required_capability = "class.enter"
    template_name = "schools/yearend_qualities.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        term, checkpoint = self.kwargs["term"], self.kwargs["checkpoint"]
        if (term, checkpoint) not in CHECKPOINT_LABELS:
            raise DomainError(
                "yearend.bad_checkpoint",
                gettext_lazy("Thời điểm đánh giá phải là giữa kì hoặc cuối kì."),
                http_status=404,
            )
        rules = yearend.primary_rules(school_class)
        english = translation.get_language() == "en"
        groups = [
            (_("Phẩm chất"), rules.qualities),
            (_("Năng lực chung"), rules.general_competencies),
            (_("Năng lực đặc thù"), rules.specific_competencies),
        ]
        traits = [
            {"code": q.code, "label": q.label_en if english else q.label_vi, "group": g}
            for g, items in groups
            for q in items
        ]
        by_code = {t["code"]: t for t in traits}
        trait = self.request.GET.get("trait", "")
        if trait and trait not in by_code:
            trait = ""
        shown = [by_code[trait]] if trait else traits
        members = _members(school_class)
        cells = yearend.qualities_of(school_class, [m.student.pk for m in members], term, checkpoint)
        rows = []
        for m in members:
            rows.append(
                {
                    "member": m,
                    "locked": m.record_state not in recordstates.EDITABLE,
                    "cells": [
                        {
                            "code": t["code"],
                            "label": t["label"],
                            "level": cells.get((m.student.pk, t["code"]), ("", ""))[0],
                            "text": cells.get((m.student.pk, t["code"]), ("", ""))[1],
                        }
                        for t in shown
                    ],
                }
            )
        msgs = _entry_messages()
        msgs["saved"] = _("Đã lưu phẩm chất, năng lực của %(n)s ô.")
        msgs["need_level"] = _("Chọn mức trước khi lưu nhận xét.")
        config = {
            "kind": "qualities",
            "api": reverse("api_qualities", args=[school_class.pk, term, checkpoint]),
            "messages": msgs,
        }
        return super().get_context_data(
            school_class=school_class,
            term=term,
            checkpoint=checkpoint,
            checkpoint_label=CHECKPOINT_LABELS[(term, checkpoint)],
            checkpoints=[(t, c, str(label)) for (t, c), label in CHECKPOINT_LABELS.items()],
            traits=traits,
            groups=groups,
            trait=by_code.get(trait),
            rows=rows,
            levels=QUALITY_LEVELS,
            config=config,
            window_state=_window(self.access, school_class, "scores_1" if term == 1 else "scores_2"),
            **kwargs,
        )


def _yearend_class(access: SchoolAccess, pk: int) -> SchoolClass:
    school_class = class_get(access, pk)
    if not yearend.may_view_yearend(access, school_class):
        raise NotAllowed(
            "school.not_allowed",
            gettext_lazy("Chỉ Ban giám hiệu và giáo viên chủ nhiệm của lớp mới xem được tổng kết cuối năm."),
        )
    return school_class


def _yearend_url(pk: int) -> str:
    return reverse("yearend:class", args=[pk])


EXCEPTION_DAYS = 3  # the end of the exception the request form proposes (the tier that decides may shorten it)


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime(LOCAL_FORMAT) if moment else ""


def not_approved_at_lock(access: SchoolAccess, school_class: SchoolClass, members, window_state) -> dict | None:
    """Conflict of approval with a lock: approving writes the record book, so once the year-end data is locked
    (a whole-year lock, a closed ``year_end`` window, the school's early lock) the records still draft or submitted
    need an exception to be approved. ``None`` while the year-end data is open or every record is approved;
    otherwise those records, the counts the whole-year lock found in the class (``YearEndStart``), the school's
    requests to that lock naming the class or its students, and what the exception request form proposes. Three
    queries at most, whatever the class."""
    if window_state.open or window_state.window is None:
        return None
    pending = [m for m in members if m.record_state in recordstates.EDITABLE and not m.left]
    if not pending:
        return None
    window = window_state.window
    ids = {m.student.pk for m in pending}
    requests = []
    for e in exceptions_of_school(access.school_id).filter(window_id=window.id).order_by("-requested_at"):
        named = school_class.pk in e.class_ids or ids.intersection(e.student_ids)
        if not named:
            continue
        requests.append(
            {
                "exception": e,
                "status_label": ExceptionStatus(e.status).label,
                "whole_class": school_class.pk in e.class_ids,
                "students": sorted(ids.intersection(e.student_ids)),
                "until": _local(e.until),
                "active": e.status == ExceptionStatus.APPROVED and e.until > timezone.now(),
            }
        )
    covered: dict[int, dict] = {}
    for r in requests:
        for sid in ids if r["whole_class"] else r["students"]:
            covered.setdefault(sid, r)
    year = current_year()
    may_request = (
        access.can("windows.request")
        and window.tier != WindowTier.SCHOOL
        and year is not None
        and year.pk == school_class.year_id
    )
    until = timezone.localtime() + dt.timedelta(days=min(EXCEPTION_DAYS, settings.WINDOW_EXCEPTION_MAX_DAYS))
    return {
        "window": window,
        "locks_at": _local(window.locks_at),
        "at_lock": class_at_lock(window_id=window.id, school_id=access.school_id, class_id=school_class.pk),
        "rows": [{"member": m, "request": covered.get(m.student.pk)} for m in pending],
        "requests": requests,
        "may_request": may_request,
        "school_lock": window.tier == WindowTier.SCHOOL,
        "until": until.replace(hour=17, minute=0).strftime(LOCAL_FORMAT),
        "until_placeholder": LOCAL_PLACEHOLDER,
        "reason": _("Hiệu trưởng duyệt học bạ lớp %(c)s chưa được duyệt trước khi khóa sổ.") % {"c": school_class.name},
    }


class YearEndView(SchoolTemplatePage):
    """Each student's year result, conduct, title, promotion and final outcome (TT22), or evaluation, commendations
    and summer follow-up (TT27); the principal or a vice principal records the decisions — saved through the API in
    one request by class_entry.js, like the other entry pages (the form posts them without JavaScript) —, the
    homeroom teacher reads."""

    required_capability = "class.enter"
    template_name = "schools/yearend_class.html"

    def get_context_data(self, **kwargs):
        access = self.access
        school_class = _yearend_class(access, self.kwargs["pk"])
        members = _members(school_class)
        rows = yearend.yearend_rows(school_class, members)
        may_decide = access.can("records.approve")
        window_state = _window(access, school_class, "year_end")
        saved = self.request.GET.get("saved")
        if saved is not None and saved.isdigit():  # back from a save through the API (class_entry.js)
            messages.success(self.request, _("Đã lưu quyết định cuối năm của %(n)s học sinh.") % {"n": saved})
        msgs = _entry_messages()
        msgs["saved"] = _("Đã lưu quyết định cuối năm của %(n)s học sinh.")
        config = {
            "kind": "yearend",
            "api": reverse("api_yearend_decisions", args=[school_class.pk]),
            "reload": True,
            "messages": msgs,
        }
        return super().get_context_data(
            school_class=school_class,
            rows=rows,
            may_decide=may_decide,
            config=config,
            subject_levels=SUBJECT_LEVELS,
            quality_levels=FOLLOWUP_QUALITY_LEVELS,
            primary=school_class.level == PRIMARY,
            may_manage=access.may_manage_class(school_class.pk),
            window_state=window_state,
            at_lock=not_approved_at_lock(access, school_class, members, window_state),
            **kwargs,
        )


def _text(post, key: str) -> str:
    return (post.get(key) or "").strip()


def decision_entries(post, rows: list[dict[str, Any]], primary: bool) -> list[dict[str, Any]]:
    """The form's changes, one entry per student whose decisions differ from what is stored."""
    entries = []
    for row in rows:
        sid = row["student"]
        if f"present-{sid}" not in post:
            continue
        entry: dict[str, Any] = {}
        retest = {}
        for c in row["retest_candidates"]:
            key = f"retest-{sid}-{c['code']}"
            if key in post and _text(post, key) != row["retest_inputs"].get(c["code"], ""):
                retest[c["code"]] = _text(post, key)
        if retest:
            entry["retest"] = retest
        candidates = [c["code"] for c in row["retest_candidates"]]
        if candidates and f"choice-{sid}" in post:  # the form shows the choice (unticked boxes are not sent)
            chosen = [code for code in candidates if f"chosen-{sid}-{code}" in post]
            if chosen != [c["code"] for c in row["retest_candidates"] if c["chosen"]]:
                entry["retest_chosen"] = chosen
        key = f"training-{sid}"
        if key in post and _text(post, key) != row["summer_training"]:
            entry["summer_training"] = {"passed": True, "failed": False}.get(_text(post, key))
        levels = {
            item["code"]: _text(post, f"followup-{sid}-{item['code']}")
            for item in row["followup_items"]
            if f"followup-{sid}-{item['code']}" in post
            and _text(post, f"followup-{sid}-{item['code']}") != item["input"]
        }
        if levels:
            entry["followup_levels"] = levels
        for name, field in (("followup-plan", "followup_plan"), ("followup-decision", "followup_decision_code")):
            key = f"{name}-{sid}"
            if key in post and _text(post, key) != row[field]:
                entry[field.removesuffix("_code")] = _text(post, key)
        for name, field in (("pcomment", "principal_comment"), ("completion", "completion_note")):
            key = f"{name}-{sid}"
            if key in post and _text(post, key) != row[field]:
                entry[field] = _text(post, key)
        if primary:
            exemplary = f"exemplary-{sid}" in post
            if exemplary != row["exemplary"]:
                entry["exemplary"] = exemplary
            key = f"adhoc-{sid}"
            if key in post and _text(post, key) != row["adhoc_commendation"]:
                entry["adhoc_commendation"] = _text(post, key)
        if entry:
            entries.append({"student": sid, **entry})
    return entries


def _report_rows(request, exc: DomainError, names: dict[int, str]) -> None:
    report(request, exc)
    english = translation.get_language() == "en"
    for error in getattr(exc, "errors", []):
        name = names.get(error.get("student"), "")
        messages.error(
            request,
            f"{name}: {error['detail_en'] if english else error['detail']}"
            if name
            else (error["detail_en"] if english else error["detail"]),
        )


class YearEndDecisionsView(SchoolPage):
    """The principal's form on the year-end page: only what changed is sent to the service, all or nothing."""

    required_capability = "records.approve"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        rows = yearend.yearend_rows(school_class, _members(school_class))
        entries = decision_entries(request.POST, rows, school_class.level == PRIMARY)
        if not entries:
            messages.info(request, _("Không có thay đổi nào để lưu."))
            return redirect(_yearend_url(pk))
        try:
            n = yearend.yearend_save(access=self.access, school_class=school_class, entries=entries)
        except DomainError as exc:
            _report_rows(request, exc, {r["student"]: r["full_name"] for r in rows})
        else:
            messages.success(request, _("Đã lưu quyết định cuối năm của %(n)s học sinh.") % {"n": n})
        return redirect(_yearend_url(pk))


class CommentsView(SchoolTemplatePage):
    """The homeroom teacher's year-end comment of each student (the record book's "Nhận xét của GVCN")."""

    required_capability = "class.enter"
    template_name = "schools/yearend_comments.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        rows = yearend.yearend_rows(school_class, _members(school_class))
        return super().get_context_data(
            school_class=school_class,
            rows=rows,
            window_state=_window(self.access, school_class, "year_end"),
            comment_max=classwork.HOMEROOM_COMMENT_MAX,
            **kwargs,
        )

    def post(self, request, pk: int):
        school_class = _managed_class(self.access, pk)
        rows = yearend.yearend_rows(school_class, _members(school_class))
        entries = [
            {"student": r["student"], "text": _text(request.POST, f"comment-{r['student']}")}
            for r in rows
            if f"comment-{r['student']}" in request.POST
            and _text(request.POST, f"comment-{r['student']}") != r["homeroom_comment"]
        ]
        if not entries:
            messages.info(request, _("Không có thay đổi nào để lưu."))
        else:
            try:
                n = classwork.homeroom_comments_save(access=self.access, school_class=school_class, entries=entries)
            except DomainError as exc:
                _report_rows(request, exc, {r["student"]: r["full_name"] for r in rows})
            else:
                messages.success(request, _("Đã lưu nhận xét của %(n)s học sinh.") % {"n": n})
        return redirect(reverse("yearend:comments", args=[pk]))


def _parse_day(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime((value or "").strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


class AwardsView(SchoolTemplatePage):
    """Awards and discipline of the class's students this year: the list, the add form and removal."""

    required_capability = "class.enter"
    template_name = "schools/yearend_awards.html"

    def get_context_data(self, **kwargs):
        school_class = _managed_class(self.access, self.kwargs["pk"])
        members = _members(school_class)
        names = {m.student.pk: m for m in members}
        awards = [{"award": a, "member": names.get(a.student_id)} for a in class_awards(school_class)]
        return super().get_context_data(
            school_class=school_class,
            members=members,
            awards=awards,
            form=kwargs.pop("form", {}),
            window_state=_window(self.access, school_class, "year_end"),
            **kwargs,
        )

    def post(self, request, pk: int):
        school_class = _managed_class(self.access, pk)
        post = request.POST
        day = _parse_day(post.get("decided_on", ""))
        try:
            if day is None:
                raise DomainError(
                    "class.bad_date", gettext_lazy("Ngày quyết định phải theo dạng dd/mm/yyyy."), field="decided_on"
                )
            student = post.get("student", "")
            award = classwork.award_add(
                access=self.access,
                school_class=school_class,
                student_id=int(student) if student.isdigit() else 0,
                kind=post.get("kind", ""),
                title=post.get("title", ""),
                decided_on=day,
                decided_by=post.get("decided_by", ""),
            )
        except DomainError as exc:
            report(request, exc)
            errors = getattr(exc, "errors", [])
            for error in errors:
                messages.error(request, error["detail_en"] if translation.get_language() == "en" else error["detail"])
            # The refusal also stands next to its field (a row error names its field too).
            field = exc.field or next((e.get("field") for e in errors if e.get("field")), "")
            return self.render_to_response(
                self.get_context_data(form=post, error_field=field, error=refusal_text(exc)), status=400
            )
        messages.success(request, _("Đã ghi “%(title)s”.") % {"title": award.title})
        return redirect(reverse("yearend:awards", args=[pk]))


class AwardRemoveView(SchoolPage):
    required_capability = "class.enter"
    http_method_names = ["post"]

    def post(self, request, pk: int, award: int):
        school_class = _managed_class(self.access, pk)
        try:
            removed = classwork.award_remove(access=self.access, school_class=school_class, award_id=award)
        except DomainError as exc:
            if exc.http_status == 404:
                raise
            report(request, exc)
            for error in getattr(exc, "errors", []):
                messages.error(request, error["detail_en"] if translation.get_language() == "en" else error["detail"])
        else:
            messages.success(request, _("Đã xóa “%(title)s”.") % {"title": removed.title})
        return redirect(reverse("yearend:awards", args=[pk]))
