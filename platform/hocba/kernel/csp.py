"""Content-Security-Policy on every response, with a nonce per request.

Scripts run only from our own static files (``'self'``) or from a ``<script nonce="{{ csp_nonce }}">`` block; no
inline script and no inline event handler (``onclick=…``) runs: the templates load ``hocba/site.js`` and the pages'
own files, which bind their handlers from ``data-`` attributes. Styles keep ``'unsafe-inline'``: the templates size
columns and place the timeline's bars with ``style=""`` attributes, and a style cannot run code.

Forms post to our own sites only (``form-action``): this one, the platform and the schools' subdomains (a school
page signs out or switches language through the platform's pages, and allauth's redirects cross subdomains).
Nothing frames us (``frame-ancestors 'none'``), no plugin runs (``object-src 'none'``), ``<base>`` cannot move
relative links away (``base-uri 'self'``).

A view that needs more (the API's Redoc page starts a web worker from a ``blob:``) sets ``response.csp_extra``:
``{"worker-src": ["blob:"]}`` adds to that directive.
"""

from __future__ import annotations

import secrets

from django.conf import settings

HEADER = "Content-Security-Policy"


def directives(nonce: str, base_domain: str) -> dict[str, list[str]]:
    sites = [f"{base_domain}:*", f"*.{base_domain}:*"]
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", f"'nonce-{nonce}'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *sites],
        "frame-ancestors": ["'none'"],
    }


def policy(nonce: str, base_domain: str, extra: dict[str, list[str]] | None = None) -> str:
    found = directives(nonce, base_domain)
    for name, sources in (extra or {}).items():
        found[name] = [*found.get(name, []), *(s for s in sources if s not in found.get(name, []))]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in found.items())


class ContentSecurityPolicyMiddleware:
    """First in the chain: every answer gets the header, the tenant middleware's 404 and the 500 page too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy(request.csp_nonce, settings.BASE_DOMAIN, getattr(response, "csp_extra", None))
        return response


def nonce(request) -> dict[str, str]:
    """Context processor: ``{{ csp_nonce }}`` for a ``<script nonce=…>`` block a template cannot avoid."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
