from functools import partial

from django.conf import settings

from .access import request_access, request_school
from .menu import request_menu


def platform(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "current_school": request_school(request),
        "access": request_access(request) if signed_in else None,
        # The sections of the header's menu, built when a page first shows it (the request's access, no query).
        "nav_menu": partial(request_menu, request),
        "base_domain": settings.BASE_DOMAIN,
        "platform_url": platform_url(request),
    }


def platform_url(request) -> str:
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    return f"{request.scheme}://{settings.BASE_DOMAIN}{suffix}"
