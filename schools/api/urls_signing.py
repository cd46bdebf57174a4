"""API of the signing of record books (included under /api/v1/ by hocba.urls_school)."""

from django.urls import path

from . import signing

urlpatterns: list = [
    path("signing/device/<str:pending>/", signing.DeviceSigningApi.as_view(), name="api_signing_device"),
]
