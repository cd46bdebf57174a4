"""URL patterns of the school's archive pages (included by hocba.urls_school under ``archive/``), names in the
``archive`` namespace."""

from django.urls import path

from .views import archive

app_name = "archive"

urlpatterns: list = [
    path("", archive.ArchiveYearView.as_view(), name="year"),
    path("years/<int:pk>/run/", archive.ArchiveYearRunView.as_view(), name="year_run"),
    path("years/<int:pk>/bundle/", archive.YearBundleView.as_view(), name="year_bundle"),
    path("classes/<int:pk>/", archive.ArchiveClassView.as_view(), name="class"),
    path("classes/<int:pk>/run/", archive.ArchiveClassRunView.as_view(), name="class_run"),
    path("classes/<int:pk>/bundle/", archive.ClassBundleView.as_view(), name="class_bundle"),
    path("classes/<int:pk>/lock/", archive.ClassLockView.as_view(), name="class_lock"),
    path("records/<int:pk>/revoke/", archive.RecordRevokeView.as_view(), name="revoke"),
    path("students/<int:pk>/handover/", archive.HandoverView.as_view(), name="handover"),
]
