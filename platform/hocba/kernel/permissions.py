"""One mixin for pages and one DRF permission class: both enforce the view's ``required_capability``."""

from __future__ import annotations

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from . import context
from .access import bind_actor, holds

PUBLIC = "public"  # declared by the few views anyone may open (login, health, verification)
SIGNED_IN = "signed_in"  # any signed-in person, whatever their roles (their own home and account)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def declared_capability(view) -> str:
    capability = getattr(view, "required_capability", None)
    if not capability:
        raise ImproperlyConfigured(f"{view.__class__.__name__} does not declare required_capability")
    return capability


def write_capability(view, request) -> str | None:
    """A view whose reads and writes need different rights declares ``write_capability`` too; it is checked, with
    ``required_capability``, before a POST/PUT/PATCH/DELETE reaches the handler, so a person without it is refused
    before the body is read (a refusal that named the body's invalid fields would tell what the body should be)."""
    return None if request.method in SAFE_METHODS else getattr(view, "write_capability", None)


def body_id(request, name: str) -> int | None:
    """An id the permission check needs (the unit, school, class a write is for), read from the body before the
    body is validated: a whole number, else None (the validation that follows the check refuses it)."""
    data = getattr(request, "data", None)
    value = data.get(name) if hasattr(data, "get") else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class CapabilityRequiredMixin(AccessMixin):
    required_capability: str = ""
    permission_denied_message = _("Bạn không có quyền mở trang này.")

    def dispatch(self, request, *args, **kwargs):
        capability = declared_capability(self)
        if capability != PUBLIC:
            if not request.user.is_authenticated:
                return self.handle_no_permission()
            if capability != SIGNED_IN and not holds(request, capability):
                self.raise_exception = True
                return self.handle_no_permission()
            extra = write_capability(self, request)
            if extra and not holds(request, extra):
                self.raise_exception = True
                return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class HasCapability(BasePermission):
    message = _("Bạn không có quyền thực hiện thao tác này.")

    def has_permission(self, request, view) -> bool:
        capability = declared_capability(view)
        if capability == PUBLIC:
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        if context.current().account_id != request.user.pk:
            bind_actor(request)  # token authentication happens here, after the middleware
        if capability != SIGNED_IN and not holds(request, capability):
            return False
        extra = write_capability(view, request)
        return not extra or holds(request, extra)
