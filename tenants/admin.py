"""Django admin: for platform operators only, and read-only — changes go through the services. The site itself
(superusers only, allauth's sign-in, read-only for every app's models) is :mod:`tenants.adminsite`."""

from allauth.mfa.models import Authenticator
from django.contrib import admin
from hocba.kernel.text import fold

from .models import (
    Account,
    AdministrativeUnit,
    ApiToken,
    Membership,
    PlatformAuditEntry,
    School,
    SchoolPlacement,
    UnitVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FoldedSearchAdmin(ReadOnlyAdmin):
    """The admin's search also matches the name without accents ("nguyen du" finds "Nguyễn Du")."""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            found = found | queryset.filter(search_name__contains=fold(search_term))
        return found, may_have_duplicates


@admin.register(Account)
class AccountAdmin(FoldedSearchAdmin):
    list_display = ("username", "full_name", "email", "is_active", "last_login")
    search_fields = ("username", "full_name", "email")
    exclude = ("password",)


# allauth's own admin shows the (encrypted) TOTP secrets and recovery seeds: operators see that an account has a
# second factor, not its data.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdmin):
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    exclude = ("data",)


@admin.register(School)
class SchoolAdmin(FoldedSearchAdmin):
    list_display = ("name", "moet_code", "slug", "schema_name", "status", "schema_head", "schema_error")
    search_fields = ("name", "moet_code", "slug")
    list_filter = ("status",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "account", "prefix", "school", "unit", "may_write", "expires_at", "revoked_at")
    exclude = ("digest",)


for model in (AdministrativeUnit, UnitVersion, SchoolPlacement, Membership, PlatformAuditEntry):
    admin.site.register(model, ReadOnlyAdmin)
