"""A school's site (``<slug>.<base domain>``): every request needs a membership in that school."""

from django.urls import include, path

from hocba.kernel.views import ApiDocsView, ApiSchemaView
from schools.views.home import SchoolHomeView
from schools.views.summary import SchoolSummaryView
from tenants.api import jobs as jobs_api
from tenants.api import views as api
from tenants.api import windows as windows_api
from tenants.views import auditlog, home, jobs, manage

from .urls_common import urlpatterns as common

# Errors Django answers itself: the refusal body under /api/, else the error page in the page's language.
handler400 = "hocba.kernel.errorpages.bad_request"
handler403 = "hocba.kernel.errorpages.permission_denied"
handler404 = "hocba.kernel.errorpages.page_not_found"
handler500 = "hocba.kernel.errorpages.server_error"

urlpatterns = [
    *common,
    path("", SchoolHomeView.as_view(), name="home"),
    path("summary/", SchoolSummaryView.as_view(), name="school_summary"),
    path("staff/", home.SchoolStaffView.as_view(), name="school_staff"),
    path("staff/<str:kind>/<int:pk>/accounts/new/", manage.AccountCreateView.as_view(), name="account_create"),
    path("staff/<str:kind>/<int:pk>/memberships/new/", manage.MembershipGrantView.as_view(), name="membership_grant"),
    path("staff/memberships/<int:pk>/end/", manage.MembershipEndView.as_view(), name="membership_end"),
    path("audit/", auditlog.AuditListView.as_view(), name="audit_list"),
    path("audit/export/", auditlog.AuditExportView.as_view(), name="audit_export"),
    path("jobs/<int:pk>/", jobs.JobDetailView.as_view(), name="job_detail"),
    path("api/v1/jobs/<int:pk>/", jobs_api.JobStatusApi.as_view(), name="api_job"),
    path("api/v1/me/", api.MeApi.as_view(), name="api_me"),
    path("api/v1/accounts/", api.AccountListApi.as_view(), name="api_accounts"),
    path("api/v1/memberships/", api.MembershipListApi.as_view(), name="api_memberships"),
    path("api/v1/memberships/<int:pk>/end/", api.MembershipEndApi.as_view(), name="api_membership_end"),
    path("api/v1/windows/", windows_api.WindowListApi.as_view(), name="api_windows"),
    path("api/v1/windows/preview/", windows_api.WindowPreviewApi.as_view(), name="api_window_preview"),
    path("api/v1/windows/<int:pk>/", windows_api.WindowDetailApi.as_view(), name="api_window"),
    path("api/v1/windows/<int:pk>/cancel/", windows_api.WindowCancelApi.as_view(), name="api_window_cancel"),
    path("api/v1/window-exceptions/", windows_api.ExceptionListApi.as_view(), name="api_window_exceptions"),
    path("api/v1/", include("schools.api.urls")),
    path("api/v1/", include("schools.api.urls_setup")),
    path("api/v1/", include("schools.api.urls_yearend")),
    path("api/v1/", include("schools.api.urls_movements")),
    path("api/v1/", include("schools.api.urls_excel")),
    path("api/v1/", include("schools.api.urls_signing")),
    path("", include("schools.urls_pages")),
    path("", include("schools.urls_signing")),
    path("setup/", include("schools.urls_setup")),
    path("year-end/", include("schools.urls_yearend")),
    path("archive/", include("schools.urls_archive")),
    path("students/", include("schools.urls_movements")),
    path("history/", include("schools.urls_history")),
    path("excel/", include("schools.urls_excel")),
    path("grants/", include("schools.urls_grants")),
    path("windows/", include("schools.urls_windows")),
    path("api/v1/schema/", ApiSchemaView.as_view(urlconf="hocba.urls_school"), name="api_schema"),
    path("api/v1/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
]
