"""Classes: the list of the current year, a class's page, and the record workflow buttons on it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import PRIMARY
from hocba.kernel.refusals import refusal_text

from tenants.selectors import account_names

from ..models import RecordState, SchoolClass
from ..models.students import EntryKind
from ..selectors import (
    class_get,
    class_list,
    class_members,
    class_sizes,
    class_students,
    class_teachers,
    final_results,
    record_get,
    school_years,
    subjects_of,
    year_shown,
)
from ..selectors.completeness import class_completeness, classes_incomplete_counts
from ..selectors.waiting import records_by_class
from ..services import records, students
from ..services.common import require
from ..services.results import class_results
from .common import SchoolPage, SchoolTemplatePage, report
from .forms import StudentProfileForm


class EnrolForm(StudentProfileForm):
    entry = forms.ChoiceField(
        label=gettext_lazy("Hình thức"),
        initial=EntryKind.NEW,
        choices=[
            (EntryKind.NEW.value, EntryKind.NEW.label),
            (EntryKind.TRANSFER_IN.value, EntryKind.TRANSFER_IN.label),
        ],
    )
    starts_on = forms.CharField(
        label=gettext_lazy("Ngày vào lớp"),
        required=False,
        max_length=10,
        help_text=gettext_lazy("dd/mm/yyyy; để trống là hôm nay"),
        widget=forms.TextInput(attrs={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"}),
    )

    def enrol_fields(self) -> list[forms.BoundField]:
        return [self["entry"], self["starts_on"]]

    def clean_starts_on(self) -> dt.date | None:
        value = (self.cleaned_data.get("starts_on") or "").strip()
        if not value:
            return None
        try:
            return dt.datetime.strptime(value, "%d/%m/%Y").date()
        except ValueError:
            raise forms.ValidationError(_("Ngày phải theo dạng dd/mm/yyyy.")) from None


class ClassListView(SchoolTemplatePage):
    """The classes of a year (``?year=``, the latest by default) this person may see."""

    required_capability = "school.enter"
    template_name = "schools/class_list.html"

    def get_context_data(self, **kwargs):
        access = self.access
        year = year_shown(self.request)
        classes = class_list(access, year)
        sizes = class_sizes(classes) if classes else {}
        names = account_names({c.homeroom_teacher_id for c in classes if c.homeroom_teacher_id}) if classes else {}
        ids = [c.pk for c in classes]
        records = {r.class_id: r for r in records_by_class(class_ids=ids)} if classes else {}
        incomplete = classes_incomplete_counts(year, class_ids=ids) if classes else {}
        rows = []
        for c in classes:
            taught = sorted(a.subject_id for a in c.assignments.all() if (c.pk, a.subject_id) in access.assignments)
            rows.append(
                {
                    "school_class": c,
                    "size": sizes.get(c.pk, 0),
                    "homeroom": names.get(c.homeroom_teacher_id, ""),
                    "is_homeroom": c.pk in access.homeroom_class_ids,
                    "teaches": len(taught),
                    "states": records[c.pk].tags if c.pk in records else [],
                    "incomplete": incomplete.get(c.pk, 0),
                }
            )
        return super().get_context_data(year=year, years=school_years(), rows=rows, **kwargs)


def _summary(results: dict[str, Any], level: str) -> dict[str, Any]:
    """What the class page shows of a student's year results."""
    return {
        "learning": results.get("learning", {}).get("year", ""),
        "adjusted_for": results.get("adjusted_for", ""),
        "conduct": results.get("conduct", {}).get("year", ""),
        "title": results.get("title", ""),
        "promotion": results.get("promotion", ""),
        "retest": results.get("retest_subjects", []),
        "absences": results.get("absences", {}).get("total", 0),
        "evaluation": results.get("evaluation", ""),
        "commendations": results.get("commendations", []),
        "primary": level == PRIMARY,
    }


