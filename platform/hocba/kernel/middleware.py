"""The request context every request carries (who, from where, which request), and the refusal page or body."""

from __future__ import annotations

from django.http import HttpResponseForbidden, HttpResponseNotFound, JsonResponse
from django.template.loader import render_to_string

from . import context
from .errors import both_languages


def _client_ip(request) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR", "")) or ""


def refusal_response(request, status: int, code: str, message, params: dict | None = None) -> object:
    texts = both_languages(message, params)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "detail": texts["vi"], "detail_en": texts["en"]}, status=status)
    body = render_to_string("refusal.html", {"status": status, "texts": texts}, request=request)
    cls = HttpResponseNotFound if status == 404 else HttpResponseForbidden
    return cls(body)


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.META.get("HTTP_X_REQUEST_ID") or context.new_request_id()
        request.request_id = request_id
        source = "api" if request.path.startswith("/api/") else "web"
        token = context.activate(context.ActorContext(ip=_client_ip(request), request_id=request_id, source=source))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response
