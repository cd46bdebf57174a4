"""Assessment rules of the record book, versioned by circular — pure Python, no Django.

``RULE_SETS`` maps a circular's code to its rule set (a frozen dataclass holding every threshold as
data); ``rules_for(level, school_year_start)`` picks the rule set in force. A corrected circular is a
new rule set instance (new code) plus an entry in ``RULE_SCHEDULE``, never an edit hunt in the code.
"""

from __future__ import annotations

from . import tt22, tt27
from .common import RuleInputError

__all__ = ["RULE_SCHEDULE", "RULE_SETS", "SCHOOL_LEVELS", "RuleInputError", "RuleSet", "rules_for"]

RuleSet = tt22.TT22Rules | tt27.TT27Rules

RULE_SETS: dict[str, RuleSet] = {
    tt22.RULES.code: tt22.RULES,  # "TT22/2021"
    tt27.RULES.code: tt27.RULES,  # "TT27/2020"
}

SCHOOL_LEVELS = ("primary", "lower_secondary", "upper_secondary")

# (school level, first school year it applies to — the year the school year starts —, code).
# Both circulars were phased in grade by grade: TT27 from 2020–2021 (grade 1) to 2024–2025
# (grade 5); TT22 from 2021–2022 (grade 6), 2022–2023 (grades 7, 10) to 2024–2025 (grades 9, 12).
# Choosing by level alone therefore uses each level's first year (unconfirmed: phase-in years are
# not in DOMAIN.md); earlier years fell under circulars that have no rule set here.
RULE_SCHEDULE: tuple[tuple[str, int, str], ...] = (
    ("primary", 2020, "TT27/2020"),
    ("lower_secondary", 2021, "TT22/2021"),
    ("upper_secondary", 2022, "TT22/2021"),
)


def rules_for(level: str, school_year_start: int) -> RuleSet:
    """The rule set for a school level ("primary", "lower_secondary", "upper_secondary") in the
    school year starting in ``school_year_start`` (2025 for 2025–2026): the latest entry of
    ``RULE_SCHEDULE`` for that level that has started. Raises ``RuleInputError`` for an unknown
    level or a year before any rule set here."""
    if level not in SCHOOL_LEVELS:
        raise RuleInputError(
            "unknown_school_level",
            f"Cấp học {level!r} không hợp lệ.",
            f"Unknown school level {level!r} (expected one of {', '.join(SCHOOL_LEVELS)}).",
            field="level",
        )
    if isinstance(school_year_start, bool) or not isinstance(school_year_start, int):
        raise RuleInputError(
            "school_year_invalid",
            f"Năm học {school_year_start!r} không hợp lệ.",
            f"School year start {school_year_start!r} must be a year (int).",
            field="school_year_start",
        )
    candidates = [
        (first_year, code)
        for entry_level, first_year, code in RULE_SCHEDULE
        if entry_level == level and first_year <= school_year_start
    ]
    if not candidates:
        raise RuleInputError(
            "no_rule_set",
            f"Chưa có bộ quy tắc đánh giá cho cấp {level} năm học {school_year_start}–{school_year_start + 1}.",
            f"No assessment rule set for {level} in school year {school_year_start}–{school_year_start + 1}.",
            field="school_year_start",
        )
    return RULE_SETS[max(candidates)[1]]
