"""API of the school's setup (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
