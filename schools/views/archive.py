"""The school's archive pages (issue 10, Build 4 and 5; 004 art. 6.3, 7.2, 8.1, 10.3, 12): the year-end archive of
the signed record books with its jobs (the job's page shows the progress bar), the class and year bundles (zip,
streamed), the principal's khóa decision, the revocation of a signed record and the hand-over of a leaving student.
Printing, export and hand-over exist on the school's own site only: these pages are served by the school's URL conf,
and the platform site answers them with a refusal (``tenants.views.schoolonly``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from hocba.kernel import archive as store
from hocba.kernel.errors import DomainError
from hocba.kernel.refusals import refusal_response, refusal_text

from reporting import selectors as archive_reads
from reporting.services import archive, archivejobs, bundles, signing
from tenants.services.jobs import job_url
from tenants.windows import WindowLocked

from ..selectors import class_get
from .common import SchoolPage, SchoolTemplatePage, report

UNAVAILABLE = gettext_lazy("Kho lưu trữ tạm thời không truy cập được; hãy thử lại sau ít phút.")


def _unavailable() -> DomainError:
    return DomainError("archive.unavailable", UNAVAILABLE, http_status=503)


def _year_url(year_start: int | None = None) -> str:
    url = reverse("archive:year")
    return f"{url}?year={year_start}" if year_start else url


def _class_url(pk: int) -> str:
    return reverse("archive:class", args=[pk])


def _zip(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


class ArchiveYearView(SchoolTemplatePage):
    """The year-end archive: each class's signed, sealed and archived records and its manifest; run the year's job or
    one class's; download the bundles."""

    required_capability = "records.archive"
    template_name = "schools/archive_year.html"

    def get_context_data(self, **kwargs):
        raw = self.request.GET.get("year", "")
        year = archive_reads.year_by_start(int(raw) if raw.isdigit() else None)
        if raw and year is None:
            raise DomainError("school.not_found", gettext_lazy("Trường không có năm học này."), http_status=404)
        rows = archive_reads.archive_overview(year) if year else []
        return {
            "year": year,
            "years": archive_reads.school_years(),
            "rows": rows,
            "waiting": sum(r.sealed for r in rows),
            "archived": sum(r.archived for r in rows),
            "manifests_behind": sum(r.manifest_behind for r in rows),
            "may_export": self.access.can("records.export"),
        }


class ArchiveClassView(SchoolTemplatePage):
    """One class: its signed and locked records (each with the principal's revocation), the khóa decision, its job
    and bundle."""

    required_capability = "records.archive"
    template_name = "schools/archive_class.html"

    def get_context_data(self, **kwargs):
        school_class = class_get(self.access, self.kwargs["pk"])
        overview = next(
            r for r in archive_reads.archive_overview(school_class.year) if r.school_class.pk == school_class.pk
        )
        return {
            "school_class": school_class,
            "row": overview,
            "records": archive_reads.class_records(school_class),
            "may_lock": self.access.can("records.lock"),
            "may_revoke": self.access.can("records.revoke"),
            "may_export": self.access.can("records.export"),
        }


class ArchiveClassRunView(SchoolPage):
    required_capability = "records.archive"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            job_id = archivejobs.archive_class_start(
                access=self.access, school_class=school_class, back_url=_class_url(pk)
            )
        except DomainError as exc:
            report(request, exc)
            return redirect(_class_url(pk))
        return redirect(job_url(job_id))


class ArchiveYearRunView(SchoolPage):
    required_capability = "records.archive"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        year = archive_reads.year_get(pk)
        try:
            job_id = archivejobs.archive_year_start(access=self.access, year=year, back_url=_year_url(year.start_year))
        except DomainError as exc:
            report(request, exc)
            return redirect(_year_url(year.start_year))
        return redirect(job_url(job_id))


