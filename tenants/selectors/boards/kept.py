"""What a web process keeps for a while (``HOCBA_BOARD_KEEP_SECONDS``; 0: nothing): the board's slow figures, which
cost more to ask than the rest of a unit's board — the province's medians the flags compare with (edits after
approval are counted once a day) and the school years on record in a scope (a new one appears once a year). A
school's own figures are not kept this way: the rows :mod:`.query` keeps are brought up to date at every board."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")
_KEPT: dict[Hashable, tuple[float, object]] = {}
_MOST = 512  # entries; past it the process starts again from nothing


def kept(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its value kept from a call with the same key less than the setting's seconds ago."""
    seconds = settings.HOCBA_BOARD_KEEP_SECONDS
    if seconds <= 0:
        return compute()
    now = time.monotonic()
    hit = _KEPT.get(key)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]  # type: ignore[return-value]
    value = compute()
    if len(_KEPT) >= _MOST:
        _KEPT.clear()
    _KEPT[key] = (now, value)
    return value
