"""What every school write shares: one transaction, the actor handed to the audit triggers."""

from __future__ import annotations

import functools

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel import context, metrics
from hocba.kernel.errors import DomainError, NotAllowed, translate_db_error
from hocba.kernel.roles import Role

from ..access import SchoolAccess

CHAIN_LOCK_SQL = "pg_advisory_xact_lock(hashtext('hocba.audit_chain'), hashtext(current_schema()))"


def school_write(func=None, *, lock_early: bool = True):
    """``@transaction.atomic``, the actor's context for the audit triggers and the school's chain lock.

    The chain lock is taken before any row lock, so that writers of one school queue on it instead
    of deadlocking between a row lock and the chain lock the audit trigger takes at the end of each
    statement. By default at the start; a service whose first part only reads (validation) passes
    ``lock_early=False`` and calls ``take_chain_lock()`` right before its first write, which keeps
    the lock — and the queue of the school's writers — short."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        # One round trip: the actor's SET LOCAL statements, then (by default) the chain lock.
                        cursor.execute(context.bind_sql(cursor) + (f"; SELECT {CHAIN_LOCK_SQL}" if lock_early else ""))
                    return fn(*args, **kwargs)
            except DatabaseError as exc:
                # A window refused the write in the database (the trigger): nothing was written.
                locked = translate_db_error(exc)
                if locked is None:
                    raise
                metrics.lock_refused(getattr(getattr(locked, "window", None), "category", ""), locked.code)
                raise locked from exc

        return wrapper

    return decorate(func) if func is not None else decorate


def take_chain_lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {CHAIN_LOCK_SQL}")


def require(allowed: bool, message=None) -> None:
    if not allowed:
        raise NotAllowed("school.not_allowed", message or _("Bạn không có quyền thực hiện thao tác này."))


def system_access(school_id: int = 0) -> SchoolAccess:
    """The platform itself (commands, imports run by operators): every right in the school."""
    return SchoolAccess(None, school_id, frozenset({Role.PRINCIPAL}))


def not_found(message) -> DomainError:
    return DomainError("school.not_found", message, http_status=404)
