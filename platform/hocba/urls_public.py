"""The platform site (base domain): province and unit administration, API, operators' admin."""

from django.contrib import admin
from django.urls import include, path

from hocba.kernel.views import ApiDocsView, ApiRedocView, ApiSchemaView
from reporting.verify import urls as verify_urls
from tenants.api import jobs as jobs_api
from tenants.api import statistics as statistics_api
from tenants.api import windows as windows_api
from tenants.views import auditlog, boards, grants, home, jobs, manage, tokens
from tenants.views import duty as duty_pages
from tenants.views import statistics as statistics_pages
from tenants.views import windows as windows_pages
from tenants.views.schoolonly import SchoolSiteOnlyView

from .urls_common import urlpatterns as common

# Errors Django answers itself: the refusal body under /api/, else the error page in the page's language.
handler400 = "hocba.kernel.errorpages.bad_request"
handler403 = "hocba.kernel.errorpages.permission_denied"
handler404 = "hocba.kernel.errorpages.page_not_found"
handler500 = "hocba.kernel.errorpages.server_error"

urlpatterns = [
    # The account's own API tokens (before allauth's accounts/ patterns): on the platform site only.
    path("accounts/tokens/", tokens.ApiTokenListView.as_view(), name="api_tokens"),
    path("accounts/tokens/<int:pk>/revoke/", tokens.ApiTokenRevokeView.as_view(), name="api_token_revoke"),
    *common,
    path("", home.HomeView.as_view(), name="home"),
    # The public verification of signed record books (no sign-in): /xac-minh/ and the QR links /xac-minh/<token>/.
    path("", include(verify_urls)),
    # Printing, export and hand-over: on a school's own site only (004 art. 10.3).
    path("archive/", SchoolSiteOnlyView.as_view(), name="school_site_only"),
    path("archive/<path:rest>", SchoolSiteOnlyView.as_view()),
    path("manage/units/", manage.UnitListView.as_view(), name="unit_list"),
    path("manage/units/new/", manage.UnitCreateView.as_view(), name="unit_create"),
    path("manage/units/<int:pk>/", manage.UnitDetailView.as_view(), name="unit_detail"),
    path("manage/units/<int:pk>/<str:operation>/", manage.UnitOperationView.as_view(), name="unit_operation"),
    path("manage/schools/", manage.SchoolListView.as_view(), name="school_list"),
    path("manage/schools/new/", manage.SchoolCreateView.as_view(), name="school_create"),
    path("manage/schools/provision/", manage.SchoolProvisionView.as_view(), name="school_provision"),
    path(
        "manage/schools/provision/template.<str:fmt>",
        manage.SchoolProvisionTemplateView.as_view(),
        name="school_provision_template",
    ),
    path("manage/schools/<int:pk>/", manage.SchoolDetailView.as_view(), name="school_detail"),
    path("manage/schools/<int:pk>/read-grants/new/", grants.GrantRequestView.as_view(), name="read_grant_request"),
    path("manage/read-grants/<int:pk>/end/", grants.GrantEndView.as_view(), name="read_grant_end"),
    path("manage/schools/<int:pk>/<str:operation>/", manage.SchoolOperationView.as_view(), name="school_operation"),
    path("manage/<str:kind>/<int:pk>/accounts/new/", manage.AccountCreateView.as_view(), name="account_create"),
    path("manage/<str:kind>/<int:pk>/memberships/new/", manage.MembershipGrantView.as_view(), name="membership_grant"),
    path("manage/memberships/<int:pk>/end/", manage.MembershipEndView.as_view(), name="membership_end"),
    path("manage/audit/", auditlog.AuditListView.as_view(), name="audit_list"),
    path("manage/audit/export/", auditlog.AuditExportView.as_view(), name="audit_export"),
    path("manage/board/", boards.BoardView.as_view(), name="board"),
    path("manage/board/remind/", boards.BoardRemindView.as_view(), name="board_remind"),
    path("manage/board/schools/<int:pk>/", boards.BoardSchoolView.as_view(), name="board_school"),
    path(
        "manage/board/schools/<int:pk>/classes/<int:class_id>/",
        boards.BoardSchoolView.as_view(),
        name="board_class",
    ),
    path("manage/statistics/", statistics_pages.StatisticsView.as_view(), name="statistics"),
    path("api/v1/statistics/summary/", statistics_api.StatisticsSummaryApi.as_view(), name="api_statistics_summary"),
    path(
        "api/v1/statistics/distributions/",
        statistics_api.StatisticsDistributionsApi.as_view(),
        name="api_statistics_distributions",
    ),
    path(
        "api/v1/statistics/completion/",
        statistics_api.StatisticsCompletionApi.as_view(),
        name="api_statistics_completion",
    ),
    path("api/v1/boards/schools/", statistics_api.BoardSchoolsApi.as_view(), name="api_board_schools"),
    path("manage/monthly-duty/", duty_pages.MonthlyDutyView.as_view(), name="monthly_duty"),
    path("manage/windows/", windows_pages.WindowListView.as_view(), name="window_list"),
    path("manage/windows/new/", windows_pages.WindowCreateView.as_view(), name="window_create"),
    path("manage/windows/import/", windows_pages.CalendarImportView.as_view(), name="window_import"),
    path(
        "manage/windows/import/template.xlsx",
        windows_pages.CalendarTemplateView.as_view(),
        name="window_import_template",
    ),
    path("manage/windows/exceptions/", windows_pages.ExceptionListView.as_view(), name="window_exceptions"),
    path(
        "manage/windows/exceptions/<int:pk>/decide/",
        windows_pages.ExceptionDecideView.as_view(),
        name="window_exception_decide",
    ),
    path("manage/windows/<int:pk>/", windows_pages.WindowEditView.as_view(), name="window_edit"),
    path("manage/windows/<int:pk>/cancel/", windows_pages.WindowCancelView.as_view(), name="window_cancel"),
    path("api/v1/windows/", windows_api.WindowListApi.as_view(), name="api_windows"),
    path("api/v1/windows/preview/", windows_api.WindowPreviewApi.as_view(), name="api_window_preview"),
    path("api/v1/windows/import/", windows_api.WindowImportApi.as_view(), name="api_window_import"),
    path("api/v1/windows/<int:pk>/", windows_api.WindowDetailApi.as_view(), name="api_window"),
    path("api/v1/windows/<int:pk>/cancel/", windows_api.WindowCancelApi.as_view(), name="api_window_cancel"),
    path("api/v1/window-exceptions/", windows_api.ExceptionListApi.as_view(), name="api_window_exceptions"),
    path(
        "api/v1/window-exceptions/<int:pk>/decide/",
        windows_api.ExceptionDecideApi.as_view(),
        name="api_window_exception_decide",
    ),
    path("jobs/<int:pk>/", jobs.JobDetailView.as_view(), name="job_detail"),
    path("api/v1/jobs/<int:pk>/", jobs_api.JobStatusApi.as_view(), name="api_job"),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/schema/", ApiSchemaView.as_view(urlconf="hocba.urls_public"), name="api_schema"),
    path("api/v1/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/redoc/", ApiRedocView.as_view(url_name="api_schema"), name="api_redoc"),
    path("admin/", admin.site.urls),
]
