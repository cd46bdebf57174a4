"""Moving students: to another class of the year, out of the school, into the next year; and the parents'
accounts that may see a student. Each change is shown first and done only once confirmed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError
from hocba.kernel.refusals import refusal_text

from tenants.services.jobs import job_url

from ..models import Student
from ..selectors import (
    class_enrolled_students,
    class_get,
    class_in_school,
    classes_of_year,
    current_class_id,
    current_enrolment,
    enrolment_history,
    guardian_accounts,
    parent_accounts_of_school,
    student_visible,
    year_after,
)
from ..services import carry_jobs, students
from ..services.common import require
from .common import SchoolTemplatePage

DATE_HINT = "dd/mm/yyyy"


class MovementPage(SchoolTemplatePage):
    """A page about one student whom the requester may edit (a homeroom teacher: only their own class's)."""

    required_capability = "profiles.edit"

    def student(self) -> Student:
        """The student, refused unless the requester may edit them — before any form of the page is read."""
        student, _record = student_visible(self.access, self.kwargs["pk"])
        require(self.access.may_edit_profiles(current_class_id(enrolment_history(student))))
        return student

    def base_context(self, student: Student, **kwargs) -> dict[str, Any]:
        history = enrolment_history(student)
        return {
            "student": student,
            "history": history,
            "current": next((e for e in history if e.ends_on is None), None),
            **kwargs,
        }


class StudentMoveView(MovementPage):
    """Chuyển lớp: another class of the same year from a date; the record of the year follows the student."""

    template_name = "schools/movement_move.html"

    def get_context_data(self, errors=None, values=None, confirm=None, **kwargs):
        student = self.student()
        enrolment = current_enrolment(student)
        require(self.access.may_edit_profiles(enrolment.school_class_id))
        classes = [c for c in classes_of_year(enrolment.school_class.year_id) if c.pk != enrolment.school_class_id]
        return super().get_context_data(
            **self.base_context(
                student,
                enrolment=enrolment,
                classes=classes,
                errors=errors or {},
                values=values or {},
                confirm=confirm,
                date_hint=DATE_HINT,
            ),
            **kwargs,
        )

    def post(self, request, pk: int):
        values = {"school_class": request.POST.get("school_class", ""), "on": request.POST.get("on", "").strip()}
        student = self.student()
        try:
            to_class = class_in_school(values["school_class"], field="school_class")
            on = students.parse_day(values["on"], field="on")
            if request.POST.get("confirm") != "1":
                return self.render_to_response(
                    self.get_context_data(values=values, confirm={"to_class": to_class, "on": on})
                )
            students.student_move_class(access=self.access, student=student, to_class=to_class, on=on)
        except DomainError as exc:
            if exc.http_status in (403, 404):
                raise
            return self.render_to_response(
                self.get_context_data(errors={exc.field or "form": refusal_text(exc)}, values=values), status=400
            )
        messages.success(
            request,
            _("Đã chuyển %(name)s sang lớp %(c)s từ ngày %(d)s.")
            % {"name": student.full_name, "c": to_class.name, "d": on.strftime("%d/%m/%Y")},
        )
        return redirect(reverse("pages:student_detail", args=[pk]))


class StudentTransferOutView(MovementPage):
    """Chuyển đi: the student leaves the school on a date, for a school named with the decision (optional; the record
    book writes "chuyển đến trường … theo quyết định số …"); their record stays with the class."""

    template_name = "schools/movement_transfer.html"

    def get_context_data(self, errors=None, values=None, confirm=None, **kwargs):
        student = self.student()
        enrolment = current_enrolment(student)
        require(self.access.may_edit_profiles(enrolment.school_class_id))
        return super().get_context_data(
            **self.base_context(
                student,
                enrolment=enrolment,
                errors=errors or {},
                values=values or {},
                confirm=confirm,
                date_hint=DATE_HINT,
            ),
            **kwargs,
        )

    def post(self, request, pk: int):
        values = {"on": request.POST.get("on", "").strip(), "destination": request.POST.get("destination", "").strip()}
        student = self.student()
        try:
            on = students.parse_day(values["on"], field="on")
            destination = students.clean_destination(values["destination"])
            if request.POST.get("confirm") != "1":
                return self.render_to_response(
                    self.get_context_data(values=values, confirm={"on": on, "destination": destination})
                )
            students.student_transfer_out(access=self.access, student=student, on=on, destination=destination)
        except DomainError as exc:
            if exc.http_status in (403, 404):
                raise
            return self.render_to_response(
                self.get_context_data(errors={exc.field or "form": refusal_text(exc)}, values=values), status=400
            )
        if destination:
            messages.success(
                request,
                _("Đã ghi nhận %(name)s chuyển đi từ ngày %(d)s, đến %(to)s.")
                % {"name": student.full_name, "d": on.strftime("%d/%m/%Y"), "to": destination},
            )
        else:
            messages.success(
                request,
                _("Đã ghi nhận %(name)s chuyển đi từ ngày %(d)s.")
                % {"name": student.full_name, "d": on.strftime("%d/%m/%Y")},
            )
        return redirect(reverse("pages:student_detail", args=[pk]))


class StudentGuardiansView(MovementPage):
    """The parents' accounts that see this student: link an existing parent of the school, create one, unlink."""

    template_name = "schools/movement_guardians.html"

    def get_context_data(self, errors=None, values=None, **kwargs):
        student = self.student()
        current_class = current_class_id(enrolment_history(student))
        require(self.access.may_edit_profiles(current_class))
        linked = guardian_accounts(student)
        linked_ids = {r["account"] for r in linked}
        candidates = [r for r in parent_accounts_of_school(self.access.school_id) if r["account"] not in linked_ids]
        return super().get_context_data(
            **self.base_context(
                student, linked=linked, candidates=candidates, errors=errors or {}, values=values or {}
            ),
            **kwargs,
        )

    def _done(self, pk: int, message: str):
        messages.success(self.request, message)
        return redirect(reverse("movements:guardians", args=[pk]))

    def _failed(self, exc: DomainError, form: str, values: dict[str, str]):
        if exc.http_status == 403 and exc.code == "school.not_allowed":
            raise exc
        return self.render_to_response(
            self.get_context_data(errors={form: {exc.field or "form": refusal_text(exc)}}, values={form: values}),
            status=exc.http_status if exc.http_status in (400, 403, 404) else 400,
        )


class GuardianLinkView(StudentGuardiansView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        student = self.student()
        values = {"account": request.POST.get("account", ""), "relation": request.POST.get("relation", "").strip()}
        try:
            try:
                account_id = int(values["account"])
            except ValueError:
                raise DomainError(
                    "students.account_missing", gettext_lazy("Hãy chọn tài khoản phụ huynh."), field="account"
                ) from None
            students.guardian_link(
                access=self.access, student=student, account_id=account_id, relation=values["relation"]
            )
        except DomainError as exc:
            return self._failed(exc, "link", values)
        return self._done(pk, _("Đã liên kết tài khoản phụ huynh với %(name)s.") % {"name": student.full_name})


class GuardianCreateView(StudentGuardiansView):
    http_method_names = ["post"]

    def post(self, request, pk: int):
        student = self.student()
        values = {k: request.POST.get(k, "").strip() for k in ("username", "full_name", "email", "relation")}
        try:
            students.guardian_create_and_link(
                access=self.access,
                actor=request.user,
                student=student,
                password=request.POST.get("password") or None,
                **values,
            )
        except DomainError as exc:
            return self._failed(exc, "create", values)
        return self._done(
            pk,
            _("Đã tạo tài khoản phụ huynh %(u)s và liên kết với %(name)s.")
            % {"u": values["username"], "name": student.full_name},
        )


class GuardianUnlinkView(StudentGuardiansView):
    http_method_names = ["post"]

    def post(self, request, pk: int, account: int):
        student = self.student()
        try:
            students.guardian_unlink(access=self.access, student=student, account_id=account)
        except DomainError as exc:
            return self._failed(exc, "unlink", {})
        return self._done(pk, _("Đã bỏ liên kết tài khoản phụ huynh khỏi %(name)s.") % {"name": student.full_name})


class ClassCarryOverView(SchoolTemplatePage):
    """Year end (the principal): the students of a class go to a class of the next year; those held back may go to
    a class of the same grade. Shown first, done once confirmed; all or nothing."""

    required_capability = "school.setup"
    template_name = "schools/movement_carry.html"

    def get_context_data(self, errors=None, values=None, confirm=None, **kwargs):
        school_class = class_get(self.access, self.kwargs["pk"])
        require(self.access.can("school.setup"))
        next_year = year_after(school_class.year)
        targets = classes_of_year(next_year.pk) if next_year else []
        members = class_enrolled_students(school_class)
        return super().get_context_data(
            school_class=school_class,
            year=school_class.year,
            next_year=next_year,
            to_classes=[c for c in targets if c.grade == school_class.grade + 1],
            repeat_classes=[c for c in targets if c.grade == school_class.grade],
            members=members,
            errors=errors or {},
            values=values or {},
            confirm=confirm,
            **kwargs,
        )

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        values = {"to_class": request.POST.get("to_class", ""), "repeat_class": request.POST.get("repeat_class", "")}
        try:
            to_class = class_in_school(values["to_class"], field="to_class")
            repeat_class = (
                class_in_school(values["repeat_class"], field="repeat_class") if values["repeat_class"] else None
            )
            if request.POST.get("confirm") != "1":
                return self.render_to_response(
                    self.get_context_data(values=values, confirm={"to_class": to_class, "repeat_class": repeat_class})
                )
            job_id = carry_jobs.carry_over_start(
                access=self.access,
                school_class=school_class,
                to_class=to_class,
                repeat_class=repeat_class,
                back_url=reverse("movements:carry_over", args=[pk]),
            )
        except DomainError as exc:
            if exc.http_status in (403, 404):
                raise
            return self.render_to_response(
                self.get_context_data(errors={exc.field or "form": refusal_text(exc)}, values=values), status=400
            )
        # A background job carries the class over; its page shows what became of each student.
        return redirect(job_url(job_id))
