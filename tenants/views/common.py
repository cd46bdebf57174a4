"""Small pieces the administration pages share."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from hocba.kernel.access import request_access
from hocba.kernel.errors import DomainError
from hocba.kernel.refusals import refusal_response, refusal_text


def refuse(request, message=None, status: int = 403) -> HttpResponse:
    """A refusal page in both languages; ``message`` must be lazy so that each language renders."""
    message = message or _("Đối tượng này nằm ngoài phạm vi quản lý của bạn.")
    return refusal_response(request, DomainError("out_of_scope", message, http_status=status))


def chosen_outside(request, form, field: str) -> bool:
    """Does the post name, in ``field``, a unit, school or scope outside the choices offered to the requester? Asked
    before the form is validated, so the refusal says nothing about the other fields; a post naming none is left to
    the form."""
    value = request.POST.get(form.add_prefix(field), "")
    return value != "" and value not in {str(key) for key, _label in form.fields[field].choices}


def report_error(request, exc: DomainError) -> None:
    messages.error(request, refusal_text(exc))


def back(request, fallback: str):
    return redirect(request.POST.get("next") or fallback)


def access(request):
    return request_access(request)
