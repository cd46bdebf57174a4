"""The request context every request carries (who, from where, which request)."""

from __future__ import annotations

from django.conf import settings

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
        school = getattr(getattr(request, "tenant", None), "schema_name", "")  # set by the tenant routing
        token = context.activate(
            context.ActorContext(ip=client_ip(request), request_id=request_id, source=source, school=school)
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class ProbeMiddleware:
    """The probes answer on any host: the kubelet and Docker ask with the pod's address or localhost, which
    ALLOWED_HOSTS refuses. Before anything reads the host, a probe's request is taken as one to the base domain
    (the platform's site: no school is looked up), without cookies (no session is read: /healthz asks nothing of
    the database). Nothing else of the request changes, and nothing of any other path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in PROBE_PATHS:
            request.META["HTTP_HOST"] = settings.BASE_DOMAIN
            for header in ("HTTP_X_FORWARDED_HOST", "HTTP_COOKIE"):
                request.META.pop(header, None)
            request.COOKIES = {}
        return self.get_response(request)


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
