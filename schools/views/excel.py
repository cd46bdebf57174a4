"""Excel pages of a school: templates to download, imports with a report per row and cell, the class export.

Every view declares its capability; rows are scoped by the requester's ``SchoolAccess`` (another school's
class id does not exist on this school's address: 404). An import that fails answers 400 with the report,
as a page or, with ``Accept: application/json``, as JSON.
"""

from __future__ import annotations

import abc
from typing import Any

from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views import View
from hocba.kernel import context
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_response, refusal_texts
from hocba.kernel.spreadsheets import ImportFailed

from ..access import request_school_access
from ..excel import background, imports
from ..excel import export as excel_export
from ..excel import qualities as excel_qualities
from ..excel.common import xlsx_response
from ..selectors import class_get
from .yearend import CHECKPOINT_LABELS


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


class ExcelView(CapabilityRequiredMixin, View):
    """Turns a refusal into a page (or JSON): 400 with the report for an import, 403/404 otherwise."""

    def dispatch(self, request, *args, **kwargs):
        # What an upload writes is recorded in the audit trail as an import, not as a form on a page.
        token = context.update(source="import") if request.method == "POST" else None
        try:
            return super().dispatch(request, *args, **kwargs)
        except DomainError as exc:
            return self.refused(request, exc)
        finally:
            if token is not None:
                context.reset(token)

    def refused(self, request, exc: DomainError):
        if wants_json(request) or exc.http_status in (403, 404):
            return refusal_response(request, exc, as_json=wants_json(request))
        problems = exc.problems if isinstance(exc, ImportFailed) else []
        return TemplateResponse(
            request,
            "schools/excel_result.html",
            {"ok": False, "texts": refusal_texts(exc), "problems": problems, "back": request.path, "code": exc.code},
            status=exc.http_status,
        )


class ImportView(ExcelView, abc.ABC):
    """An import's page: GET the upload form; POST the file, checked in the request (its shape and the limits),
    then imported here when it is small, or by the worker (``background.receive``): the page goes to the job's page."""

    kind = ""
    heading: Any = ""

    @abc.abstractmethod
    def target(self, **kwargs) -> imports.Target:
        """The import this view serves, for the URL's arguments (each subclass names its own)."""

    def form_context(self, resolved: imports.Resolved) -> dict[str, Any]:
        return {}

    def get(self, request, **kwargs):
        resolved = imports.resolve(request_school_access(request), self.target(**kwargs))
        return TemplateResponse(
            request,
            "schools/excel_import.html",
            {
                "heading": self.heading,
                "school_class": resolved.school_class,
                "template_url": imports.template_url(resolved.target),
                "kind": self.kind,
                "inline_rows": imports.inline_rows(),
                **self.form_context(resolved),
            },
        )

    def post(self, request, **kwargs):
        submitted = background.receive(
            access=request_school_access(request),
            target=self.target(**kwargs),
            upload=request.FILES.get("file"),
            account_id=request.user.pk,
        )
        resolved = submitted.resolved
        if submitted.job_id is not None:
            if wants_json(request):
                return JsonResponse(
                    background.job_reference(submitted.job_id), status=202, json_dumps_params={"ensure_ascii": False}
                )
            return redirect(background.job_reference(submitted.job_id)["url"])
        data, status = imports.result_data(resolved, submitted.outcome)
        if wants_json(request):
            return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
        ctx = {"ok": True, "kind": self.kind, "school_class": resolved.school_class, "back": request.path}
        ctx.update(self.form_context(resolved))
        if self.kind == "students":
            ctx["created"] = data["students"]
        else:
            ctx.update(data)
        return TemplateResponse(request, "schools/excel_result.html", ctx)


# --------------------------------------------------------------------------------------- students


class StudentsTemplateView(ExcelView):
    required_capability = "profiles.edit"

    def get(self, request, pk: int):
        return xlsx_response(*imports.template_file(request_school_access(request), imports.Target("students", pk)))


class StudentsImportView(ImportView):
    required_capability = "profiles.edit"
    kind = "students"
    heading = _("Nhập danh sách học sinh từ Excel")

    def target(self, *, pk: int) -> imports.Target:
        return imports.Target("students", pk)


# --------------------------------------------------------------------------------------- grade sheets


class SheetTemplateView(ExcelView):
    required_capability = "school.enter"  # who may read or enter the sheet is the service's to decide

    def get(self, request, pk: int, subject: int, term: int):
        target = imports.Target("sheet", pk, subject_id=subject, term=term)
        return xlsx_response(*imports.template_file(request_school_access(request), target))


class SheetImportView(ImportView):
    required_capability = "sheets.enter"
    kind = "sheet"
    heading = _("Nhập bảng điểm từ Excel")

    def target(self, *, pk: int, subject: int, term: int) -> imports.Target:
        return imports.Target("sheet", pk, subject_id=subject, term=term)

    def form_context(self, resolved: imports.Resolved) -> dict[str, Any]:
        return {"subject": resolved.subject, "term": resolved.target.term}


# --------------------------------------------------------------------------------------- TT27 qualities


class QualitiesTemplateView(ExcelView):
    required_capability = "class.enter"  # the homeroom teacher of the class, or BGH, as on the qualities page

    def get(self, request, pk: int, term: int, checkpoint: str):
        target = imports.Target("qualities", pk, term=term, checkpoint=checkpoint)
        return xlsx_response(*imports.template_file(request_school_access(request), target))


class QualitiesImportView(ImportView):
    required_capability = "class.enter"
    kind = "qualities"
    heading = _("Nhập phẩm chất, năng lực từ Excel")

    def target(self, *, pk: int, term: int, checkpoint: str) -> imports.Target:
        return imports.Target("qualities", pk, term=term, checkpoint=checkpoint)

    def form_context(self, resolved: imports.Resolved) -> dict[str, Any]:
        t = resolved.target
        return {
            "checkpoint_label": CHECKPOINT_LABELS[(t.term, t.checkpoint)],
            "back_url": reverse("yearend:qualities", args=[t.class_id, t.term, t.checkpoint]),
        }


class QualitiesExportView(ExcelView):
    required_capability = "class.enter"  # BGH and the class's homeroom teacher, as on the year-end page

    def get(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        content = excel_qualities.qualities_export(access=access, school_class=school_class)
        return xlsx_response(
            content, f"pham-chat-nang-luc-{slugify(school_class.name)}-{school_class.year.start_year}.xlsx"
        )


# --------------------------------------------------------------------------------------- export


class ClassExportView(ExcelView):
    required_capability = "school.enter"  # the subjects exported are those the person may read

    def get(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_get(access, pk)
        content = excel_export.class_export(access=access, school_class=school_class)
        return xlsx_response(content, f"lop-{slugify(school_class.name)}-{school_class.year.start_year}.xlsx")
