"""API token authentication: DRF's, with the token's account — and its memberships in force — read in one plain
query.

Every API call authenticates; building DRF's ``Token.objects.select_related("user").get(key=...)`` through the ORM
cost more than the query itself. The answer is DRF's own; the refusals are in Vietnamese and English."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        from django.contrib.auth import get_user_model
        from django.utils.translation import gettext_lazy as _

        from tenants.selectors import MEMBERSHIPS_ON_SQL, today

        user_model = get_user_model()
        columns = ", ".join(f"u.{f.column}" for f in user_model._meta.concrete_fields)  # named: a prepared statement
        day = today()
        # The account and, in the same statement, its memberships in force today (what every request then checks).
        found = list(user_model.objects.raw(
            f"SELECT {columns}, {MEMBERSHIPS_ON_SQL.replace('%s', 'u.id', 1)} AS hocba_memberships"
            f" FROM public.{user_model._meta.db_table} u JOIN public.{Token._meta.db_table} t ON t.user_id = u.id"
            " WHERE t.key = %s", [day, day, key]))
        if not found:
            raise exceptions.AuthenticationFailed(_("Mã truy cập (token) không hợp lệ."))
        user = found[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("Tài khoản đã bị khóa hoặc không còn."))
        user.memberships_on = (day, user.hocba_memberships)
        return user, Token(key=key, user=user)
