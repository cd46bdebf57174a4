"""A student's profile, their record of the year, and a parent's list of their children."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import recordstates
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import PRIMARY
from hocba.kernel.refusals import refusal_text

from tenants.selectors import account_names

from ..models import RecordState
from ..rules import rules_for, tt27
from ..selectors import (
    RecordNotYetApproved,
    asked_year,
    awards_of,
    children_with_records,
    class_subject_ids,
    current_class_id,
    enrolment_history,
    guardian_account_ids,
    personal_data_readable,
    record_for_reader,
    record_guardians,
    student_visible,
    student_years,
    subject_teachers,
)
from ..services import students
from ..services.common import require
from ..services.readerview import ever_approved
from .common import SchoolTemplatePage
from .forms import StudentProfileForm

TERM_LABELS = (("term1", gettext_lazy("Học kì I")), ("term2", gettext_lazy("Học kì II")))
# TT27: the qualities and competencies are evaluated at the end of term I and at the end of the year.
CHECKPOINT_LABELS = (("term1", gettext_lazy("Cuối học kì I")), ("term2", gettext_lazy("Cuối năm học")))
QUALITY_LEVELS = {"T": gettext_lazy("Tốt"), "D": gettext_lazy("Đạt"), "C": gettext_lazy("Cần cố gắng")}


class StudentDetailView(SchoolTemplatePage):
    """Identity as the record book holds it, enrolment history and guardians; the edit form for those allowed."""

    required_capability = "school.enter"
    template_name = "schools/student_detail.html"

    def get_context_data(self, form=None, **kwargs):
        access = self.access
        student, record = student_visible(access, self.kwargs["pk"])
        history = enrolment_history(student)
        may_edit = access.may_edit_profiles(current_class_id(history))
        if may_edit and form is None:
            form = StudentProfileForm.for_student(student)
        personal = student.pk in personal_data_readable(access, [student.pk])
        parents = account_names(guardian_account_ids(student)) if personal else {}
        staff_view = record is not None and access.may_read_class(
            record.school_class_id, class_subject_ids(record.school_class)
        )
        return super().get_context_data(
            student=student,
            record=record,
            history=history,
            may_edit=may_edit,
            form=form if may_edit else None,
            parent_accounts=sorted(parents.values()),
            staff_view=staff_view,
            personal_visible=personal,
            may_hand_over=access.can("records.export"),
            **kwargs,
        )


class StudentUpdateView(StudentDetailView):
    required_capability = "profiles.edit"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        student, _record = student_visible(self.access, pk)
        require(self.access.may_edit_profiles(current_class_id(enrolment_history(student))))  # before the form
        form = StudentProfileForm.for_student(student, data=request.POST)
        if form.is_valid():
            try:
                students.student_update(
                    access=self.access, student=student, profile=form.profile(), today=timezone.localdate()
                )
            except DomainError as exc:
                if exc.http_status == 403:
                    raise
                form.add_domain_error(exc.field, refusal_text(exc))
            else:
                messages.success(request, _("Đã lưu hồ sơ của %(name)s.") % {"name": student.full_name})
                return redirect(reverse("pages:student_detail", args=[pk]))
        messages.error(request, _("Chưa lưu được hồ sơ: hãy sửa các ô báo lỗi."))
        return self.render_to_response(self.get_context_data(form=form))


def _comments(line: dict[str, Any]) -> dict[int, str]:
    return {int(k): v for k, v in (line.get("comments") or {}).items() if v}


class StudentRecordView(SchoolTemplatePage):
    """The record book of a student for a year (``?year=``, else the latest one this person may see). A parent sees
    it once the school has approved it — while the school corrects it after a reopen, as last approved, with a
    notice — and, before any approval, a page that says the book is not approved yet."""

    required_capability = "school.enter"
    template_name = "schools/student_record.html"
    granted = False  # read under a read grant (``schools.views.grants.GrantedRecordView``)

    def get(self, request, *args, **kwargs):
        try:
            context = self.get_context_data()
        except RecordNotYetApproved as exc:
            pending = super().get_context_data(student=exc.student, message=refusal_text(exc))
            return TemplateResponse(request, "schools/student_record_pending.html", pending)
        return self.render_to_response(context)

    def student_and_record(self):
        return student_visible(self.access, self.kwargs["pk"], year_start=asked_year(self.request), record_only=True)

    def years_of(self, student):
        return student_years(self.access, student)

    def get_context_data(self, **kwargs):
        access = self.access
        student, record = self.student_and_record()
        if record is None:
            raise DomainError("records.none", gettext_lazy("Học sinh chưa có học bạ của năm học nào."), http_status=404)
        school_class = record.school_class
        view = record_for_reader(access, student, record, granted=self.granted)
        results, sees_all, staff_view = view["results"], view["sees_all"], view["staff_view"]
        approved = view["approved"]  # a parent's view of a record being corrected: the last approved version
        if approved is not None:
            record = approved.record
        personal = student.pk in personal_data_readable(access, [student.pk])
        # Who taught each subject line, and which part of a subject shared by several teachers (the signatures).
        teachers = subject_teachers(school_class, [line["subject_id"] for line in results["subjects"]])
        subject_lines = [
            {
                **line,
                "comment_list": sorted(_comments(line).items()),
                "teachers": teachers.get(line["subject_id"], []),
            }
            for line in results["subjects"]
        ]
        names_by_code = {line["code"]: line["name"] for line in results["subjects"]}
        people = account_names(
            {i for i in (school_class.homeroom_teacher_id, record.submitted_by, record.approved_by) if i}
        )
        primary = school_class.level == PRIMARY
        traits, quality_comments = [], []
        if primary and sees_all:
            rules = rules_for(school_class.level, record.year.start_year)
            english = translation.get_language() == "en"
            if isinstance(rules, tt27.TT27Rules):
                qualities = results.get("qualities", {})
                quality_comments = _quality_comments(rules, results.get("quality_comments") or {}, english)
                for group, items in (
                    (_("Phẩm chất"), rules.qualities),
                    (_("Năng lực chung"), rules.general_competencies),
                    (_("Năng lực đặc thù"), rules.specific_competencies),
                ):
                    traits.append(
                        {
                            "group": group,
                            "items": [
                                {
                                    "label": q.label_en if english else q.label_vi,
                                    "level": QUALITY_LEVELS.get(qualities.get(q.code, ""), ""),
                                }
                                for q in items
                            ],
                        }
                    )
        return super().get_context_data(
            student=student,
            record=record,
            school_class=school_class,
            year=record.year,
            years=self.years_of(student),
            granted=self.granted,
            homeroom=people.get(school_class.homeroom_teacher_id, ""),
            submitted_by=people.get(record.submitted_by, ""),
            approved_by=people.get(record.approved_by, ""),
            state_label=RecordState(record.state).label,
            final=record.state in recordstates.FINAL,
            live=view["live"],
            results=results,
            subject_lines=subject_lines,
            sees_all=sees_all,
            primary=primary,
            traits=traits,
            adjusted_for=names_by_code.get(results.get("adjusted_for", ""), results.get("adjusted_for", "")),
            conduct_comments=_term_texts(results.get("conduct_comments") or {}),
            quality_comments=quality_comments,
            awards=(approved.awards if approved else awards_of(student, record.year_id)) if sees_all else [],
            approved_on=approved.approved_on if approved else None,
            parent_view=not staff_view,
            personal_visible=personal,
            guardians=record_guardians(student) if personal else [],
            **kwargs,
        )


def _term_texts(by_term: dict[str, str]) -> list[tuple[str, str]]:
    """The homeroom teacher's comments of the year by term, as (term label, text)."""
    return [(label, by_term[key]) for key, label in TERM_LABELS if by_term.get(key)]


def _quality_comments(rules: tt27.TT27Rules, by_term: dict[str, dict[str, str]], english: bool) -> list[dict]:
    """TT27: the comments on the qualities and competencies at the end of each term, in the rules' order."""
    out = []
    for key, label in CHECKPOINT_LABELS:
        texts = by_term.get(key) or {}
        items = [
            (q.label_en if english else q.label_vi, texts[q.code])
            for q in (*rules.qualities, *rules.competencies)
            if texts.get(q.code)
        ]
        if items:
            out.append({"term": label, "entries": items})
    return out


class MyChildrenView(SchoolTemplatePage):
    """A parent's linked children and whether each one's record is approved yet."""

    required_capability = "records.view_child"
    template_name = "schools/children_list.html"

    def get_context_data(self, **kwargs):
        rows = [
            {
                "student": s,
                "record": r,
                "approved": r is not None and ever_approved(r),  # reopened since: read as last approved
                "state_label": RecordState(r.state).label if r else "",
            }
            for s, r in children_with_records(self.access.child_ids)
        ]
        return super().get_context_data(rows=rows, **kwargs)
