"""The database's refusal of a write to a signed or locked record book (SQLSTATE HB409, ``sql/0003_windows.sql``), as
a person reads it: by any path (page, API, import, raw SQL through the application), nothing was written."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

SQLSTATE = "HB409"


class RecordSigned(DomainError):
    """HTTP 423: the record book is signed or locked; only the principal's revocation reopens it."""

    http_status = 423

    def __init__(self, record_id: int | None = None):
        super().__init__(
            "record.signed",
            _(
                "Học bạ này đã ký số hoặc đã khóa nên không sửa được dữ liệu. Muốn sửa, Hiệu trưởng cần thu hồi "
                "học bạ đã ký (ghi rõ lý do); chưa có thay đổi nào được lưu."
            ),
            extra={"record": record_id} if record_id is not None else None,
        )
        self.record_id = record_id


def signed_from_db_error(exc: BaseException) -> RecordSigned | None:
    """The guard's refusal (SQLSTATE HB409, the record's id in DETAIL) as a RecordSigned, else None."""
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) != SQLSTATE:
        return None
    detail = getattr(getattr(cause, "diag", None), "message_detail", None)
    try:
        return RecordSigned(int(detail))
    except (TypeError, ValueError):
        return RecordSigned()
