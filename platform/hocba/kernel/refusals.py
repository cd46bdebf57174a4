"""A refusal as it reaches a person or a client: under ``/api/`` the body every refusal has (``code``,
``detail`` in Vietnamese, ``detail_en``, and ``field`` or more where the error adds them — the OpenAPI
``Refusal`` schema), elsewhere the refusal page in both languages (``refusal.html``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import translation

from .errors import DomainError

PAGE_STATUSES = (400, 403, 404)  # a page shows any other refusal as 403


def refusal_texts(exc: DomainError) -> dict[str, str]:
    """``{"vi": …, "en": …}``: the refusal's message in both languages, as its JSON body carries them."""
    data = exc.as_dict()
    return {"vi": data["detail"], "en": data.get("detail_en") or data["detail"]}


def refusal_text(exc: DomainError) -> str:
    """The refusal's message in the active language (Vietnamese unless the person chose English)."""
    texts = refusal_texts(exc)
    return texts["en"] if translation.get_language() == "en" else texts["vi"]


def refusal_response(request: HttpRequest, exc: DomainError, *, as_json: bool | None = None) -> HttpResponse:
    """The refusal as JSON with the error's status for the API (a path under ``/api/``, or ``as_json``), else
    the refusal page. The page is rendered at once, so that a middleware may return it too."""
    if as_json if as_json is not None else request.path.startswith("/api/"):
        return JsonResponse(exc.as_dict(), status=exc.http_status, json_dumps_params={"ensure_ascii": False})
    status = exc.http_status if exc.http_status in PAGE_STATUSES else 403
    page = TemplateResponse(request, "refusal.html", {"status": status, "texts": refusal_texts(exc)}, status=status)
    return page.render()
