"""The operators' admin (``/admin/`` on the platform site): superusers only, signed in through allauth (its rate
limits and the second factor), and read-only for every model any app registers — changes go through the services.

``tenants.adminapp.OperatorAdminConfig`` (installed in place of ``django.contrib.admin``) makes ``admin.site`` an
:class:`OperatorAdminSite` before any app's ``admin`` module registers its models."""

from __future__ import annotations

from functools import update_wrapper

from allauth.account.views import LoginView
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _never(*args, **kwargs) -> bool:
    return False


def _no_actions(request) -> dict:
    return {}


def make_read_only(model_admin: admin.ModelAdmin) -> None:
    """No add, change or delete and no bulk actions, whatever the app's own ModelAdmin allows."""
    model_admin.has_add_permission = _never
    model_admin.has_change_permission = _never
    model_admin.has_delete_permission = _never
    model_admin.get_actions = _no_actions
    model_admin.list_editable = ()


class OperatorAdminSite(admin.AdminSite):
    site_header = _("HọcBạ — quản trị vận hành (chỉ xem)")
    site_title = _("HọcBạ — quản trị vận hành")
    index_title = _("Dữ liệu nền tảng (chỉ xem)")

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        super().register(model_or_iterable, admin_class, **options)
        for model_admin in self._registry.values():
            make_read_only(model_admin)

    def admin_view(self, view, cacheable=False):
        wrapped = super().admin_view(view, cacheable)
        logout = self.logout

        def read_only_view(request, *args, **kwargs):
            # Nothing the admin could write is allowed, even by a crafted request; signing out is the exception.
            if request.method not in _SAFE_METHODS and view != logout:
                raise PermissionDenied
            return wrapped(request, *args, **kwargs)

        return update_wrapper(read_only_view, view)

    def password_change(self, request, extra_context=None):
        return HttpResponseRedirect(reverse("account_change_password"))

    def login(self, request, extra_context=None):
        """allauth's sign-in (rate limits, the TOTP step), answering here so that the admin has no form of its own."""
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise PermissionDenied
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        if "next" not in request.GET and "next" not in request.POST:
            request.GET = request.GET.copy()
            request.GET["next"] = reverse("admin:index", current_app=self.name)
        return _allauth_login(request)


_allauth_login = LoginView.as_view()
