"""Small pieces the administration pages share."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from hocba.kernel.access import request_access
from hocba.kernel.errors import DomainError, both_languages


def refuse(request, message=None, status: int = 403) -> TemplateResponse:
    """A refusal page in both languages; ``message`` must be lazy so that each language renders."""
    texts = both_languages(message or _("Đối tượng này nằm ngoài phạm vi quản lý của bạn."))
    return TemplateResponse(request, "refusal.html", {"status": status, "texts": texts}, status=status)


def report_error(request, exc: DomainError) -> None:
    texts = both_languages(exc.message, exc.params)
    messages.error(request, texts["vi"] if request.LANGUAGE_CODE == "vi" else texts["en"])


def back(request, fallback: str):
    return redirect(request.POST.get("next") or fallback)


def access(request):
    return request_access(request)
