"""Reads of the public schema (DESIGN §4: selectors own reads and visibility). Import from here
(``from tenants.selectors import access_for``); the modules:

* :mod:`.tree` — the unit tree on a day, placements, schools as plain data;
* :mod:`.access` — who may do what where (``access_for``, ``Access``);
* :mod:`.accounts` — memberships, the people of a school and their names;
* :mod:`.windows` — open/lock windows: which a person sees, which apply to a school, the timeline, the reach;
* :mod:`.tokens` — API tokens: the scopes an account may issue one for, its tokens, a token's scope;
* :mod:`.admin` — the administration pages' and API's reads (may return model instances; public side only).
* :mod:`.jobs` — background jobs: whether a person may see one, its status, a page of its rows;
* :mod:`.rollups` — the rollups' last reconciliation and the drift it fixed, per school of a scope;
* :mod:`.auditlog` — the platform log as sentences with names, filtered and paged (public side only).
* :mod:`.distributions` — result distributions for a scope, with the "< 5" rule below unit level.

Every function per-school code calls returns plain frozen dataclasses, so it never holds public model instances,
and a request issues a constant number of queries whatever the size of the tree.
"""

from .access import (
    MEMBERSHIPS_ON_SQL,
    Access,
    Grant,
    access_for,
)
from .accounts import (
    AccountBrief,
    MembershipInfo,
    account_briefs,
    account_names,
    membership_list,
    school_member_ids,
    unit_exists,
    visible_school_ids,
    visible_unit_ids,
)
from .admin import (
    PlacementPeriod,
    UnitVersionInfo,
    account_find,
    account_get,
    account_memberships,
    membership_get,
    school_get,
    school_in_scope,
    school_placement_history,
    scope_ids,
    unit_get,
    unit_in_scope,
    unit_names_latest,
    unit_school_placements,
    unit_versions,
)
from .distributions import Distribution, DistributionCell, result_distribution
from .jobs import ROWS_PER_PAGE, JobRow, JobStatus, job_rows, job_scope_unit, job_visible
from .rollups import Drift, Reconciliation, reconciliation, reconciliations
from .tokens import (
    ApiTokenInfo,
    TokenScope,
    TokenScopeChoice,
    account_has_totp,
    api_token_get,
    api_token_list,
    api_token_scopes,
)
from .tree import (
    SchoolInfo,
    UnitNode,
    UnitTree,
    school_list,
    school_placements_on,
    today,
    unit_ids_matching,
    unit_overseeing,
    unit_tree_on,
)

__all__ = [
    "Distribution",
    "DistributionCell",
    "result_distribution",
    "Drift",
    "Reconciliation",
    "reconciliation",
    "reconciliations",
    "ROWS_PER_PAGE",
    "JobRow",
    "JobStatus",
    "job_rows",
    "job_scope_unit",
    "job_visible",
    "ApiTokenInfo",
    "TokenScope",
    "TokenScopeChoice",
    "account_has_totp",
    "api_token_get",
    "api_token_list",
    "api_token_scopes",
    "Access",
    "AccountBrief",
    "Grant",
    "MEMBERSHIPS_ON_SQL",
    "MembershipInfo",
    "PlacementPeriod",
    "SchoolInfo",
    "UnitNode",
    "UnitTree",
    "UnitVersionInfo",
    "access_for",
    "account_briefs",
    "account_find",
    "account_get",
    "account_memberships",
    "account_names",
    "membership_get",
    "membership_list",
    "school_get",
    "school_in_scope",
    "school_list",
    "school_member_ids",
    "school_placement_history",
    "school_placements_on",
    "scope_ids",
    "today",
    "unit_exists",
    "unit_get",
    "unit_ids_matching",
    "unit_in_scope",
    "unit_names_latest",
    "unit_overseeing",
    "unit_school_placements",
    "unit_tree_on",
    "unit_versions",
    "visible_school_ids",
    "visible_unit_ids",
]
