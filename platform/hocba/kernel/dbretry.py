"""A read interrupted by the database losing its connection is run once more.

When PostgreSQL restarts (or fails over, or an operator ends a backend), the requests in flight find their
connection closed: ``OperationalError``/``InterfaceError``. A GET, HEAD or OPTIONS changes nothing, so running it
again on a fresh connection is safe; the person sees the page instead of an error. Writes are never retried: a
POST whose connection dropped may or may not have committed, and only the client can decide.

``DatabaseRetryMiddleware`` is the outermost middleware, so that the retry covers the whole chain (the school's
domain is looked up in the tenant middleware, before any view). The inner middlewares have already turned the
exception into a 500 by the time it returns; the exception itself is noted on the request when Django reports it
(``got_request_exception``). It retries once, only when:

* the method is safe (GET, HEAD, OPTIONS),
* the response is that 500 (nothing was sent or streamed: a response already streaming is out of its reach),
* the exception is a lost connection — ``InterfaceError``, or an ``OperationalError`` with no server answer
  (``server closed the connection unexpectedly``) or with a SQLSTATE of class 08 (connection exception) or
  57P01–57P03 (administrator/crash shutdown, cannot connect now). A statement timeout, a deadlock, a lock
  timeout are not interruptions and are not retried.

Before the second run, every connection that no longer answers is closed, so the retry opens a new one.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.dispatch import receiver

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SHUTDOWN_STATES = frozenset({"57P01", "57P02", "57P03"})
_EXCEPTION = "_hocba_exception"


@receiver(got_request_exception, dispatch_uid="hocba.kernel.dbretry.note_exception")
def note_exception(sender, request=None, **kwargs) -> None:
    """Keep the exception Django is turning into an error response on the request (the retry decides on it)."""
    if request is not None:
        setattr(request, _EXCEPTION, sys.exc_info()[1])


def is_interruption(exc: BaseException | None) -> bool:
    """Was this the database connection going away (rather than a query the database refused)?"""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in SHUTDOWN_STATES


def close_broken_connections() -> int:
    """Close each open connection that no longer answers; how many were closed."""
    closed = 0
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.is_usable():
            conn.close()
            closed += 1
    return closed


class DatabaseRetryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS or response.status_code != 500 or response.streaming:
            return response
        exc = getattr(request, _EXCEPTION, None)
        if not is_interruption(exc):
            return response
        closed = close_broken_connections()
        log.warning(
            "database connection lost during %s %s (%s: %s); %d connection(s) closed, running the request again",
            request.method,
            request.path,
            type(exc).__name__,
            exc,
            closed,
        )
        setattr(request, _EXCEPTION, None)
        request.hocba_retried = True
        return self.get_response(request)
