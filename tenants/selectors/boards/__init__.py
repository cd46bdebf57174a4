"""The province and unit board: every school in the person's scope with its figures for a school year, the same
figures summed per unit, traffic lights for the schools behind as their next lock nears, flags for the schools and
accounts far above the province's usual rate of edits after approval and approved lock exceptions, and the
drill-down to one school's classes.

Public tables only, never a school's schema (DESIGN §3): the school's rollup row for the year, its open and
approved exceptions to locks, the figures copied at the year's last lock (``ComplianceSnapshot``), the drift the
last reconciliation fixed (``RollupDrift``), the schema's state, the windows of the year, the per-class rows
(``ClassRollup``). A constant number of queries whatever the number of schools: the schools' rows, the windows,
the province's medians; the unit tree and the placements come with the access profile. Filters, search and sort run
over the rows in memory, so a board costs the same for 2 schools as for 3,000.
"""

from .figures import (
    AMBER,
    CAPABILITY,
    DEFAULT_GROUPS,
    FIGURE_FIELDS,
    FLAG_LABELS,
    GREEN,
    GROUPS,
    LIGHT_LABELS,
    LIGHT_RANK,
    MEASURED,
    NO_LOCK,
    RED,
    SCHEMA_BEHIND,
    SCHEMA_FAILED,
    SCHEMA_LABELS,
    SCHEMA_OK,
    SORT_GROUPS,
    SORTS,
    TERM_TWO_FROM,
    Board,
    BoardFilters,
    ClassRow,
    Figures,
    Flag,
    SchoolBoard,
    SchoolRow,
    Thresholds,
    UnitRow,
    light_of,
)
from .filters import board_filters, board_year, board_years, out_of_scope, parse_id
from .rows import board, school_board

__all__ = [
    "AMBER",
    "CAPABILITY",
    "DEFAULT_GROUPS",
    "FIGURE_FIELDS",
    "FLAG_LABELS",
    "GREEN",
    "GROUPS",
    "LIGHT_LABELS",
    "LIGHT_RANK",
    "MEASURED",
    "NO_LOCK",
    "RED",
    "SCHEMA_BEHIND",
    "SCHEMA_FAILED",
    "SCHEMA_LABELS",
    "SCHEMA_OK",
    "SORT_GROUPS",
    "SORTS",
    "TERM_TWO_FROM",
    "Board",
    "BoardFilters",
    "ClassRow",
    "Figures",
    "Flag",
    "SchoolBoard",
    "SchoolRow",
    "Thresholds",
    "UnitRow",
    "board",
    "board_filters",
    "board_year",
    "board_years",
    "light_of",
    "out_of_scope",
    "parse_id",
    "school_board",
]
