from .assessments import Absence, Assessment, AssessmentKind, AwardDiscipline, Conduct, QualityAssessment
from .audit import AuditEntry
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
    "Grading",
    "GuardianLink",
    "QualityAssessment",
    "RecordBook",
    "RecordState",
    "SchoolClass",
    "SchoolYear",
    "Student",
    "Subject",
    "TeachingAssignment",
]
