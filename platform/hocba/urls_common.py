"""URL patterns served on both sides: health, sign-in, language."""

from django.urls import include, path

from hocba.kernel.views import HealthView, ReadyView

urlpatterns = [
    path("healthz", HealthView.as_view(), name="healthz"),
    path("readyz", ReadyView.as_view(), name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
