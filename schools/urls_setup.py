"""URL patterns of the school's setup pages (included by hocba.urls_school), names in the ``setup`` namespace."""

from django.urls import path  # noqa: F401

app_name = "setup"

urlpatterns: list = []
