"""What the setup services share: reading numbers and account ids from forms, who may teach in the school."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from tenants.selectors import school_member_ids

from ...access import SchoolAccess
from ...selectors import TEACHING_ROLES


def _require_teacher(access: SchoolAccess, account_id: int | None, field: str = "teacher") -> None:
    if account_id is not None and account_id not in school_member_ids(access.school_id, TEACHING_ROLES):
        raise DomainError(
            "assignments.not_a_teacher", _("Người được phân công không phải giáo viên của trường."), field=field
        )


def _account_id(value: Any, field: str) -> int | None:
    """An account id given by a form or a request (``None`` or empty: nobody)."""
    if value in (None, ""):
        return None
    return _int(value, "assignments.not_a_teacher", _("Người được phân công không phải giáo viên của trường."), field)


def _int(value: Any, code: str, message, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(code, message, field=field) from None
