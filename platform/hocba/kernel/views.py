"""Views every side shares: health, refusals."""

from django.db import connection
from django.http import JsonResponse
from django.views import View

from .permissions import PUBLIC, CapabilityRequiredMixin


class HealthView(CapabilityRequiredMixin, View):
    required_capability = PUBLIC

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
