"""The per-address rate limit of the public verification: at most ``settings.VERIFY_RATE_LIMIT`` checks per client
address in ``settings.VERIFY_RATE_WINDOW_SECONDS`` (a fixed window), counted in Redis through the cache (shared by
every process; while Redis is down each process counts alone: ``hocba.kernel.cache``). The address is the one the
audit trail uses (``hocba.kernel.clientip``: X-Forwarded-For believed only from the trusted proxies)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from hocba.kernel.clientip import client_ip


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def _key(address: str, window: int, now: float) -> tuple[str, int]:
    slot = int(now // window)
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]  # no address kept in clear in Redis
    return f"verify:rate:{digest}:{slot}", int(window - now % window) or 1


def rate_take(request, *, now: float | None = None) -> Allowance:
    """Count one check for the request's address; whether it is within the limit."""
    limit = int(settings.VERIFY_RATE_LIMIT)
    window = max(int(settings.VERIFY_RATE_WINDOW_SECONDS), 1)
    key, retry_after = _key(client_ip(request) or "?", window, time.time() if now is None else now)
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return Allowance(count <= limit, count, limit, retry_after)
