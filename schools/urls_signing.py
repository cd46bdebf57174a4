"""URL patterns of the school's signing pages (included by hocba.urls_school), names in the ``signing`` namespace."""

from django.urls import path

from .views import signing

app_name = "signing"

urlpatterns: list = [
    path("classes/<int:pk>/signing/", signing.ClassSigningView.as_view(), name="class"),
    path("signing/year/", signing.YearSigningView.as_view(), name="year"),
]
