"""Who is acting, from where and why — carried through a request and into audit rows.

The values live in a context variable for the application side and are also set as
transaction-local PostgreSQL settings (``hocba.account_id`` …) so that database triggers see them.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, replace

from psycopg import sql


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


REQUEST_ID_MAX = 64  # the audit tables' request_id column


def new_request_id() -> str:
    return uuid.uuid4().hex


# Hands the actor to the database for the current transaction, where the audit triggers read it: one
# ``SET LOCAL hocba.<name> = '<value>'`` statement per setting, each value quoted here for the connection it is sent
# on (libpq's own quoting, through psycopg's ``sql.Literal``; a value is data, never SQL). On plain PostgreSQL
# ``SET LOCAL x = 'v'`` is ``set_config('x', 'v', true)``; under Citus only SET LOCAL *statements* reach the node that
# holds the school, with ``citus.propagate_set_commands = 'local'`` on the coordinator (docs/operations.md §9.3,
# Finding 1). The statements carry no parameters, so they go in one round trip with whatever follows them.
SETTINGS = ("account_id", "role", "tier", "request_id", "source")


def bind_params() -> list[str]:
    """The values of ``SETTINGS``, in order, as text (an empty account id: none)."""
    ctx = current()
    return ["" if ctx.account_id is None else str(ctx.account_id), ctx.role, ctx.tier, ctx.request_id, ctx.source]


def bind_sql(cursor) -> str:
    """The ``SET LOCAL`` statements of the current actor, quoted for ``cursor``'s connection (joined by ``;``)."""
    raw = getattr(cursor, "connection", None) or cursor
    return "; ".join(
        sql.SQL("SET LOCAL {} = {}").format(sql.Identifier("hocba", name), sql.Literal(value)).as_string(raw)
        for name, value in zip(SETTINGS, bind_params(), strict=True)
    )


def bind_to_transaction(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(bind_sql(cursor))
