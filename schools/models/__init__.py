from .assessments import Absence, Assessment, AssessmentKind, AwardDiscipline, Conduct, QualityAssessment
from .audit import AuditEntry
from .exemptions import Exemption, ExemptionPart
from .outbox import RollupOutbox
from .records import RecordBook, RecordState
from .structure import Department, Grading, SchoolClass, SchoolYear, Subject, TeachingAssignment
from .students import Enrolment, GuardianLink, Student

__all__ = [
    "Absence",
    "Assessment",
    "AssessmentKind",
    "AuditEntry",
    "AwardDiscipline",
    "Conduct",
    "Department",
    "Enrolment",
    "Exemption",
    "ExemptionPart",
    "Grading",
    "GuardianLink",
    "QualityAssessment",
    "RecordBook",
    "RecordState",
    "RollupOutbox",
    "SchoolClass",
    "SchoolYear",
    "Student",
    "Subject",
    "TeachingAssignment",
]
