"""Redis down: sign-in keeps working, its rate limits fall back to this process's memory (hocba.kernel.cache).

The cache is pointed at a closed port, as when Redis is stopped. Sign-ins through the login form all succeed;
failed ones are still limited (5 per 5 minutes and address, counted in this process); the TOTP step, whose used
codes live in the cache too, works as well; the loss is logged once, not once per call."""

from __future__ import annotations

import logging
import socket
import sys
import time

import pyotp
import pytest
from django.core.cache import cache, caches
from django.test import Client

from tenants.demo import demo_totp_secret
from tests.support import PASSWORD, SCHOOL_A_HOST

DEAD_REDIS = "redis://127.0.0.1:1/0"
SIGN_INS = 20


@pytest.fixture
def dead_redis(settings):
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", 1)) != 0, "something listens on port 1"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS}}
    backend = caches["default"]
    assert type(backend).__name__ == "FallbackRedisCache"
    backend.reset()
    yield backend
    backend.reset()


def _sign_in(username: str, password: str, address: str) -> Client:
    client = Client(HTTP_HOST="hocba.localhost", REMOTE_ADDR=address)
    client.get("/accounts/login/")
    client.post("/accounts/login/", {"login": username, "password": password})
    return client


def test_sign_in_works_without_redis(w, dead_redis, caplog):
    caplog.set_level(logging.WARNING, logger="hocba.kernel.cache")
    started = time.monotonic()
    signed_in = sum("_auth_user_id" in _sign_in("teacher_a", PASSWORD, "10.9.0.1").session for _ in range(SIGN_INS))
    elapsed = time.monotonic() - started
    print(f"\nwithout Redis: {signed_in}/{SIGN_INS} sign-ins succeeded in {elapsed:.2f} s", file=sys.stderr)
    assert signed_in == SIGN_INS
    assert dead_redis.degraded and dead_redis.fallback_calls > 0
    warnings = [r for r in caplog.records if r.name == "hocba.kernel.cache"]
    assert len(warnings) == 1 and "Redis unreachable" in warnings[0].getMessage()


def test_failed_sign_ins_are_still_limited_per_process(w, dead_redis):
    client = Client(HTTP_HOST="hocba.localhost", REMOTE_ADDR="10.9.0.2")
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": "teacher_a", "password": "sai-mat-khau"})
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    # The sixth attempt, even with the right password, is refused: the counts are kept in this process.
    response = client.post("/accounts/login/", {"login": "teacher_a", "password": PASSWORD})
    assert response.status_code in (200, 429) and "_auth_user_id" not in client.session
    assert any(":rl:" in key or "rl:" in key for key in dead_redis.fallback._cache)
    # Another account from another address is not limited by these failures.
    assert "_auth_user_id" in _sign_in("dept_a", PASSWORD, "10.9.0.3").session


def test_totp_step_works_without_redis(w, dead_redis):
    client = Client(HTTP_HOST=SCHOOL_A_HOST, REMOTE_ADDR="10.9.0.4")
    response = client.post("/accounts/login/", {"login": "principal_a", "password": PASSWORD})
    assert response.status_code == 302 and "/accounts/2fa/authenticate/" in response["Location"]
    totp = pyotp.TOTP(demo_totp_secret("principal_a"))
    code = totp.now()
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    if response.status_code == 200 and totp.now() != code:
        # The 30-second window turned between making the code and checking it: the next one, once.
        code = totp.now()
        response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302 and "_auth_user_id" in client.session, response.content.decode()[-1500:]
    # The used code is remembered (in memory): the same code cannot be played again in this process.
    other = Client(HTTP_HOST=SCHOOL_A_HOST, REMOTE_ADDR="10.9.0.5")
    other.post("/accounts/login/", {"login": "principal_a", "password": PASSWORD})
    response = other.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 200 and "_auth_user_id" not in other.session


def test_a_dead_redis_costs_one_failed_call_per_interval(dead_redis):
    started = time.monotonic()
    dead_redis.set("k", "v", 30)
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(200):
        assert dead_redis.get("k") == "v"
    rest = time.monotonic() - started
    assert first < 1.5 and rest < 0.2, (first, rest)


def test_with_redis_up_nothing_falls_back(settings):
    backend = caches["default"]
    assert type(backend).__name__ == "FallbackRedisCache"
    cache.set("hocba-fallback-probe", 41, 30)
    assert cache.incr("hocba-fallback-probe") == 42
    assert backend.fallback_calls == 0 and not backend.degraded
    cache.delete("hocba-fallback-probe")
