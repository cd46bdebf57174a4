"""``hocba.kernel.auditchain`` without a database: what each kind of tampering looks like to the chain check.
(That its hash is the database's, byte for byte, is tests/schools/test_audit_verify_outside.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from hocba.kernel.auditchain import GENESIS, ChainCheck, row_hash

T0 = dt.datetime(2026, 9, 5, 7, 30, tzinfo=dt.UTC)


def _chain(n: int) -> list[tuple]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        body = (i * 10, T0 + dt.timedelta(seconds=i), 7 if i % 2 else None, "teacher", "school", f"r{i}", "web")
        body += ("schools_assessment", "UPDATE", 1, f"({i},7.0)", f'({i},"8,5 ""tốt""")')
        h = row_hash(prev, body)
        rows.append((*body, prev, h))
        prev = h
    return rows


def _with(row: tuple, **changes) -> tuple:
    names = {"new_values": 11, "prev_hash": 12, "hash": 13}
    out = list(row)
    for name, value in changes.items():
        out[names[name]] = value
    return tuple(out)


def _rehash_from(rows: list[tuple], start: int) -> list[tuple]:
    out = rows[:start]
    prev = out[-1][13] if out else GENESIS
    for row in rows[start:]:
        h = row_hash(prev, row)
        out.append((*row[:12], prev, h))
        prev = h
    return out


def _check(rows, batch=3, **kw):
    check = ChainCheck(**kw)
    for i in range(0, len(rows), batch):
        check.feed(rows[i : i + batch])
    return check.report()


def test_intact_in_batches_with_its_anchors():
    rows = _chain(10)
    report = _check(rows, anchors=[{"last_id": 50, "hash": rows[4][13]}, {"last_id": None, "hash": GENESIS}])
    assert report.intact and report.entries == 10 and report.head["last_id"] == 100
    assert report.head["hash"] == rows[-1][13] and [a.status for a in report.anchors] == ["holds", "holds"]


def test_changed_content_is_found_at_that_entry():
    rows = _chain(10)
    rows[6] = _with(rows[6], new_values="(7,10.0)")
    report = _check(rows)
    assert (report.broken.id, report.broken.reason, report.broken.at) == (70, "content", T0 + dt.timedelta(seconds=7))


def test_rehashed_rewrite_passes_the_links_but_not_the_anchor():
    rows = _chain(10)
    anchor = {"last_id": 90, "hash": rows[8][13]}
    rows[3] = _with(rows[3], new_values="(4,10.0)")
    rows = _rehash_from(rows, 3)
    report = _check(rows, anchors=[anchor])
    assert report.broken is None and not report.intact
    assert report.anchors[0].status == "differs" and report.anchors[0].computed_hash == rows[8][13]


def test_removed_entry_breaks_the_next_link_and_a_removed_tail_the_anchor():
    rows = _chain(10)
    assert _check(rows[:4] + rows[5:]).broken.id == 60
    assert _check(rows[:4] + rows[5:]).broken.reason == "link"
    report = _check(rows[:7], anchors=[{"last_id": 90, "hash": rows[8][13]}])
    assert report.broken is None and report.anchors[0].status == "missing"


def test_continuing_from_an_anchor():
    rows = _chain(10)
    since = {"last_id": 50, "hash": rows[4][13]}
    report = _check(rows[4:], since=since)
    assert report.broken is None and report.entries == 6 and report.head["hash"] == rows[-1][13]
    rewritten = _rehash_from([*rows[:2], _with(rows[2], new_values="x"), *rows[3:]], 2)
    assert _check(rewritten[4:], since=since).broken.reason == "anchor"  # the anchored entry has another hash
    assert _check(rows[6:], since=since).broken.reason == "anchor"  # the anchored entry is gone
    assert _check([], since=since).broken.reason == "anchor"
    forged = [*rows[4:6], _with(rows[6], prev_hash="f" * 64), *rows[7:]]
    assert _check(forged, since=since).broken.id == 70


def test_rows_out_of_order_are_refused():
    rows = _chain(3)
    with pytest.raises(ValueError):
        ChainCheck().feed([rows[1], rows[0]])
