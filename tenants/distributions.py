"""The reconciliation of a school's result distributions (``models.ResultDistribution``): recomputed from the
results frozen in its approved records, compared with the rows kept current by its approvals and reopens, the rows
overwritten, and every drift fixed returned — with the ethnicity values of its students that name none of the 54
groups (``hocba.kernel.ethnicity``), which count in the "other/unknown" bucket until the school corrects them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from . import perschool, rollups
from .models import ResultDistribution


@dataclass(frozen=True)
class DistributionDrift:
    """One cell whose kept count (``recorded``) differed from the recomputed one (``actual``)."""

    year_start: int
    grade: int
    gender: str
    ethnicity: str
    measure: str
    value: str
    recorded: int
    actual: int


@dataclass(frozen=True)
class DistributionReconciliation:
    school_id: int
    drift: tuple[DistributionDrift, ...]
    unmapped: dict[str, int]  # raw ethnicity value → students


def distributions_reconcile(school_id: int, schema: str) -> DistributionReconciliation:
    """Recompute the school's distributions, overwrite its rows where they differ and return the drift fixed and the
    unmapped ethnicity values. Runs in the caller's transaction when there is one (a savepoint otherwise adds
    nothing): the school's chain lock, taken by the recompute, is held until that transaction ends, so no approval
    or reopen commits between the figures read and the rows written."""
    with transaction.atomic():
        found = perschool.result_distributions(schema)
        actual = {(year, *cell): n for year, cells in found["years"].items() for cell, n in cells.items() if n}
        recorded = {
            (row[0], *row[1:6]): row[6]
            for row in ResultDistribution.objects.filter(school_id=school_id)
            .exclude(count=0)
            .values_list("year_start", *rollups.DISTRIBUTION_KEY, "count")
        }
        drift = tuple(
            DistributionDrift(*key, recorded=recorded.get(key, 0), actual=actual.get(key, 0))
            for key in sorted(set(actual) | set(recorded))
            if recorded.get(key, 0) != actual.get(key, 0)
        )
        if drift:
            rollups.distribution_set(school_id=school_id, cells=actual)
    return DistributionReconciliation(school_id, drift, dict(sorted(found["unmapped"].items())))
