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
    """``@transaction.atomic`` plus the actor's context bound to the transaction (audit)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                context.bind_to_transaction(connection)
                return func(*args, **kwargs)
        except DatabaseError as exc:
            # A window refused the write in the database (the trigger): nothing was written.
            locked = locked_from_db_error(exc)
            if locked is None:
                raise
            raise locked from exc

    return wrapper


def require(allowed: bool, message=None) -> None:
    if not allowed:
        raise NotAllowed("school.not_allowed", message or _("Bạn không có quyền thực hiện thao tác này."))


def system_access(school_id: int = 0) -> SchoolAccess:
    """The platform itself (commands, imports run by operators): every right in the school."""
    from hocba.kernel.roles import Role

    return SchoolAccess(None, school_id, frozenset({Role.PRINCIPAL}))


def not_found(message) -> DomainError:
    return DomainError("school.not_found", message, http_status=404)
