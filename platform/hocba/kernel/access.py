"""The request's access profile, computed once per request (constant query count)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from . import context

_access_loader: Callable[[Any], Any] | None = None


def register_access_loader(loader: Callable[[Any], Any]) -> None:
    """The public side tells the kernel how to read an account's access profile (``AppConfig.ready()``)."""
    global _access_loader
    _access_loader = loader


def request_access(request: HttpRequest):
    cached = getattr(request, "_hocba_access", None)
    if cached is None:
        if _access_loader is None:
            raise ImproperlyConfigured("no access loader registered: is the tenants app installed?")
        cached = _access_loader(getattr(request, "user", None))
        request._hocba_access = cached
    return cached


def request_school(request: HttpRequest):
    """The school whose subdomain served the request, or None on the platform site."""
    return getattr(request, "tenant", None)


def holds(request: HttpRequest, capability: str) -> bool:
    """Does the requester hold ``capability`` where this request runs (the school, else anywhere)?"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    access = request_access(request)
    school = request_school(request)
    if school is not None:
        return access.has_in_school(capability, school.id)
    return access.has(capability)


def bind_actor(request: HttpRequest):
    """Who acts in this request, for the audit trail: sessions in the middleware, API tokens (which
    DRF authenticates inside the view) in the permission class. Returns the access profile."""
    access = request_access(request)
    school = request_school(request)
    roles = sorted(r.value for r in (access.school_roles(school.id) if school else access.roles))
    context.update(account_id=request.user.pk, role=",".join(roles), tier="school" if school else "platform")
    return access
