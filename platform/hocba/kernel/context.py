"""Who is acting, from where and why — carried through a request and into audit rows.

The values live in a context variable for the application side and are also set as
transaction-local PostgreSQL settings (``hocba.account_id`` …) so that database triggers see them.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ActorContext:
    account_id: int | None = None
    role: str = ""
    tier: str = ""
    ip: str = ""
    request_id: str = ""
    source: str = "system"
    school: str = ""  # the school's schema on its site (logs); the database sees the connection's search_path


_current: contextvars.ContextVar[ActorContext] = contextvars.ContextVar("hocba_actor", default=ActorContext())  # noqa: B039  (a frozen dataclass: the default is never mutated)


def current() -> ActorContext:
    return _current.get()


def activate(ctx: ActorContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


def update(**changes) -> contextvars.Token:
    return _current.set(replace(_current.get(), **changes))


def new_request_id() -> str:
    return uuid.uuid4().hex


# Hands the actor to the database for the current transaction, where the audit triggers read it.
BIND_SQL = (
    "set_config('hocba.account_id', %s, true), set_config('hocba.role', %s, true),"
    " set_config('hocba.tier', %s, true), set_config('hocba.request_id', %s, true),"
    " set_config('hocba.source', %s, true)"
)


def bind_params() -> list[str]:
    ctx = current()
    return ["" if ctx.account_id is None else str(ctx.account_id), ctx.role, ctx.tier, ctx.request_id, ctx.source]


def bind_to_transaction(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + BIND_SQL, bind_params())
