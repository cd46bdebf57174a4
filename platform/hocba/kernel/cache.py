"""The cache (Redis) with a fallback: when Redis cannot be reached, this process's memory answers instead.

What the cache holds is never the only copy of anything: allauth's sign-in rate limits and the TOTP codes already
used (replay protection). Both degrade, they do not stop: while Redis is down each process keeps its own counts,
so a limit of 5 failed sign-ins per address is 5 per process (2 × gunicorn workers, × replicas) instead of 5 in
all — still a limit, where a 500 on every sign-in is an outage. The switch is logged (a warning when Redis is
lost, at most once a minute while it stays lost, and when it is back).

After a failure the process does not ask Redis again for ``RETRY_AFTER`` seconds: a dead Redis costs one failed
connection per process and interval, not one per cache call. Connection and socket timeouts in the cache's
``OPTIONS`` (settings) bound what that one call costs when Redis hangs instead of refusing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds without asking Redis after it failed
WARN_EVERY = 60.0  # seconds between two warnings while Redis stays unreachable
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class _Health:
    """Whether Redis answered lately, shared by the threads of a process (Django keeps a cache object per thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.warned_at: float | None = None


_health: dict[str, _Health] = {}
_health_lock = threading.Lock()


def _health_of(name: str) -> _Health:
    with _health_lock:
        return _health.setdefault(name, _Health())


class FallbackRedisCache(RedisCache):
    """Django's Redis cache; each call that cannot reach Redis is answered by a per-process LocMemCache."""

    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        # One memory per process and cache (LocMemCache keeps its data per name, across threads).
        name = f"hocba-fallback:{server}:{params.get('KEY_PREFIX', '')}"
        self.fallback = LocMemCache(
            name,
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": 10000},
            },
        )
        self.health = _health_of(name)
        self.fallback_calls = 0  # calls this object answered from memory (tests, diagnostics)

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self.health.down_until

    def reset(self) -> None:
        """Forget the fallback's data and Redis's state (tests)."""
        self.fallback.clear()
        with self.health.lock:
            self.health.down_until, self.health.warned_at = 0.0, None
        self.fallback_calls = 0

    def _lost(self, exc: BaseException) -> None:
        now = time.monotonic()
        health = self.health
        with health.lock:
            health.down_until = now + RETRY_AFTER
            if health.warned_at is None or now - health.warned_at >= WARN_EVERY:
                health.warned_at = now
                log.warning(
                    "cache: Redis unreachable (%s: %s); this process answers from its own memory "
                    "(sign-in rate limits are per process) and tries Redis again in %.0f s",
                    type(exc).__name__,
                    exc,
                    RETRY_AFTER,
                )

    def _recovered(self) -> None:
        health = self.health
        with health.lock:
            if health.warned_at is not None:
                health.warned_at = None
                log.info("cache: Redis reachable again; rate limits are shared again")

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.degraded:
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except UNREACHABLE as exc:
                self._lost(exc)
            else:
                if self.health.warned_at is not None:
                    self._recovered()
                return result
        self.fallback_calls += 1
        return getattr(self.fallback, name)(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> bool:
        return self._call("clear")
