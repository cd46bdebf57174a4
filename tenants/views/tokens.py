"""The account's own API tokens (``/accounts/tokens/``): issue (the key shown once), list, revoke. A token of an
administrative role needs TOTP and a fresh re-authentication (allauth's flow, which resumes the request)."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from hocba.kernel.errors import DomainError
from hocba.kernel.permissions import SIGNED_IN, CapabilityRequiredMixin

from .. import forms, selectors
from ..services import tokens as token_services
from .common import report_error

# Raises allauth's ReauthenticationRequired unless the account re-authenticated a moment ago; allauth's middleware
# then sends it to re-authenticate and replays the suspended POST.
_require_recent_authentication = reauthentication_required(lambda request: None)


class ApiTokenListView(CapabilityRequiredMixin, View):
    required_capability = SIGNED_IN
    template_name = "tenants/token_list.html"

    def get(self, request):
        return self._render(request, self._form(request))

    def post(self, request):
        form = self._form(request, request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        choice = next(c for c in form.scopes if c.key == data["scope"])
        if choice.mfa_required or request.user.is_superuser:
            if not selectors.account_has_totp(account_id=request.user.pk):
                messages.error(
                    request, _("Vai trò quản trị cần bật xác thực hai lớp (TOTP) trước khi tạo mã truy cập.")
                )
                return self._render(request, form, status=403, needs_totp=True)
            _require_recent_authentication(request)
        try:
            token, key = token_services.api_token_issue(
                actor=request.user,
                name=data["name"],
                scope=data["scope"],
                may_write=data["mode"] == "write",
                days=data["days"],
            )
        except DomainError as exc:
            report_error(request, exc)
            return self._render(request, form, status=exc.http_status)
        response = self._render(request, self._form(request), issued=token, key=key)
        response["Cache-Control"] = "no-store"  # the key is on this page only, never kept
        return response

    def _form(self, request, data=None) -> forms.ApiTokenForm:
        scopes = selectors.api_token_scopes(request.user)
        form = forms.ApiTokenForm(data, scopes=scopes, max_days=settings.API_TOKEN_MAX_DAYS)
        form.scopes = scopes
        return form

    def _render(self, request, form, status: int = 200, **extra):
        context = {
            "form": form,
            "tokens": selectors.api_token_list(account_id=request.user.pk),
            "max_days": settings.API_TOKEN_MAX_DAYS,
            **extra,
        }
        return render(request, self.template_name, context, status=status)


class ApiTokenRevokeView(CapabilityRequiredMixin, View):
    required_capability = SIGNED_IN

    def post(self, request, pk: int):
        try:
            token = token_services.api_token_revoke(actor=request.user, token_id=pk)
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("Đã thu hồi mã truy cập “%(name)s”.") % {"name": token.name})
        return redirect("api_tokens")
