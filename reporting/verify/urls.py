"""The public verification's URLs, included by the platform's URL conf (``hocba.urls_public``) at the root: their
shape comes from ``links.PREFIX``, the one the printed QR links are built from."""

from django.urls import path

from .links import PREFIX
from .views import VerifyView

urlpatterns = [
    path(PREFIX, VerifyView.as_view(), name="verify"),
    path(f"{PREFIX}<str:token>/", VerifyView.as_view(), name="verify_token"),
]
