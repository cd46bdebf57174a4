"""The school audit chain's hashes, recomputed outside the database (DESIGN §7).

The database writes each entry's hash with ``audit_payload()`` (``schools/sql/0002_audit.sql``); a check that
calls that function, or ``audit_first_broken_link()``, trusts the database it checks: its owner can replace
either. ``entry_hash`` computes the same hash in Python, byte for byte, from the entry's columns as read with a
plain SELECT, and ``ChainCheck`` walks a chain in id order (fed in batches, so memory stays flat), reports its
first broken link and tests anchors taken earlier against the hashes it computed itself.

What the database hashes, in order, each field written ``<length in characters>:<text>`` and joined with
``|`` (a NULL field is left out, as ``string_agg`` leaves it): the previous entry's hash; the time in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffff``; the account id (empty for none); role; tier; request id; source; table; operation;
the row count; the old rows' text; the new rows' text. The digest is sha256 over the UTF-8 bytes, in hex.

Pure: no Django, no database."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
# The columns of one entry, in the order ``schools/interface.audit_rows`` returns them.
COLUMNS = (
    "id",
    "at",
    "account_id",
    "role",
    "tier",
    "request_id",
    "source",
    "table_name",
    "operation",
    "rows",
    "old_values",
    "new_values",
    "prev_hash",
    "hash",
)


def utc_text(at: dt.datetime | None) -> str | None:
    """``to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')``."""
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError("an audit entry's time must be timezone-aware")
    u = at.astimezone(dt.UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}"


def entry_hash(
    prev: str | None,
    at: dt.datetime | None,
    account_id: int | None,
    role: str | None,
    tier: str | None,
    request_id: str | None,
    source: str | None,
    table_name: str | None,
    operation: str | None,
    rows: int | None,
    old_values: str | None,
    new_values: str | None,
) -> str:
    """The hash ``audit_payload()`` gives these values (see the module's docstring)."""
    fields = (
        prev,
        utc_text(at),
        "" if account_id is None else str(account_id),
        role,
        tier,
        request_id,
        source,
        table_name,
        operation,
        None if rows is None else str(rows),
        old_values,
        new_values,
    )
    text = "|".join(f"{len(f)}:{f}" for f in fields if f is not None)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(prev: str, row: tuple) -> str:
    """``entry_hash`` of a row in ``COLUMNS`` order, chained to ``prev``."""
    return entry_hash(prev, *row[1:12])


@dataclass(frozen=True)
class BrokenLink:
    """The first entry whose link does not hold. ``reason``: ``"content"`` — its stored hash is not the hash of
    its own columns (the entry was changed after it was written); ``"link"`` — its columns hash correctly but it
    does not follow the entry before it (an entry before it was changed and re-hashed, removed or inserted);
    ``"anchor"`` — checking from an anchor (``ChainCheck.since``), the anchored entry is gone or has another hash."""

    id: int
    at: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class AnchorCheck:
    """An anchor against the recomputed chain. ``status``: ``"holds"``; ``"differs"`` — the entry is there but the
    hash computed up to it is not the anchored one (history up to it was rewritten); ``"missing"`` — no entry
    with the anchored id any more."""

    last_id: int | None
    anchored_hash: str
    computed_hash: str | None
    status: str


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken: BrokenLink | None
    head: dict[str, Any] | None  # {"last_id", "hash" (recomputed), "at"}, None for an empty chain
    anchors: tuple[AnchorCheck, ...] = ()

    @property
    def intact(self) -> bool:
        return self.broken is None and all(a.status == "holds" for a in self.anchors)


@dataclass
class ChainCheck:
    """Feed a chain's rows (``COLUMNS`` order, ascending id) in batches, then read ``report()``.

    The hashes are recomputed from the first entry on, each from the previous *computed* hash, so nothing the
    database stored is trusted but the columns themselves. ``anchors``: ``[{"last_id": …, "hash": …}, …]``
    written earlier to the archive store, each compared with the hash computed at its entry.

    ``since``: an anchor to continue from instead of the first entry (the daily anchoring checks only what was
    added since the last anchor). The first row fed must then be the anchored entry, still with the anchored
    hash; the hashes after it are computed from the anchored one. A break there has reason ``"anchor"``."""

    anchors: Iterable[dict[str, Any]] = ()
    since: dict[str, Any] | None = None
    _expected: dict[int, list[str]] = field(default_factory=dict, init=False)
    _found: dict[int, str] = field(default_factory=dict, init=False)
    _prev: str = field(default=GENESIS, init=False)
    _entries: int = field(default=0, init=False)
    _broken: BrokenLink | None = field(default=None, init=False)
    _last: tuple[int, str, dt.datetime | None] | None = field(default=None, init=False)
    _last_id: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.anchors = [dict(a) for a in self.anchors]
        for anchor in self.anchors:
            if anchor.get("last_id") is not None:
                self._expected.setdefault(int(anchor["last_id"]), []).append(anchor["hash"])

    def feed(self, rows: Iterable[tuple]) -> None:
        for row in rows:
            entry_id, at, prev_hash, stored = row[0], row[1], row[12], row[13]
            if self._last_id is not None and entry_id <= self._last_id:
                raise ValueError("audit rows must come in ascending id order")
            if self.since is not None and self._last_id is None:
                self._prev = self.since["hash"]  # what the anchor vouches for, up to and with its entry
                if entry_id != self.since["last_id"] or not stored == self.since["hash"] == row_hash(prev_hash, row):
                    self._broken = BrokenLink(entry_id, at, "anchor")
                self._entries, self._last_id, self._last = 1, entry_id, (entry_id, self._prev, at)
                continue
            computed = row_hash(self._prev, row)
            if self._broken is None:
                own = computed if prev_hash == self._prev else row_hash(prev_hash, row)
                if stored != own:
                    self._broken = BrokenLink(entry_id, at, "content")
                elif prev_hash != self._prev:
                    self._broken = BrokenLink(entry_id, at, "link")
            if entry_id in self._expected:
                self._found[entry_id] = computed
            self._prev = computed
            self._entries += 1
            self._last_id = entry_id
            self._last = (entry_id, computed, at)

    def report(self) -> ChainReport:
        broken = self._broken
        if self.since is not None and self._last_id is None:  # not even the anchored entry is there
            broken = BrokenLink(self.since["last_id"], None, "anchor")
        checks = []
        for anchor in self.anchors:
            last_id, anchored = anchor.get("last_id"), anchor.get("hash", GENESIS)
            if last_id is None:  # anchored while the chain was empty: nothing to hold
                checks.append(AnchorCheck(None, anchored, None, "holds"))
                continue
            computed = self._found.get(int(last_id))
            status = "missing" if computed is None else ("holds" if computed == anchored else "differs")
            checks.append(AnchorCheck(int(last_id), anchored, computed, status))
        head = None
        if self._last is not None:
            last_id, computed, at = self._last
            head = {"last_id": last_id, "hash": computed, "at": None if at is None else at.astimezone(dt.UTC)}
        return ChainReport(self._entries, broken, head, tuple(checks))
