"""The class's exemption decisions (miễn học): the list, recording one and revoking one — the principal's decision,
recorded by the school's leadership or office (capability ``exemptions.record``)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel.errors import DomainError
from hocba.kernel.refusals import refusal_text

from ..models import ExemptionPart
from ..selectors import class_get, class_members, class_students, personal_data_readable, subjects_of
from ..selectors.exemptions import class_exemptions
from ..services import exemptions
from .common import SchoolPage, SchoolTemplatePage, report

TERM_CHOICES = (("", gettext_lazy("Cả năm học")), ("1", gettext_lazy("Học kì I")), ("2", gettext_lazy("Học kì II")))


def _parse_day(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime((value or "").strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


def _int(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


class ExemptionsView(SchoolTemplatePage):
    """The decisions of the class's students this year, the form to record one, and revoking."""

    required_capability = "exemptions.record"
    template_name = "schools/exemption_list.html"

    def get_context_data(self, **kwargs):
        school_class = class_get(self.access, self.kwargs["pk"])
        members = class_members(school_class, class_students(school_class))
        names = {m.student.pk: m for m in members}
        items = class_exemptions(school_class)
        readable = personal_data_readable(self.access, [e.student_id for e in items])
        return super().get_context_data(
            school_class=school_class,
            members=members,
            subjects=subjects_of(school_class),
            exemptions=[
                {"exemption": e, "member": names.get(e.student_id), "reason_shown": e.student_id in readable}
                for e in items
            ],
            parts=ExemptionPart.choices,
            terms=TERM_CHOICES,
            editable_states=("draft", "submitted"),
            form=kwargs.pop("form", {}),
            **kwargs,
        )

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        post = request.POST
        try:
            day = _parse_day(post.get("decided_on", ""))
            if day is None:
                raise DomainError(
                    "exemption.bad_date", _("Ngày quyết định phải theo dạng dd/mm/yyyy."), field="decided_on"
                )
            exemption = exemptions.exemption_record(
                access=self.access,
                school_class=school_class,
                student_id=_int(post.get("student", "")),
                subject_id=_int(post.get("subject", "")),
                term=exemptions.parse_term(post.get("term", "")),
                part=post.get("part", ""),
                reason=post.get("reason", ""),
                decision_number=post.get("decision_number", ""),
                decided_on=day,
                today=timezone.localdate(),
            )
        except DomainError as exc:
            report(request, exc)
            errors = getattr(exc, "errors", [])
            for error in errors:
                messages.error(request, error["detail_en"] if translation.get_language() == "en" else error["detail"])
            field = exc.field or next((e.get("field") for e in errors if e.get("field")), "student")
            return self.render_to_response(
                self.get_context_data(form=post, error_field=field, error=refusal_text(exc)), status=400
            )
        messages.success(
            request, _("Đã ghi quyết định miễn học số %(number)s.") % {"number": exemption.decision_number}
        )
        return redirect(reverse("pages:class_exemptions", args=[pk]))


class ExemptionRevokeView(SchoolPage):
    required_capability = "exemptions.record"
    http_method_names = ["post"]

    def post(self, request, pk: int, exemption: int):
        school_class = class_get(self.access, pk)
        try:
            revoked = exemptions.exemption_revoke(access=self.access, school_class=school_class, exemption_id=exemption)
        except DomainError as exc:
            if exc.http_status == 404:
                raise
            report(request, exc)
            for error in getattr(exc, "errors", []):
                messages.error(request, error["detail_en"] if translation.get_language() == "en" else error["detail"])
        else:
            messages.success(
                request, _("Đã thu hồi quyết định miễn học số %(number)s.") % {"number": revoked.decision_number}
            )
        return redirect(reverse("pages:class_exemptions", args=[pk]))
