"""URL patterns of the school's open/lock window pages (included by hocba.urls_school at ``windows/``)."""

from django.urls import path

from .views import windows

app_name = "windows"

urlpatterns = [
    path("", windows.SchoolWindowsView.as_view(), name="school_windows"),
    path("lock/", windows.EarlyLockView.as_view(), name="early_lock"),
    path("requests/", windows.ExceptionRequestView.as_view(), name="exception_request"),
    path("<int:pk>/cancel/", windows.SchoolWindowCancelView.as_view(), name="cancel"),
]
