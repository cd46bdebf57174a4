"""What the school's pages share: the requester's SchoolAccess, refusals and messages in Vietnamese first."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import TemplateView
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import CapabilityRequiredMixin
from hocba.kernel.refusals import refusal_response, refusal_text

from ..access import SchoolAccess, request_school_access


def report(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, refusal_text(exc))


class SchoolPage(CapabilityRequiredMixin, View):
    """A page on a school's own address. Services and selectors decide which rows; a refusal they
    raise becomes the refusal page (GET) — POST handlers catch theirs and report them as messages."""

    required_capability = ""

    @cached_property
    def access(self) -> SchoolAccess:
        return request_school_access(self.request)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except DomainError as exc:
            return refusal_response(request, exc)


class SchoolTemplatePage(SchoolPage, TemplateView):
    """A page rendered from a template; the URL's arguments are read from ``self.kwargs``, not put in the context."""

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data())
