"""A school's year, curriculum, departments, classes and teaching assignments.

Every write here needs ``school.setup`` (principal, vice principals, the school's IT admin). A refusal is a
DomainError naming its field, raised before anything is written: the transaction leaves nothing behind.
What the setup pages read is in ``schools.selectors`` (``selectors.setup``).

* :mod:`.years` — opening a year (and the GDPT 2018 curriculum of its levels), its dates;
* :mod:`.classes` — a year's classes, their homeroom teachers and teaching assignments;
* :mod:`.parts` — a subject taught by several teachers in a class: each one's part and sheet columns;
* :mod:`.curriculum` — the school's subjects and its departments.
"""

from .classes import (
    AssignmentsInvalid,
    assignment_clear,
    assignment_set,
    assignments_save,
    class_create,
    class_update,
)
from .curriculum import department_update, subject_create, subject_update
from .parts import subject_parts_save
from .years import default_dates, school_year_create, school_year_open, school_year_update

__all__ = [
    "AssignmentsInvalid",
    "assignment_clear",
    "assignment_set",
    "assignments_save",
    "class_create",
    "class_update",
    "default_dates",
    "department_update",
    "school_year_create",
    "school_year_open",
    "school_year_update",
    "subject_create",
    "subject_parts_save",
    "subject_update",
]
