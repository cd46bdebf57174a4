"""What every school write shares: one transaction, the actor handed to the audit triggers."""

from __future__ import annotations

import functools

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext_lazy as _
from hocba.kernel import context
from hocba.kernel.errors import DomainError, NotAllowed

from ..access import SchoolAccess
from ..windows import locked_from_db_error


def school_write(func):
    """``@transaction.atomic``, the actor's context for the audit triggers and the school's chain lock."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                _begin_school_write()
                return func(*args, **kwargs)
        except DatabaseError as exc:
            # A window refused the write in the database (the trigger): nothing was written.
            locked = locked_from_db_error(exc)
            if locked is None:
                raise
            raise locked from exc

    return wrapper


def _begin_school_write() -> None:
    """One statement: hand the actor to the audit triggers, then take the school's chain lock —
    before any row lock, so writers of one school queue here instead of deadlocking between a row
    lock and the chain lock the audit trigger takes at the end of each statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {context.BIND_SQL}, pg_advisory_xact_lock(hashtext('hocba.audit_chain'), hashtext(current_schema()))",
            context.bind_params(),
        )


def require(allowed: bool, message=None) -> None:
    if not allowed:
        raise NotAllowed("school.not_allowed", message or _("Bạn không có quyền thực hiện thao tác này."))


def system_access(school_id: int = 0) -> SchoolAccess:
    """The platform itself (commands, imports run by operators): every right in the school."""
    from hocba.kernel.roles import Role

    return SchoolAccess(None, school_id, frozenset({Role.PRINCIPAL}))


def not_found(message) -> DomainError:
    return DomainError("school.not_found", message, http_status=404)
