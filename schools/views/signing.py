"""Signing record books (issue 10): a class's signing page — each record's chain, who signed and who is next, and
the steps the person holds, confirmed once for the whole class — and the principal's year-end signing of the school.

A confirmation with a key held by the server (PKCS#12, PKCS#11) needs allauth's re-authentication (the request is
replayed after it) and the account's TOTP; a remote key (CSC) queues the job and the job's page waits for the
provider; a key on the signer's own device opens a device session for their local app (``/api/v1/signing/device/``).
"""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from hocba.kernel.errors import DomainError
from hocba.kernel.roles import Role

from reporting.services import signing_flow
from reporting.services.signing import totp_problem
from reporting.signing import SigningFailed
from tenants.services.jobs import job_url

from ..selectors import class_get, year_shown
from .common import SchoolTemplatePage, report

# Raises allauth's ReauthenticationRequired unless the account re-authenticated a moment ago; allauth's middleware
# then asks for the password (or the TOTP code) and replays the suspended POST.
_require_recent_authentication = reauthentication_required(lambda request: None)


def _report_signing(request, exc: SigningFailed) -> None:
    messages.error(request, str(exc.message))


class ClassSigningView(SchoolTemplatePage):
    required_capability = "records.signing"
    template_name = "schools/signing_class.html"

    def get_context_data(self, device_session: str = "", **kwargs):
        access = self.access
        school_class = class_get(access, self.kwargs["pk"])
        overview = signing_flow.class_overview(access=access, school_class=school_class)
        return super().get_context_data(
            school_class=school_class,
            year=school_class.year,
            chains=overview.chains,
            mine=overview.mine,
            needs_totp=bool(overview.mine) and totp_problem(access.account_id) is not None,
            device_session=device_session,
            **kwargs,
        )

    def post(self, request, pk: int):
        access = self.access
        school_class = class_get(access, pk)
        back = reverse("signing:class", args=[school_class.pk])
        try:
            subject = signing_flow.subject_of(request.POST.get("subject"))
            step = request.POST.get("step", "")
            signing_flow.confirmation_check(access=access, school_class=school_class, step=step, subject=subject)
            key = signing_flow.key_for(access=access, step=step)
            if key.is_device:
                pending = signing_flow.device_session_start(
                    access=access, school_class=school_class, step=step, subject=subject
                )
                return self.render_to_response(self.get_context_data(device_session=pending))
            if key.backend in signing_flow.SERVER_HELD:
                _require_recent_authentication(request)
            job_id = signing_flow.confirmation_start(
                access=access, school_class=school_class, step=step, subject=subject, back_url=back
            )
        except DomainError as exc:
            report(request, exc)
            return redirect(back)
        except SigningFailed as exc:
            _report_signing(request, exc)
            return redirect(back)
        return redirect(job_url(job_id))


class YearSigningView(SchoolTemplatePage):
    """The principal's year-end signing: the principal's signature and the school seal over every record of the year
    whose teachers have signed, one job with its progress bar."""

    required_capability = "records.seal"
    template_name = "schools/signing_year.html"

    def get_context_data(self, **kwargs):
        year = year_shown(self.request)
        counts = signing_flow.year_counts(year) if year is not None else None
        return super().get_context_data(
            year=year,
            counts=counts,
            may_run=Role.PRINCIPAL in self.access.roles,
            needs_totp=totp_problem(self.access.account_id) is not None,
            **kwargs,
        )

    def post(self, request):
        access = self.access
        back = reverse("signing:year")
        year = signing_flow.year_of(request.POST.get("year"))
        if year is None:
            messages.error(request, _("Năm học không hợp lệ."))
            return redirect(back)
        try:
            signing_flow.year_check(access=access, year=year)
            key = signing_flow.key_for(access=access, step="principal")
            if key.backend in signing_flow.SERVER_HELD:
                _require_recent_authentication(request)
            job_id = signing_flow.year_start(access=access, year=year, back_url=f"{back}?year={year.start_year}")
        except DomainError as exc:
            report(request, exc)
            return redirect(back)
        except SigningFailed as exc:
            _report_signing(request, exc)
            return redirect(back)
        return redirect(job_url(job_id))
