"""What a person or a client gets when Django itself answers with an error (the URL configurations' handler400,
handler403, handler404, handler500).

Under ``/api/`` the body every refusal has (``code``, ``detail`` in Vietnamese, ``detail_en``) and the request id,
500 included: no HTML, no stack trace (the trace goes to the log, with the request id). Elsewhere the error page,
in the page's language only.

The 500 page is rendered without the request's context: the error may be the database's, and the context
processors (the school, the person's access) ask the database. Whatever fails while rendering an error page, a
fixed page is still returned.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from . import context
from .errors import both_languages

log = logging.getLogger(__name__)

ERRORS: dict[int, tuple[str, Any, Any]] = {
    400: ("bad_request", _("Yêu cầu không hợp lệ"), _("Máy chủ không hiểu yêu cầu này.")),
    403: ("permission_denied", _("Không có quyền"), _("Bạn không có quyền mở trang này.")),
    404: ("not_found", _("Không tìm thấy"), _("Không tìm thấy trang này.")),
    500: (
        "server_error",
        _("Lỗi máy chủ"),
        _(
            "Máy chủ gặp lỗi nên chưa hoàn thành yêu cầu. Xin thử lại sau ít phút; nếu vẫn lỗi, "
            "hãy báo mã yêu cầu cho bộ phận hỗ trợ."
        ),
    ),
}


def request_id_of(request: HttpRequest) -> str:
    """The request's id (``RequestContextMiddleware``), or the client's, or a new one when the error came first."""
    return getattr(request, "request_id", None) or request.META.get("HTTP_X_REQUEST_ID") or context.new_request_id()


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_body(status: int, request_id: str) -> dict[str, str]:
    code, _title, message = ERRORS[status]
    texts = both_languages(message)
    return {"code": code, "detail": texts["vi"], "detail_en": texts["en"], "request_id": request_id}


def _fixed_page(status: int, request_id: str) -> str:
    _code, title, message = ERRORS[status]
    return (
        f'<!doctype html><html lang="{translation.get_language()}"><meta charset="utf-8">'
        f"<title>{escape(str(title))} · HọcBạ</title><h1>{escape(str(title))}</h1><p>{escape(str(message))}</p>"
        f"<p><small>{escape(request_id)}</small></p></html>"
    )


def error_response(request: HttpRequest, status: int, *, with_request: bool = True) -> HttpResponse:
    """The error as the API's JSON body or as the error page ``<status>.html`` in the request's language."""
    request_id = request_id_of(request)
    if is_api(request):
        response: HttpResponse = JsonResponse(
            error_body(status, request_id), status=status, json_dumps_params={"ensure_ascii": False}
        )
    else:
        # The language the page would have had (LocaleMiddleware may not have run when the error came early).
        with translation.override(translation.get_language_from_request(request)):
            _code, title, message = ERRORS[status]
            page_context = {"status": status, "title": title, "message": message, "request_id": request_id}
            try:
                html = loader.render_to_string(f"{status}.html", page_context, request if with_request else None)
            except Exception:  # noqa: BLE001 - an error page must never fail in turn
                log.exception("error page %s could not be rendered (request %s)", status, request_id)
                html = _fixed_page(status, request_id)
        response = HttpResponse(html, status=status)
    response["X-Request-ID"] = request_id
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500, with_request=False)
