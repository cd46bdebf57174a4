"""URL patterns of the school's movements pages (included by hocba.urls_school), names in the ``movements`` namespace."""

from django.urls import path  # noqa: F401

app_name = "movements"

urlpatterns: list = []
