"""The request context every request carries (who, from where, which request)."""

from __future__ import annotations

from django.conf import settings

from . import context
from .clientip import client_ip
from .text import nfc_querydict

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


PAGE_HEADER = "HTTP_X_HOCBA_PAGE"  # ``X-HocBa-Page: 1``, set by the site's own scripts (the grade sheet)


def from_own_page(request) -> bool:
    """A request that one of the site's pages sent to the API (the grade sheet saves through it): its source is the
    web page, as the person saw it. The header is trusted only from a signed-in browser on the same site — a session
    cookie, no ``Authorization`` (a token client can set any header), and the browser's own mark that the request
    comes from the same origin (``Sec-Fetch-Site``, or else an ``Origin`` equal to the host). Such an unsafe request
    also passes DRF's CSRF check of session authentication, which a page of another site cannot."""
    if request.META.get(PAGE_HEADER) != "1" or "HTTP_AUTHORIZATION" in request.META:
        return False
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    site = request.META.get("HTTP_SEC_FETCH_SITE")
    if site is not None:
        return site == "same-origin"
    origin = request.META.get("HTTP_ORIGIN", "")
    return bool(origin) and origin.partition("://")[2] == request.META.get("HTTP_HOST", "")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A request run again after a lost database connection (kernel.dbretry) keeps its id. A client's own id is
        # kept as sent, cut to the audit rows' 64 characters (a longer one would make every audited write fail).
        request_id = (
            getattr(request, "request_id", None)
            or request.META.get("HTTP_X_REQUEST_ID", "")[: context.REQUEST_ID_MAX]
            or context.new_request_id()
        )
        request.request_id = request_id
        source = "api" if request.path.startswith("/api/") and not from_own_page(request) else "web"
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
