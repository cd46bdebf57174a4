"""PostgreSQL row text as the audit triggers write it (``record_out``: one row a line, in the table's column
order), read back and named:

* ``parse_row`` / ``parse_rows`` read the text (quotes, escapes, NULL as nothing, newlines inside quoted
  values — which is why the lines cannot simply be split on ``\\n``);
* columns are named from the table's *database* order (``pg_attribute``, dropped columns left out): it is
  not the model's field order (foreign keys were added after the other columns). A row written before a
  column was added has fewer values and maps onto the leading columns;
* ``row_regex`` finds, in the database, the entries whose rows hold a value at a column.
"""

from __future__ import annotations

import re

from django.db import connections

_QUOTED_RUN = re.compile(r'[^"\\]+')
_UNQUOTED_RUN = re.compile(r'[^"\\,()]+')


def parse_row(text: str, pos: int = 0) -> tuple[list[str | None], int]:
    """One ``(a,"b c",,d)`` record from ``pos``: (values, position after the closing parenthesis).

    As ``record_in`` reads it: an empty unquoted value is NULL, ``""`` is the empty string, inside
    quotes ``""`` is a quote and a backslash escapes the next character (also outside quotes)."""
    if text[pos : pos + 1] != "(":
        raise ValueError(f"row text expected at {pos}: {text[pos : pos + 20]!r}")
    try:
        return _parse_fields(text, pos + 1)
    except IndexError:
        raise ValueError("row text ends inside a row") from None


def _parse_fields(text: str, pos: int) -> tuple[list[str | None], int]:
    values: list[str | None] = []
    while True:
        parts: list[str] = []
        present = False
        while True:
            ch = text[pos]
            if ch == '"':
                present = True
                pos += 1
                while True:
                    run = _QUOTED_RUN.match(text, pos)
                    if run:
                        parts.append(run.group())
                        pos = run.end()
                    ch = text[pos]
                    if ch == "\\":
                        parts.append(text[pos + 1])
                        pos += 2
                    elif text.startswith('""', pos):
                        parts.append('"')
                        pos += 2
                    else:  # the closing quote
                        pos += 1
                        break
            elif ch == "\\":
                present = True
                parts.append(text[pos + 1])
                pos += 2
            elif ch in ",)":
                break
            else:
                run = _UNQUOTED_RUN.match(text, pos)
                if run is None:
                    raise ValueError(f"unexpected {ch!r} in row text at {pos}")
                present = True
                parts.append(run.group())
                pos = run.end()
        values.append("".join(parts) if present else None)
        pos += 1
        if text[pos - 1] == ")":
            return values, pos


def parse_rows(text: str) -> list[list[str | None]]:
    """The rows of an audit entry: records separated by newlines (which may also occur inside values)."""
    rows, pos, end = [], 0, len(text)
    while pos < end:
        row, pos = parse_row(text, pos)
        rows.append(row)
        if pos < end:
            if text[pos] != "\n":
                raise ValueError(f"newline expected between rows at {pos}")
            pos += 1
    return rows


def table_columns(using: str = "default") -> dict[str, list[str]]:
    """Column names of the school's tables in database order (what row text follows), current schema."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) FROM pg_class c"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind = 'r'"
            " AND c.relname LIKE 'schools\\_%%' GROUP BY c.relname"
        )
        return {name: list(cols) for name, cols in cursor.fetchall()}


def as_dicts(text: str, columns: list[str]) -> list[dict[str, str | None]]:
    # A row written before a column was added has fewer values: it maps onto the leading columns.
    return [dict(zip(columns, row, strict=False)) for row in parse_rows(text)] if text else []


_FIELD_RE = r'(?:"(?:[^"\\]|\\.|"")*"|[^,()"\\]*)'


def row_regex(position: int, values: list[int]) -> str:
    """A PostgreSQL regex matching an entry whose rows hold one of ``values`` at column ``position``."""
    alternatives = "|".join(str(int(v)) for v in values)
    return r"(?:^|\n)\((?:" + _FIELD_RE + r",){" + str(position) + r"}(?:" + alternatives + r")[,)]"
