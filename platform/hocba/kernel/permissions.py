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


def declared_capability(view) -> str:
    capability = getattr(view, "required_capability", None)
    if not capability:
        raise ImproperlyConfigured(f"{view.__class__.__name__} does not declare required_capability")
    return capability


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
        return capability == SIGNED_IN or holds(request, capability)
