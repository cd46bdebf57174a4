"""Django admin: for platform operators only, and read-only — changes go through the services."""

from django.contrib import admin

from .models import (
    Account,
    AdministrativeUnit,
    Membership,
    PlatformAuditEntry,
    School,
    SchoolPlacement,
    UnitVersion,
)

admin.site.site_header = "HọcBạ — platform operators"
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("username", "full_name", "email", "is_active", "last_login")
    search_fields = ("username", "full_name", "email")


@admin.register(School)
class SchoolAdmin(ReadOnlyAdmin):
    list_display = ("name", "moet_code", "slug", "schema_name", "status", "schema_head", "schema_error")
    search_fields = ("name", "moet_code", "slug")
    list_filter = ("status",)


for model in (AdministrativeUnit, UnitVersion, SchoolPlacement, Membership, PlatformAuditEntry):
    admin.site.register(model, ReadOnlyAdmin)
