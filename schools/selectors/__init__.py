"""Reads inside a school: which classes, students and records a person may see, and what the pages and the
API show of them. Import from here (``from schools.selectors import class_get``); the modules:

* :mod:`.scope` — years, the classes, students and records a person may see, a record as its reader may read it;
* :mod:`.classes` — a class's members, sizes, conduct, absences, awards and teachers, classes named by a form;
* :mod:`.students` — a student's enrolments, parents' accounts and awards, the school's parents, a parent's
  children, a record by id;
* :mod:`.history` — the history page's filters: the school's people, students found by name;
* :mod:`.setup` — what the setup pages read: the school's levels, years, classes and assignments, curriculum,
  departments and staff.
"""

from .classes import (
    ClassMember,
    absences_on,
    class_awards,
    class_enrolled_students,
    class_for_profiles,
    class_in_school,
    class_list,
    class_members,
    class_sizes,
    class_subject_ids,
    class_teachers,
    classes_of_year,
    conduct_of,
    final_results,
    monthly_absences,
    months_of,
    year_after,
)
from .history import school_people, student_named, students_matching
from .scope import (
    WHOLE_RECORD_KEYS,
    asked_year,
    class_and_subject_get,
    class_get,
    class_students,
    classes_visible,
    current_year,
    not_found,
    record_for_reader,
    school_years,
    student_visible,
    student_years,
    subjects_of,
    year_shown,
)
from .setup import (
    STAFF_ROLES,
    TEACHING_ROLES,
    class_assignments,
    department_get,
    department_list,
    school_levels,
    setup_class_get,
    staff_names,
    subject_get,
    subject_list,
    subjects_of_grade,
    year_chosen,
    year_classes,
    year_get,
    year_list,
)
from .students import (
    awards_of,
    children_with_records,
    current_class_id,
    current_enrolment,
    enrolment_history,
    guardian_account_ids,
    guardian_accounts,
    parent_accounts_of_school,
    record_get,
    student_names,
)

__all__ = [
    "STAFF_ROLES", "TEACHING_ROLES", "WHOLE_RECORD_KEYS", "ClassMember", "absences_on", "asked_year", "awards_of",
    "children_with_records", "class_and_subject_get", "class_assignments", "class_awards", "class_enrolled_students",
    "class_for_profiles", "class_get", "class_in_school", "class_list", "class_members", "class_sizes", "class_students",
    "class_subject_ids", "class_teachers", "classes_of_year", "classes_visible", "conduct_of", "current_class_id",
    "current_enrolment", "current_year", "department_get", "department_list", "enrolment_history", "final_results",
    "guardian_account_ids", "guardian_accounts", "monthly_absences", "months_of", "not_found",
    "parent_accounts_of_school", "record_for_reader", "record_get", "school_levels", "school_people", "school_years",
    "setup_class_get", "staff_names", "student_named", "student_names", "student_visible", "student_years",
    "students_matching", "subject_get", "subject_list", "subjects_of", "subjects_of_grade", "year_after", "year_chosen",
    "year_classes", "year_get", "year_list", "year_shown",
]
