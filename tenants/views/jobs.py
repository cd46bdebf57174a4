"""A background job's page (``/jobs/<id>/``, on the platform's site and on a school's): the progress bar while it
runs — refreshed by ``site.js`` polling ``/api/v1/jobs/<id>/`` — and, once it has ended, each row's outcome, 200 rows
a page. Only those who may see the job (``tenants.selectors.jobs.job_visible``) find it; anyone else gets 404."""

from __future__ import annotations

from django.http import Http404
from django.views.generic import TemplateView
from hocba.kernel.access import request_school
from hocba.kernel.permissions import SIGNED_IN, CapabilityRequiredMixin

from .. import selectors
from .common import access


class JobDetailView(CapabilityRequiredMixin, TemplateView):
    required_capability = SIGNED_IN  # the job's own capability, in its scope, is checked by the selector
    template_name = "tenants/job_detail.html"

    def get_context_data(self, **kwargs):
        school = request_school(self.request)
        job = selectors.job_visible(
            job_id=kwargs["pk"], access=access(self.request), school_id=school.pk if school else None
        )
        if job is None:
            raise Http404
        rows = selectors.job_rows(job_id=job.id, page=self.request.GET.get("page")) if job.finished else None
        return super().get_context_data(job=job, rows=rows, **kwargs)
