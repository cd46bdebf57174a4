"""Excel pages of a school: templates to download, imports with a report per row and cell, the class export.

Every view declares its capability; rows are scoped by the requester's ``SchoolAccess`` (another school's
class id does not exist on this school's address: 404). An import that fails answers 400 with the report,
as a page or, with ``Accept: application/json``, as JSON.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views import View
from hocba.kernel import context
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_response, refusal_texts
from hocba.kernel.spreadsheets import XLSX_CONTENT_TYPE, ImportFailed, check_upload_size, fail

from ..access import SchoolAccess, request_school_access
from ..excel import export as excel_export
from ..excel import qualities as excel_qualities
from ..excel import sheets as excel_sheets
from ..excel import students as excel_students
from ..models import SchoolClass, Subject
from ..selectors import class_and_subject_get, class_for_profiles, class_get
from .yearend import CHECKPOINT_LABELS


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"  # students' personal data
    return response


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

    @staticmethod
    def uploaded(request) -> bytes:
        upload = request.FILES.get("file")
        if upload is None:
            raise fail("excel.no_file", _("Chưa chọn tệp Excel để tải lên."))
        check_upload_size(upload.size)
        return upload.read()


def sheet_target(access: SchoolAccess, pk: int, subject_pk: int) -> tuple[SchoolClass, Subject]:
    school_class, subject = class_and_subject_get(access, pk, subject_pk)
    if subject.level != school_class.level or school_class.grade not in subject.grades:
        raise DomainError(
            "sheet.subject_not_taught",
            _("Môn %(subject)s không học ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            http_status=404,
        )
    return school_class, subject


# --------------------------------------------------------------------------------------- students


class StudentsTemplateView(ExcelView):
    required_capability = "profiles.edit"

    def get(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_for_profiles(access, pk)
        content = excel_students.students_template(access=access, school_class=school_class)
        return xlsx_response(content, f"danh-sach-hoc-sinh-{slugify(school_class.name)}.xlsx")


class StudentsImportView(ExcelView):
    required_capability = "profiles.edit"

    def get(self, request, pk: int):
        school_class = class_for_profiles(request_school_access(request), pk)
        return TemplateResponse(
            request,
            "schools/excel_import.html",
            {
                "heading": _("Nhập danh sách học sinh từ Excel"),
                "school_class": school_class,
                "template_url": reverse("excel_students_template", args=[pk]),
                "kind": "students",
            },
        )

    def post(self, request, pk: int):
        access = request_school_access(request)
        school_class = class_for_profiles(access, pk)
        content = self.uploaded(request)
        result = excel_students.students_import(
            access=access, school_class=school_class, content=content, today=timezone.localdate()
        )
        created = [{"id": s.pk, "full_name": s.full_name} for s in result.students]
        if wants_json(request):
            return JsonResponse(
                {"created": len(created), "students": created}, status=201, json_dumps_params={"ensure_ascii": False}
            )
        return TemplateResponse(
            request,
            "schools/excel_result.html",
            {"ok": True, "kind": "students", "school_class": school_class, "created": created, "back": request.path},
        )


# --------------------------------------------------------------------------------------- grade sheets


class SheetTemplateView(ExcelView):
    required_capability = "school.enter"  # who may read or enter the sheet is the service's to decide

    def get(self, request, pk: int, subject: int, term: int):
        access = request_school_access(request)
        school_class, subject_obj = sheet_target(access, pk, subject)
        content = excel_sheets.sheet_template(access=access, school_class=school_class, subject=subject_obj, term=term)
        return xlsx_response(
            content, f"bang-diem-{slugify(subject_obj.code)}-{slugify(school_class.name)}-hk{term}.xlsx"
        )


class SheetImportView(ExcelView):
    required_capability = "sheets.enter"

    def _target(self, request, pk: int, subject: int):
        access = request_school_access(request)
        school_class, subject_obj = sheet_target(access, pk, subject)
        if not access.may_enter_sheet(school_class.pk, subject_obj.pk):
            raise NotAllowed(
                "sheet.not_assigned",
                _("Bạn không được phân công dạy môn %(subject)s ở lớp %(class)s."),
                params={"subject": subject_obj.name, "class": school_class.name},
            )
        return access, school_class, subject_obj

    def get(self, request, pk: int, subject: int, term: int):
        _access, school_class, subject_obj = self._target(request, pk, subject)
        return TemplateResponse(
            request,
            "schools/excel_import.html",
            {
                "heading": _("Nhập bảng điểm từ Excel"),
                "school_class": school_class,
                "subject": subject_obj,
                "term": term,
                "template_url": reverse("excel_sheet_template", args=[pk, subject, term]),
                "kind": "sheet",
            },
        )

    def post(self, request, pk: int, subject: int, term: int):
        access, school_class, subject_obj = self._target(request, pk, subject)
        content = self.uploaded(request)
        result = excel_sheets.sheet_import(
            access=access, school_class=school_class, subject=subject_obj, term=term, content=content
        )
        data = {
            "rows": result.rows,
            "changed": result.changed,
            "written": result.saved.written,
            "cleared": result.saved.cleared,
        }
        if wants_json(request):
            return JsonResponse(data)
        return TemplateResponse(
            request,
            "schools/excel_result.html",
            {
                "ok": True,
                "kind": "sheet",
                "school_class": school_class,
                "subject": subject_obj,
                "term": term,
                "back": request.path,
                **data,
            },
        )


# --------------------------------------------------------------------------------------- TT27 qualities


def qualities_target(access: SchoolAccess, pk: int, term: int, checkpoint: str) -> SchoolClass:
    """The class whose qualities this person enters (the qualities page's rule) at a TT27 checkpoint."""
    school_class = class_get(access, pk)
    excel_qualities.managed_class(access, school_class)
    excel_qualities.check_target(term, checkpoint)
    excel_qualities.traits_of(school_class)  # a secondary class has none (TT22)
    return school_class


class QualitiesTemplateView(ExcelView):
    required_capability = "class.enter"  # the homeroom teacher of the class, or BGH, as on the qualities page

    def get(self, request, pk: int, term: int, checkpoint: str):
        access = request_school_access(request)
        school_class = qualities_target(access, pk, term, checkpoint)
        content = excel_qualities.qualities_template(
            access=access, school_class=school_class, term=term, checkpoint=checkpoint
        )
        return xlsx_response(content, f"pham-chat-nang-luc-{slugify(school_class.name)}-hk{term}-{checkpoint}.xlsx")


class QualitiesImportView(ExcelView):
    required_capability = "class.enter"

    def get(self, request, pk: int, term: int, checkpoint: str):
        school_class = qualities_target(request_school_access(request), pk, term, checkpoint)
        return TemplateResponse(
            request,
            "schools/excel_import.html",
            {
                "heading": _("Nhập phẩm chất, năng lực từ Excel"),
                "school_class": school_class,
                "checkpoint_label": CHECKPOINT_LABELS[(term, checkpoint)],
                "template_url": reverse("excel_qualities_template", args=[pk, term, checkpoint]),
                "back_url": reverse("yearend:qualities", args=[pk, term, checkpoint]),
                "kind": "qualities",
            },
        )

    def post(self, request, pk: int, term: int, checkpoint: str):
        access = request_school_access(request)
        school_class = qualities_target(access, pk, term, checkpoint)
        content = self.uploaded(request)
        result = excel_qualities.qualities_import(
            access=access, school_class=school_class, term=term, checkpoint=checkpoint, content=content
        )
        data = {"rows": result.rows, "changed": result.changed, "written": result.written, "cleared": result.cleared}
        if wants_json(request):
            return JsonResponse(data)
        return TemplateResponse(
            request,
            "schools/excel_result.html",
            {
                "ok": True,
                "kind": "qualities",
                "school_class": school_class,
                "back": request.path,
                "back_url": reverse("yearend:qualities", args=[pk, term, checkpoint]),
                **data,
            },
        )


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
