from .accounts import Account, Membership
from .audit import PlatformAuditEntry
from .rollups import SchoolRollup
from .schools import Domain, School, SchoolLevel, SchoolPlacement, SchoolStatus, SchemaTemplate
from .units import AdministrativeUnit, UnitKind, UnitVersion
from .windows import DataCategory, ExceptionStatus, Window, WindowException, WindowTier

__all__ = [
    "DataCategory",
    "ExceptionStatus",
    "Window",
    "WindowException",
    "WindowTier",
    "Account",
    "AdministrativeUnit",
    "Domain",
    "Membership",
    "PlatformAuditEntry",
    "SchemaTemplate",
    "SchoolRollup",
    "School",
    "SchoolLevel",
    "SchoolPlacement",
    "SchoolStatus",
    "UnitKind",
    "UnitVersion",
]
