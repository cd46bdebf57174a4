"""The platform site (base domain): province and unit administration, API, operators' admin."""

from django.contrib import admin
from django.urls import include, path

from hocba.kernel.views import ApiDocsView, ApiRedocView, ApiSchemaView
from tenants.views import home, manage

from .urls_common import urlpatterns as common

urlpatterns = [
    *common,
    path("", home.HomeView.as_view(), name="home"),
    path("manage/units/", manage.UnitListView.as_view(), name="unit_list"),
    path("manage/units/new/", manage.UnitCreateView.as_view(), name="unit_create"),
    path("manage/units/<int:pk>/", manage.UnitDetailView.as_view(), name="unit_detail"),
    path("manage/units/<int:pk>/<str:operation>/", manage.UnitOperationView.as_view(), name="unit_operation"),
    path("manage/schools/", manage.SchoolListView.as_view(), name="school_list"),
    path("manage/schools/new/", manage.SchoolCreateView.as_view(), name="school_create"),
    path("manage/schools/provision/", manage.SchoolProvisionView.as_view(), name="school_provision"),
    path("manage/schools/<int:pk>/", manage.SchoolDetailView.as_view(), name="school_detail"),
    path("manage/schools/<int:pk>/<str:operation>/", manage.SchoolOperationView.as_view(), name="school_operation"),
    path("manage/<str:kind>/<int:pk>/accounts/new/", manage.AccountCreateView.as_view(), name="account_create"),
    path("manage/<str:kind>/<int:pk>/memberships/new/", manage.MembershipGrantView.as_view(), name="membership_grant"),
    path("manage/memberships/<int:pk>/end/", manage.MembershipEndView.as_view(), name="membership_end"),
    path("manage/audit/", manage.AuditListView.as_view(), name="audit_list"),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/schema/", ApiSchemaView.as_view(urlconf="hocba.urls_public"), name="api_schema"),
    path("api/v1/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/redoc/", ApiRedocView.as_view(url_name="api_schema"), name="api_redoc"),
    path("admin/", admin.site.urls),
]