class ClassDetailView(SchoolTemplatePage):
    """A class: students in Vietnamese order with their record's state, the subjects' sheets, the year's
    results and the workflow (submit, approve, reopen)."""

    required_capability = "school.enter"
    template_name = "schools/class_detail.html"

    def get_context_data(self, enrol_form=None, **kwargs):
        access = self.access
        school_class = class_get(access, self.kwargs["pk"])
        pk = school_class.pk
        members = class_members(school_class, class_students(school_class))
        subjects = subjects_of(school_class)
        teachers = class_teachers(school_class)
        names = account_names({i for i in (school_class.homeroom_teacher_id, *teachers.values()) if i})
        all_ids = frozenset(s.pk for s in subjects)
        readable = access.readable_subject_ids(pk, all_ids)
        subject_rows = [
            {
                "subject": s,
                "teacher": names.get(teachers.get(s.pk), ""),
                "may_enter": access.may_enter_sheet(pk, s.pk),
                "may_read": s.pk in readable,
            }
            for s in subjects
        ]
        sees_results = bool(all_ids) and readable == all_ids
        summaries: dict[int, dict[str, Any]] = {}
        if sees_results and members:
            frozen = final_results(school_class)
            live_ids = [m.student.pk for m in members if not frozen.get(m.student.pk)]
            live = class_results(school_class, live_ids) if live_ids else {}
            for m in members:
                data = frozen.get(m.student.pk) or (live[m.student.pk].as_dict() if m.student.pk in live else {})
                summaries[m.student.pk] = _summary(data, school_class.level)
        counts: dict[str, int] = {}
        for m in members:
            counts[m.record_state] = counts.get(m.record_state, 0) + 1
        may_manage = access.may_manage_class(pk)
        may_enrol = access.may_edit_profiles(pk)
        may_submit = access.can("records.submit") and may_manage
        may_approve = access.can("records.approve")
        workflow = _workflow(school_class, members, may_submit, may_approve) if may_submit or may_approve else {}
        ctx = {
            "school_class": school_class,
            "year": school_class.year,
            "homeroom": names.get(school_class.homeroom_teacher_id, ""),
            "rows": [{"member": m, "summary": summaries.get(m.student.pk)} for m in members],
            "subject_rows": subject_rows,
            "sees_results": sees_results,
            "counts": counts,
            "may_manage": may_manage,
            "is_primary": school_class.level == PRIMARY,
            "can_submit": may_submit and counts.get("draft", 0) > 0,
            "can_withdraw": may_submit and counts.get("submitted", 0) > 0,
            "can_approve": may_approve and counts.get("submitted", 0) > 0,
            **workflow,
            "can_reopen": access.can("records.reopen"),
            "may_sign": access.can("records.signing"),
            "reopenable": ("submitted", "approved"),
            "may_enrol": may_enrol,
            "may_setup": access.can("school.setup"),
            "may_record_exemptions": access.can("exemptions.record"),
            "enrol_form": enrol_form if enrol_form is not None else (EnrolForm(prefix="enrol") if may_enrol else None),
        }
        return super().get_context_data(**ctx, **kwargs)


def _workflow(school_class: SchoolClass, members: list, may_submit: bool, may_approve: bool) -> dict[str, Any]:
    """The workflow section's lists: the books not yet approved that miss items (what each misses, in words), and
    the students one may submit, withdraw or approve one by one."""
    completeness = class_completeness(school_class)
    missing = {b.student_id: b for b in completeness.incomplete}
    labels = dict(RecordState.choices)
    acted = {RecordState.DRAFT, RecordState.SUBMITTED} if may_submit else {RecordState.SUBMITTED}
    incomplete = [
        {"book": b, "state_label": labels.get(b.record_state, b.record_state)}
        for b in completeness.incomplete
        if b.record_state in recordstates.EDITABLE
    ]
    return {
        "show_completeness": True,
        "incomplete_rows": incomplete,
        "draft_incomplete": sum(1 for r in incomplete if r["book"].record_state == RecordState.DRAFT),
        "submitted_incomplete": sum(1 for r in incomplete if r["book"].record_state == RecordState.SUBMITTED),
        "pick_rows": [
            {"member": m, "missing": len(missing[m.student.pk].missing) if m.student.pk in missing else 0}
            for m in members
            if m.record_id and m.record_state in acted
        ],
        "reason_min": records.REASON_MIN,
        "may_submit_any": may_submit,
        "may_approve_any": may_approve,
    }


