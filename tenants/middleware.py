"""Which school a request is for, and who may enter it: tenant routing by subdomain, a membership in force in
that school on every signed-in request, and the second factor that administrative roles must have."""

from __future__ import annotations

from dataclasses import replace

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db import connection
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _
from django_tenants.middleware.main import TenantMainMiddleware
from hocba.kernel import context
from hocba.kernel.access import bind_actor, request_access
from hocba.kernel.errors import DomainError, NotAllowed
from hocba.kernel.refusals import refusal_response

from .models import Domain, School
from .selectors.grants import read_grants_in_force

_OPEN_PREFIXES = ("/static/", "/healthz", "/readyz", "/i18n/", "/favicon.ico")
_ACCOUNT_PREFIX = "/accounts/"


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
        # One plain query on every request of a school (no ORM query building on the hot path), its tables named
        # with their schema: it reads the same whichever school the connection served last.
        columns = ", ".join(f"s.{f.column}" for f in School._meta.concrete_fields)
        school = next(
            iter(
                School.objects.raw(
                    f"SELECT {columns} FROM public.{School._meta.db_table} s JOIN public.{Domain._meta.db_table} d"
                    " ON d.tenant_id = s.id WHERE d.domain = %s LIMIT 1",
                    [host],
                )
            ),
            None,
        )
        if school is None or school.status != "active":
            connection.set_schema_to_public()
            return refusal_response(
                request, DomainError("schools.unknown_host", _("Không có trường nào ở địa chỉ này."), http_status=404)
            )
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
                    refusal = _admit_by_grant(request, access, school)
                    if refusal is not None:
                        return refusal
        return self.get_response(request)


# The only pages of a school a read grant opens: the granted records' list and a granted record, read-only.
GRANT_PAGES = frozenset({"grants:read", "grants:record"})


def _admit_by_grant(request, access, school):
    """A non-member holding an approved read grant that the database clock says is still in force may open the
    granted records (GET only); anything else stays refused. Returns the refusal, or None once admitted (the
    request's access profile then carries the grants). One query, for non-members only."""
    grants, ended = read_grants_in_force(account_id=request.user.pk, school_id=school.id)
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
        page = match.view_name
    except Resolver404:
        page = ""
    if grants and page in GRANT_PAGES and request.method in ("GET", "HEAD"):
        # Under a grant the holder holds nothing else at this school (their unit's reach into it is left out too).
        request._hocba_access = replace(access, placements={}, read_grants=grants)
        context.update(role="read_grant")
        return None
    if page in GRANT_PAGES and (ended or grants):
        return refusal_response(
            request,
            NotAllowed(
                "grants.ended",
                _("Quyền xem học bạ của bạn tại %(school)s đã hết hạn hoặc đã bị thu hồi."),
                params={"school": school.name},
            )
            if not grants
            else NotAllowed("grants.read_only", _("Quyền xem học bạ chỉ cho phép đọc.")),
        )
    if grants:
        return refusal_response(
            request,
            NotAllowed(
                "grants.outside",
                _("Quyền xem học bạ tại %(school)s chỉ mở học bạ đã được duyệt, không mở trang này."),
                params={"school": school.name},
            ),
        )
    return refusal_response(
        request,
        NotAllowed(
            "schools.no_membership",
            _("Tài khoản của bạn không thuộc %(school)s."),
            params={"school": school.name},
        ),
    )


class MfaRequiredMiddleware:
    """Administrative roles and platform operators (superusers, ``Access.mfa_required``) must have TOTP set up
    before doing anything else. API tokens are checked in ``tenants.auth.TokenAuthentication`` (DRF authenticates
    inside the view, after this middleware)."""

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
                return refusal_response(
                    request,
                    NotAllowed(
                        "accounts.mfa_required",
                        _("Vai trò quản trị cần bật xác thực hai lớp (TOTP) trước khi tiếp tục."),
                    ),
                )
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _has_totp(user) -> bool:
    cached = getattr(user, "_hocba_has_totp", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._hocba_has_totp = cached
    return cached
