from .accounts import Account, Membership
from .audit import PlatformAuditEntry
from .grants import AccessGrant, GrantStatus
from .jobs import BackgroundJob, BackgroundJobRow, JobState, RowOutcome
from .notifications import ComplianceSnapshot, MonthlyDutyCheck, Notification, WindowReminder, YearEndStart
from .rollups import ClassRollup, ResultDistribution, RollupDay, RollupDrift, SchoolRollup
from .schools import Domain, SchemaTemplate, School, SchoolLevel, SchoolPlacement, SchoolStatus
from .tokens import ApiToken
from .units import AdministrativeUnit, UnitKind, UnitVersion
from .verification import VerificationIndex
from .windows import DataCategory, ExceptionStatus, Window, WindowException, WindowTier

__all__ = [
    "AccessGrant",
    "GrantStatus",
    "BackgroundJob",
    "BackgroundJobRow",
    "JobState",
    "RowOutcome",
    "ApiToken",
    "DataCategory",
    "ExceptionStatus",
    "Window",
    "WindowException",
    "WindowTier",
    "Account",
    "ComplianceSnapshot",
    "MonthlyDutyCheck",
    "Notification",
    "WindowReminder",
    "YearEndStart",
    "AdministrativeUnit",
    "Domain",
    "Membership",
    "PlatformAuditEntry",
    "ClassRollup",
    "ResultDistribution",
    "RollupDay",
    "RollupDrift",
    "SchemaTemplate",
    "SchoolRollup",
    "VerificationIndex",
    "School",
    "SchoolLevel",
    "SchoolPlacement",
    "SchoolStatus",
    "UnitKind",
    "UnitVersion",
]