def _student_ids(request) -> list[int] | None:
    """The students ticked on the class page (none ticked: the whole class)."""
    return records.student_ids_from(request.POST.getlist("student_ids") or None)


def _class_url(school_class_id: int) -> str:
    return reverse("pages:class_detail", args=[school_class_id])


class ClassEnrolView(ClassDetailView):
    """Enrol a new student in the class (the form on the class page); errors re-render the class page."""

    required_capability = "profiles.edit"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        require(self.access.may_edit_profiles(school_class.pk))  # before the form: a refusal names no field
        form = EnrolForm(request.POST, prefix="enrol")
        if form.is_valid():
            try:
                student = students.student_enrol(
                    access=self.access,
                    school_class=school_class,
                    profile=form.profile(),
                    starts_on=form.cleaned_data["starts_on"],
                    entry=form.cleaned_data["entry"],
                    today=timezone.localdate(),
                )
            except DomainError as exc:
                form.add_domain_error(exc.field, refusal_text(exc))
            else:
                messages.success(request, _("Đã nhập học cho %(name)s.") % {"name": student.full_name})
                return redirect(_class_url(pk) + "#hoc-sinh")
        messages.error(request, _("Chưa nhập học được: hãy sửa các ô báo lỗi."))
        return self.render_to_response(self.get_context_data(enrol_form=form))


class ClassSubmitView(SchoolPage):
    """The homeroom teacher submits the class's draft records, or those of the students ticked; incomplete books
    go too, and the message says how many (the page listed them beside the button)."""

    required_capability = "records.submit"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            moved = records.records_submit(
                access=self.access, school_class=school_class, student_ids=_student_ids(request)
            )
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(request, _("Đã trình %(n)s học bạ lên Ban giám hiệu.") % {"n": moved.count})
            if moved.incomplete:
                messages.warning(
                    request,
                    _("Trong số đó có %(n)s học bạ chưa đủ dữ liệu: %(names)s.")
                    % {"n": len(moved.incomplete), "names": ", ".join(b.full_name for b in moved.incomplete)},
                )
        return redirect(_class_url(pk) + "#hoc-ba")


class ClassWithdrawView(SchoolPage):
    """The homeroom teacher (or whoever submitted them) takes submitted, not yet approved records back to draft:
    the class's, or those of the students ticked."""

    required_capability = "records.submit"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            moved = records.records_withdraw(
                access=self.access, school_class=school_class, student_ids=_student_ids(request)
            )
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(request, _("Đã rút lại %(n)s học bạ về trạng thái đang nhập.") % {"n": moved.count})
        return redirect(_class_url(pk) + "#hoc-ba")


class ClassApproveView(SchoolPage):
    """The principal or a vice principal approves the class's submitted records, or those of the students ticked;
    incomplete ones only with a reason."""

    required_capability = "records.approve"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            moved = records.records_approve(
                access=self.access,
                school_class=school_class,
                student_ids=_student_ids(request),
                reason=request.POST.get("reason", ""),
            )
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(request, _("Đã duyệt %(n)s học bạ.") % {"n": moved.count})
            if moved.incomplete:
                messages.warning(
                    request,
                    _("%(n)s học bạ được duyệt khi chưa đủ dữ liệu; lý do đã được ghi vào từng học bạ.")
                    % {"n": len(moved.incomplete)},
                )
        return redirect(_class_url(pk) + "#hoc-ba")


class RecordReopenView(SchoolPage):
    """The principal reopens one submitted or approved record, with a reason."""

    required_capability = "records.reopen"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        record = record_get(pk, with_student=True)
        school_class: SchoolClass = class_get(self.access, record.school_class_id)
        try:
            records.record_reopen(access=self.access, record=record, reason=request.POST.get("reason", ""))
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(request, _("Đã mở lại học bạ của %(name)s.") % {"name": record.student.full_name})
        return redirect(_class_url(school_class.pk) + "#hoc-sinh")
