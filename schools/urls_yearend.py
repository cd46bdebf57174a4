"""URL patterns of the school's yearend pages (included by hocba.urls_school), names in the ``yearend`` namespace."""

from django.urls import path  # noqa: F401

app_name = "yearend"

urlpatterns: list = []