class ClassBundleView(SchoolPage):
    """The class's archived files (PDFs, JSON data), its manifest and the manifest's signature, as one zip."""

    required_capability = "records.export"

    def get(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            entries = bundles.class_entries(school_class)
        except archive.ArchiveUnavailable:
            return refusal_response(request, _unavailable())
        name = f"hoc-ba-{school_class.year.start_year}-{archive.archivekeys.segment(school_class.name)}.zip"
        return _zip(bundles.stream_zip(archive.client(), store.archive_bucket(), entries), name)


class YearBundleView(SchoolPage):
    """Every class of the year: one folder per class with its files, manifest and signature."""

    required_capability = "records.export"

    def get(self, request, pk: int):
        year = archive_reads.year_get(pk)
        try:
            entries = bundles.year_entries(year)
        except archive.ArchiveUnavailable:
            return refusal_response(request, _unavailable())
        return _zip(
            bundles.stream_zip(archive.client(), store.archive_bucket(), entries), f"hoc-ba-{year.start_year}.zip"
        )


class ClassLockView(SchoolPage):
    """The principal's khóa decision (004 art. 12.1): the class's signed and archived records become locked."""

    required_capability = "records.lock"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        school_class = class_get(self.access, pk)
        try:
            locked = signing.records_lock(access=self.access, school_class=school_class)
        except DomainError as exc:
            report(request, exc)
        else:
            messages.success(
                request, _("Đã khóa %(n)s học bạ của lớp %(c)s.") % {"n": locked.count, "c": school_class.name}
            )
            if locked.not_archived:
                messages.warning(
                    request,
                    _("%(n)s học bạ đã ký chưa được lưu trữ nên chưa khóa; hãy chạy lưu trữ lớp rồi khóa lại.")
                    % {"n": len(locked.not_archived)},
                )
        return redirect(_class_url(pk))


class RecordRevokeView(SchoolTemplatePage):
    """The principal revokes a signed or locked record with a reason: back to draft, its archived copy kept and marked
    superseded. After a lock the windows refuse it (423) unless an exception names the record: the page says how."""

    required_capability = "records.revoke"
    template_name = "schools/archive_revoke.html"

    def get_context_data(self, **kwargs):
        record = archive_reads.record_with_class(self.kwargs["pk"])
        class_get(self.access, record.school_class_id)
        return {"record": record, "school_class": record.school_class, **kwargs}

    def post(self, request, pk: int):
        record = archive_reads.record_with_class(pk)
        class_get(self.access, record.school_class_id)
        reason = request.POST.get("reason", "")
        try:
            signing.record_revoke(access=self.access, record=record, reason=reason)
        except WindowLocked as exc:
            context = self.get_context_data(error=refusal_text(exc), locked=True, reason=reason)
            return self.render_to_response(context, status=423)
        except DomainError as exc:
            context = self.get_context_data(error=refusal_text(exc), reason=reason)
            return self.render_to_response(context, status=exc.http_status if exc.http_status < 500 else 400)
        messages.success(
            request,
            _("Đã thu hồi học bạ của %(n)s; bản đã lưu trữ được giữ nguyên và ghi là đã bị thay thế.")
            % {"n": record.student.full_name},
        )
        return redirect(_class_url(record.school_class_id))


class HandoverView(SchoolTemplatePage):
    """The hand-over of a leaving or transferring student (004 art. 6.3, 7.2, 8.1): the signed books as one zip,
    stored with Object Lock and recorded on the enrolment that ended; principal only."""

    required_capability = "records.export"
    template_name = "schools/archive_handover.html"

    def get_context_data(self, **kwargs):
        student = archive_reads.student_get(self.kwargs["pk"])
        return {
            "student": student,
            "documents": bundles.handover_documents(student),
            "handovers": archive_reads.handovers_of(student),
            **kwargs,
        }

    def post(self, request, pk: int):
        student = archive_reads.student_get(pk)
        try:
            made = bundles.handover_create(access=self.access, student=student)
        except archive.ArchiveUnavailable:
            return self.render_to_response(self.get_context_data(error=UNAVAILABLE), status=503)
        except DomainError as exc:
            return self.render_to_response(self.get_context_data(error=refusal_text(exc)), status=409)
        response = HttpResponse(made.data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="ban-giao-hoc-ba-{made.handover.pk}.zip"'
        response["X-Content-SHA256"] = made.handover.sha256
        return response
