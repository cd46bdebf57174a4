"""Views every side shares: health, refusals."""

from django.db import connection
from django.http import JsonResponse
from django.views import View
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .permissions import PUBLIC, CapabilityRequiredMixin


class HealthView(CapabilityRequiredMixin, View):
    required_capability = PUBLIC

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})


class ApiSchemaView(SpectacularAPIView):
    """OpenAPI 3 of one site (the platform's or a school's): set ``urlconf`` in as_view()."""

    required_capability = PUBLIC


class ApiDocsView(SpectacularSwaggerView):
    """Browsable docs, served from the sidecar package: they work offline."""

    required_capability = PUBLIC


class ApiRedocView(SpectacularRedocView):
    required_capability = PUBLIC
