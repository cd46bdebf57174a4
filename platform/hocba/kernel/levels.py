"""The school levels (cấp học) and the grades each one teaches: primary = grades 1–5 (TT27), lower
secondary (THCS) = 6–9 and upper secondary (THPT) = 10–12 (TT22). The codes are what the database
stores (``School.levels``, ``Subject.level``) and what the API speaks."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

PRIMARY = "primary"
LOWER_SECONDARY = "lower_secondary"
UPPER_SECONDARY = "upper_secondary"

LEVELS: tuple[str, ...] = (PRIMARY, LOWER_SECONDARY, UPPER_SECONDARY)  # youngest first
LEVEL_GRADES: dict[str, tuple[int, ...]] = {
    PRIMARY: (1, 2, 3, 4, 5),
    LOWER_SECONDARY: (6, 7, 8, 9),
    UPPER_SECONDARY: (10, 11, 12),
}
GRADES: tuple[int, ...] = tuple(g for level in LEVELS for g in LEVEL_GRADES[level])  # 1–12

LEVEL_LABELS = {PRIMARY: _("Tiểu học"), LOWER_SECONDARY: _("THCS"), UPPER_SECONDARY: _("THPT")}
LEVEL_CHOICES = [(level, LEVEL_LABELS[level]) for level in LEVELS]

# How people write a level in a form, a spreadsheet or an import (lower case): the code, the usual
# Vietnamese names and abbreviations (TH, THCS, THPT).
LEVEL_NAMES = {
    PRIMARY: PRIMARY,
    "tiểu học": PRIMARY,
    "tieu hoc": PRIMARY,
    "th": PRIMARY,
    LOWER_SECONDARY: LOWER_SECONDARY,
    "thcs": LOWER_SECONDARY,
    UPPER_SECONDARY: UPPER_SECONDARY,
    "thpt": UPPER_SECONDARY,
}


def grades_of(levels: Iterable[str] | None) -> set[int]:
    """Every grade the levels teach; an unknown level teaches none."""
    return {g for level in levels or () for g in LEVEL_GRADES.get(level, ())}


def level_of_grade(grade: int) -> str:
    """The level a grade belongs to. Raises ``ValueError`` for a grade outside 1–12."""
    for level in LEVELS:
        if grade in LEVEL_GRADES[level]:
            return level
    raise ValueError(f"no school level teaches grade {grade!r}")


def ordered_levels(levels: Iterable[str] | None) -> list[str]:
    """The known levels among ``levels``, once each, youngest first."""
    chosen = set(levels or ())
    return [level for level in LEVELS if level in chosen]
