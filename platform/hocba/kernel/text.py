"""Text as it enters: one normal form (NFC) for every string a person sends.

Vietnamese has two spellings of the same letters: precomposed (NFC, “ễ” one code point) and decomposed (NFD,
“e” + circumflex + tilde), which macOS, some keyboards and some spreadsheets send. Stored as sent, two names that
look identical compare different, so duplicate checks, sorting and search miss them. Everything a person sends
passes here at the boundary: form posts and query strings (``hocba.kernel.middleware.NfcMiddleware``), API bodies
(``hocba.kernel.parsers``), spreadsheet and CSV cells (``hocba.kernel.spreadsheets``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.http import QueryDict

FORM = "NFC"


def nfc(value: Any) -> Any:
    """``value`` with every string in NFC, through dicts, lists and tuples; anything else as it is."""
    if isinstance(value, str):
        return value if unicodedata.is_normalized(FORM, value) else unicodedata.normalize(FORM, value)
    if isinstance(value, QueryDict):
        return nfc_querydict(value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, tuple):
        return tuple(nfc(v) for v in value)
    return value


def fold(text: str) -> str:
    """Text as search compares it: lower case, without tone or letter marks, "đ" as "d", spaces collapsed, control
    and invisible characters (NUL, zero-width space) dropped.

    People type Vietnamese without accents ("nguyen du" for "Nguyễn Du"): names are stored folded beside
    themselves (a ``search_name`` column) and the query is folded the same way, so both sides meet here."""
    # Marks standing on their own are dropped before the decomposition as well as after: the canonical reordering
    # of a long run of them is quadratic (100,000 marks took 25 s), and dropping them first changes nothing, since
    # decomposing a character never depends on the marks after it.
    bare = "".join(ch for ch in (text or "").lower().replace("đ", "d") if not unicodedata.combining(ch))
    decomposed = unicodedata.normalize("NFD", bare)
    return " ".join(
        "".join(ch for ch in decomposed if not unicodedata.combining(ch) and (ch.isalnum() or _kept(ch))).split()
    )


SEARCH_MAX = 150  # characters of a search query: longer than any name it is compared with


def _kept(ch: str) -> bool:
    """Not a control or invisible format character (NUL, zero-width space…), which PostgreSQL text cannot hold
    (NUL) or a person cannot see; whitespace stays, as a separator."""
    return ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")


def search_text(value: str | None, limit: int = SEARCH_MAX) -> str:
    """What a search box sent, as a query may carry it: control and invisible characters dropped, spaces collapsed,
    at most ``limit`` characters (a NUL would make the database refuse the query; a megabyte would only be slow)."""
    return " ".join("".join(ch for ch in str(value or "") if _kept(ch)).split())[:limit]


def is_nfc(value: Any) -> bool:
    return not isinstance(value, str) or unicodedata.is_normalized(FORM, value)


def nfc_querydict(data: QueryDict) -> QueryDict:
    """The same QueryDict (its encoding and mutability kept) with keys and values in NFC; itself when already so."""
    if all(is_nfc(k) and all(is_nfc(v) for v in vs) for k, vs in data.lists()):
        return data
    out = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        out.setlist(nfc(key), [nfc(v) for v in values])
    out._mutable = data._mutable
    return out


def nfc_table(
    cursor,
    table: str,
    columns: list[str],
    *,
    json_columns: list[str] = (),
    quiet_triggers: tuple[str, ...] = (),
    note: str = "",
) -> int:
    """Rewrite in NFC the stored values of ``columns`` that are not (a data migration; PostgreSQL 13+).

    Only rows holding a non-NFC value are updated, so a table that has none is not touched (no lock, no trigger, no
    audit entry). ``quiet_triggers`` are switched off for this statement only and on again in the same transaction
    (the owner's maintenance: a school's window guard would refuse a locked year's names though nothing a person
    wrote changes). The audit triggers stay on: the chain records the change, marked with ``note`` as its source's
    request id. ``json_columns`` (jsonb) are normalised as their text, which keeps their structure: JSON's own syntax
    is ASCII. Returns the number of rows rewritten."""
    texts = [(f'"{c}"', f'"{c}"', "") for c in columns] + [(f'"{c}"', f'"{c}"::text', "::jsonb") for c in json_columns]
    if not texts:
        return 0
    differs = " OR ".join(f"{value} IS NOT NFC NORMALIZED" for _column, value, _cast in texts)
    cursor.execute(f'SELECT count(*) FROM "{table}" WHERE {differs}')  # noqa: S608 - names from the models
    if not cursor.fetchone()[0]:
        return 0
    if note:
        cursor.execute(
            "SELECT set_config('hocba.source', 'migration', true), set_config('hocba.request_id', %s, true)", [note]
        )
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s) AND tgenabled <> 'D'",
        [f'"{table}"', list(quiet_triggers)],
    )
    off = [row[0] for row in cursor.fetchall()]
    for name in off:
        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
    sets = ", ".join(f"{column} = normalize({value}, NFC){cast}" for column, value, cast in texts)
    cursor.execute(f'UPDATE "{table}" SET {sets} WHERE {differs}')  # noqa: S608 - names from the models
    changed = cursor.rowcount
    for name in off:
        cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
    return changed


def text_columns(model) -> list[str]:
    """The columns of a model that hold free text (char and text fields without choices)."""
    return [
        f.column
        for f in model._meta.concrete_fields
        if f.get_internal_type() in ("CharField", "TextField") and not f.choices
    ]


def json_columns(model) -> list[str]:
    """The columns of a model that hold JSON, whose strings may be names (a student's guardians)."""
    return [f.column for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"]


def fold_column(
    cursor,
    table: str,
    source: str,
    target: str,
    *,
    quiet_triggers: tuple[str, ...] = (),
    chunk: int = 5000,
) -> int:
    """Fill ``target`` with :func:`fold` of ``source`` where it differs (a data migration for a search column).

    ``quiet_triggers`` are switched off for these statements only and on again in the same transaction: the column
    is derived from a name already in the row, not data a person changed (a school's window guard would refuse a
    locked year's rows, and its audit trigger would copy every row into the chain for a change nobody made). Returns
    the number of rows written."""
    cursor.execute(f'SELECT id, "{source}", "{target}" FROM "{table}" ORDER BY id')  # noqa: S608 - model names
    wanted = [(pk, fold(value or "")) for pk, value, stored in cursor.fetchall() if fold(value or "") != stored]
    if not wanted:
        return 0
    cursor.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s) AND tgenabled <> 'D'",
        [f'"{table}"', list(quiet_triggers)],
    )
    off = [row[0] for row in cursor.fetchall()]
    for name in off:
        cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        cursor.execute(
            f'UPDATE "{table}" AS t SET "{target}" = v.folded'  # noqa: S608 - model names
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, folded) WHERE t.id = v.id",
            [[pk for pk, _f in part], [f for _pk, f in part]],
        )
    for name in off:
        cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
    return len(wanted)
