"""Logs as one JSON object per line (``HOCBA_LOG_FORMAT=json``, production's default).

Each line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and from the actor context
(``hocba.kernel.context``) the ``request_id``, the ``school`` (its schema; else the schema the database connection
serves, for tasks that entered one) and the ``account`` id, when there are — for Django's own records logged after
the request left the middleware (``django.request``'s 404s), from the request they carry; ``exception`` with the
traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.db import connection

from . import context

PUBLIC_SCHEMA = "public"


def _from_request(request) -> tuple[str, str, int | None]:
    """(request id, school, account) of the request Django attaches to its own records (``django.request`` logs a
    4xx after the middleware has left, outside the actor context). Reads only what is already there: no query."""
    if request is None:
        return "", "", None
    user = getattr(request, "_cached_user", None)  # the user as far as the request already loaded it
    account = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    school = getattr(getattr(request, "tenant", None), "schema_name", "") or ""
    return getattr(request, "request_id", "") or "", school, account


def current_school() -> str:
    school = context.current().school
    if school:
        return school
    try:
        schema = getattr(connection, "schema_name", "")  # no query: the name django-tenants keeps on the connection
    except Exception:  # noqa: BLE001 — a log line is never lost to the database's configuration
        schema = ""
    return "" if schema == PUBLIC_SCHEMA else schema


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        actor = context.current()
        data = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, school, account = _from_request(getattr(record, "request", None))
        request_id = getattr(record, "request_id", None) or actor.request_id or request_id
        if request_id:
            data["request_id"] = request_id
        school = current_school() or school
        if school:
            data["school"] = school
        account = actor.account_id if actor.account_id is not None else account
        if account is not None:
            data["account"] = account
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)
