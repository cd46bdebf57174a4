"""Tenant routing, request context, school membership on every request, and required MFA."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpResponseForbidden, HttpResponseNotFound, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django_tenants.middleware.main import TenantMainMiddleware

from . import context
from .access import bind_actor, request_access
from .errors import both_languages

_OPEN_PREFIXES = ("/static/", "/healthz", "/i18n/", "/favicon.ico")
_ACCOUNT_PREFIX = "/accounts/"


def _client_ip(request) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR", "")) or ""


def _refusal(request, status: int, code: str, message, params: dict | None = None) -> object:
    texts = both_languages(message, params)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "detail": texts["vi"], "detail_en": texts["en"]}, status=status)
    body = render_to_string("refusal.html", {"status": status, "texts": texts}, request=request)
    cls = HttpResponseNotFound if status == 404 else HttpResponseForbidden
    return cls(body)


class SchoolTenantMiddleware(TenantMainMiddleware):
    """``<slug>.<base domain>`` serves that school; the base domain serves the platform site."""

    def process_request(self, request):
        request.tenant = None
        host = self.hostname_from_request(request)
        base = settings.BASE_DOMAIN
        if host == base or not host.endswith("." + base):
            connection.set_schema_to_public()
            self.setup_url_routing(request, force_public=True)
            return None
        from tenants.models import Domain, School

        # One plain query on every request of a school (no ORM query building on the hot path), its tables named
        # with their schema: it reads the same whichever school the connection served last.
        columns = ", ".join(f"s.{f.column}" for f in School._meta.concrete_fields)
        school = next(iter(School.objects.raw(
            f"SELECT {columns} FROM public.{School._meta.db_table} s JOIN public.{Domain._meta.db_table} d"
            " ON d.tenant_id = s.id WHERE d.domain = %s LIMIT 1", [host])), None)
        if school is None or school.status != "active":
            connection.set_schema_to_public()
            return _refusal(request, 404, "schools.unknown_host",
                            _("Không có trường nào ở địa chỉ này."))
        request.tenant = school
        request.tenant.domain_url = host
        if connection.schema_name == school.schema_name and connection.include_public_schema:
            # The connection already serves this school (the previous request's): keep its search_path, which
            # django-tenants forgets by itself after any rollback (one SET fewer per request).
            connection.tenant = school
        else:
            connection.set_tenant(school)
        self.setup_url_routing(request)
        return None


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


class SchoolMembershipMiddleware:
    """On a school's subdomain every signed-in request needs a membership in that school, today."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        school = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            access = bind_actor(request)
            if school is not None and not request.path.startswith(_OPEN_PREFIXES + (_ACCOUNT_PREFIX,)):
                if not access.has_in_school("school.enter", school.id):
                    return _refusal(request, 403, "schools.no_membership",
                                    _("Tài khoản của bạn không thuộc %(school)s."), {"school": school.name})
        return self.get_response(request)


class MfaRequiredMiddleware:
    """Administrative roles must have TOTP set up before doing anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES + (_ACCOUNT_PREFIX,))
            and request_access(request).mfa_required
            and not _has_totp(user)
        ):
            if request.path.startswith("/api/"):
                return _refusal(request, 403, "accounts.mfa_required",
                                _("Vai trò quản trị cần bật xác thực hai lớp (TOTP) trước khi tiếp tục."))
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    cached = getattr(user, "_hocba_has_totp", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._hocba_has_totp = cached
    return cached
