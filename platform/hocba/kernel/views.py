"""Views every side shares: health, refusals."""

from django.http import JsonResponse
from django.views import View
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import health
from .permissions import PUBLIC, CapabilityRequiredMixin


class HealthView(CapabilityRequiredMixin, View):
    """Liveness: the process answers. No dependency is asked (a database outage must not restart the pods)."""

    required_capability = PUBLIC

    def get(self, request):
        return JsonResponse({"status": "ok"})


class ReadyView(CapabilityRequiredMixin, View):
    """Readiness: the database, Redis and the archive bucket's lock, each timed; 503 naming what failed."""

    required_capability = PUBLIC

    def get(self, request):
        checks = health.run_checks()
        failed = [check.name for check in checks if not check.ok]
        body = {"status": "fail" if failed else "ok", "failed": failed, "checks": [c.as_dict() for c in checks]}
        return JsonResponse(body, status=503 if failed else 200)


class ApiSchemaView(SpectacularAPIView):
    """OpenAPI 3 of one site (the platform's or a school's): set ``urlconf`` in as_view()."""

    required_capability = PUBLIC


class ApiDocsView(SpectacularSwaggerSplitView):
    """Browsable docs, served from the sidecar package: they work offline. The split view serves its start-up
    script from its own URL (``?script``), so the page runs no inline script (``hocba.kernel.csp``)."""

    required_capability = PUBLIC


class ApiRedocView(SpectacularRedocView):
    """Redoc from the sidecar package, without the web fonts drf-spectacular's template fetches from outside
    (``templates/drf_spectacular/redoc.html``); Redoc starts its search worker from a ``blob:``."""

    required_capability = PUBLIC

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.csp_extra = {"worker-src": ["blob:"]}
        return response
