"""Writes to the platform audit trail. Called by every service that changes public data."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from hocba.kernel import context

from ..models import Account, PlatformAuditEntry


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder)) if value is not None else None


def audit_record(
    *,
    actor: Account | None,
    action: str,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
    unit_id: int | None = None,
    school_id: int | None = None,
) -> PlatformAuditEntry:
    ctx = context.current()
    return PlatformAuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=(actor.username if actor is not None else "system"),
        role=ctx.role,
        ip=ctx.ip or None,
        request_id=ctx.request_id,
        source=ctx.source,
        action=action,
        object_type=obj.__class__.__name__.lower(),
        object_id=str(obj.pk),
        unit_id=unit_id,
        school_id=school_id,
        before=_plain(before),
        after=_plain(after),
    )
