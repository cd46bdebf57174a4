"""The school's audit chain as a whole (current school schema): its rows as stored, and the database's own check of
its links. The anchoring job and the verification are ``tenants.anchors``: they read the rows through
``schools.interface.audit_rows`` and recompute every hash in Python (``hocba.kernel.auditchain``)."""

from __future__ import annotations

from django.db import connections
from hocba.kernel.auditchain import COLUMNS


def rows(after_id: int, limit: int, using: str = "default") -> list[tuple]:
    """Up to ``limit`` entries with an id above ``after_id``, in id order, as stored: plain tuples in
    ``hocba.kernel.auditchain.COLUMNS`` order. A plain SELECT: no database function hashes or judges here."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(COLUMNS)} FROM schools_auditentry WHERE id > %s ORDER BY id LIMIT %s",
            [after_id, limit],
        )
        return [tuple(row) for row in cursor.fetchall()]


def first_broken_link(using: str = "default") -> int | None:
    """The first entry id whose link does not hold, as the database's own function says (current school schema),
    or None. Its owner can replace that function: ``audit_verify`` does not use it (DESIGN §7)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT audit_first_broken_link()")
        return cursor.fetchone()[0]
