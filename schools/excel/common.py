"""What the school's workbooks add to the shared spreadsheet helpers (``hocba.kernel.spreadsheets``)."""

from __future__ import annotations

from decimal import Decimal

TERM_LABEL = {1: "I", 2: "II"}


def score_value(display: str) -> float | str:
    """A stored score shown as "7,5" → the number 7.5 for a cell (Excel formats it with one decimal)."""
    try:
        return float(Decimal(display.replace(",", ".")))
    except ArithmeticError:
        return display
