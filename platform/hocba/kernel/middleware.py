"""The request context every request carries (who, from where, which request)."""

from __future__ import annotations

from . import context
from .clientip import client_ip
from .text import nfc_querydict

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A request run again after a lost database connection (kernel.dbretry) keeps its id.
        request_id = (
            getattr(request, "request_id", None) or request.META.get("HTTP_X_REQUEST_ID") or context.new_request_id()
        )
        request.request_id = request_id
        source = "api" if request.path.startswith("/api/") else "web"
        token = context.activate(context.ActorContext(ip=client_ip(request), request_id=request_id, source=source))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class NfcMiddleware:
    """Query strings and form posts in NFC before any view or form reads them (``hocba.kernel.text``).

    One middleware rather than a base form: it covers every form (the project's, allauth's, the admin's) and every
    view that reads ``request.POST``/``request.GET`` directly, with no form to remember to inherit from. API bodies
    are left to DRF, whose parsers (``hocba.kernel.parsers``) normalise them; the query string is done here for both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = nfc_querydict(request.GET)
        if request.method == "POST" and request.content_type in FORM_TYPES and not request.path.startswith("/api/"):
            try:
                post = request.POST
            except OSError:  # as the CSRF middleware does: the view meets the broken request itself
                post = None
            if post is not None:
                request.POST = nfc_querydict(post)
        return self.get_response(request)
