"""The school's curriculum (subjects of each level, editable) and its departments."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError
from hocba.kernel.levels import LEVEL_GRADES, LOWER_SECONDARY, PRIMARY, UPPER_SECONDARY

from tenants.selectors import school_member_ids

from ...access import SchoolAccess
from ...models import Assessment, Department, Grading, Subject, TeachingAssignment
from ...rollups import class_stale
from ...rules import tt22
from ...selectors import STAFF_ROLES, school_levels
from ..common import require, school_write
from .common import _int

# TT27 (primary) assesses by levels; TT22 (secondary) by scores or by comments.
GRADINGS_OF_LEVEL = {
    PRIMARY: (Grading.LEVEL,),
    LOWER_SECONDARY: (Grading.SCORE, Grading.COMMENT),
    UPPER_SECONDARY: (Grading.SCORE, Grading.COMMENT),
}
MAX_PERIODS = 1000
CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")


def _subject_fields(level: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields of a subject of ``level``, checked; raises the first error, naming its field."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise DomainError("subjects.missing_name", _("Cần có tên môn học."), field="name")
    if len(name) > Subject._meta.get_field("name").max_length:
        raise DomainError("subjects.long_name", _("Tên môn học dài quá 120 kí tự."), field="name")
    periods = _int(
        data.get("periods_per_year"),
        "subjects.bad_periods",
        _("Số tiết cả năm phải là số nguyên từ 1 đến 1000."),
        "periods_per_year",
    )
    if not 1 <= periods <= MAX_PERIODS:
        raise DomainError(
            "subjects.bad_periods", _("Số tiết cả năm phải là số nguyên từ 1 đến 1000."), field="periods_per_year"
        )
    grading = str(data.get("grading") or "")
    if grading not in GRADINGS_OF_LEVEL[level]:
        raise DomainError(
            "subjects.bad_grading",
            _("Cách đánh giá %(grading)s không dùng cho cấp học này."),
            params={"grading": grading or "—"},
            field="grading",
        )
    tested = bool(data.get("has_periodic_test"))
    if tested and level != PRIMARY:
        raise DomainError(
            "subjects.periodic_test_primary",
            _("Chỉ môn học ở tiểu học mới có bài kiểm tra định kì (TT27)."),
            field="has_periodic_test",
        )
    raw_grades = data.get("grades")
    if isinstance(raw_grades, str):
        raw_grades = [g for g in re.split(r"[,\s]+", raw_grades) if g]
    try:
        grades = sorted({int(g) for g in raw_grades or ()})
    except (TypeError, ValueError):
        grades = []
    if not grades or any(g not in LEVEL_GRADES[level] for g in grades):
        first, last = LEVEL_GRADES[level][0], LEVEL_GRADES[level][-1]
        raise DomainError(
            "subjects.bad_grades",
            _("Khối học phải chọn trong các khối %(first)s–%(last)s."),
            params={"first": first, "last": last},
            field="grades",
        )
    department_id = data.get("department")
    department = None
    if department_id not in (None, ""):
        department = Department.objects.filter(
            pk=_int(department_id, "subjects.no_department", _("Không tìm thấy tổ chuyên môn."), "department")
        ).first()
        if department is None:
            raise DomainError("subjects.no_department", _("Không tìm thấy tổ chuyên môn."), field="department")
    return {
        "name": name,
        "periods_per_year": periods,
        "grading": grading,
        "has_periodic_test": tested,
        "grades": grades,
        "department": department,
    }


def _ascii_code(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:36] or "mon"


@school_write
def subject_create(*, access: SchoolAccess, level: str, data: Mapping[str, Any]) -> Subject:
    """A school's own subject in one of its levels; ``code`` optional (made from the name)."""
    require(access.can("school.setup"))
    if level not in school_levels(access):
        raise DomainError("subjects.bad_level", _("Hãy chọn cấp học trong các cấp học của trường."), field="level")
    fields = _subject_fields(level, data)
    taken = set(Subject.objects.filter(level=level).values_list("code", flat=True))
    code = str(data.get("code") or "").strip()
    if code:
        if not CODE_PATTERN.match(code):
            raise DomainError(
                "subjects.bad_code", _("Mã môn chỉ gồm chữ thường không dấu, số và dấu gạch dưới."), field="code"
            )
        if code in taken:
            raise DomainError(
                "subjects.code_taken", _("Mã môn %(code)s đã có ở cấp học này."), params={"code": code}, field="code"
            )
    else:
        base = code = _ascii_code(fields["name"])
        n = 1
        while code in taken:
            n += 1
            code = f"{base}_{n}"
    if Subject.objects.filter(level=level, name__iexact=fields["name"]).exists():
        raise DomainError(
            "subjects.name_taken", _("Môn %(name)s đã có ở cấp học này."), params={"name": fields["name"]}, field="name"
        )
    order = (Subject.objects.filter(level=level).aggregate(m=Max("order"))["m"] or 0) + 1
    return Subject.objects.create(level=level, code=code, order=order, **fields)


@school_write
def subject_update(*, access: SchoolAccess, subject: Subject, data: Mapping[str, Any]) -> Subject:
    """Edit a subject. Its grading cannot change once marks were entered, nor can a grade be dropped while a class
    of that grade has a teacher for it."""
    require(access.can("school.setup"))
    fields = _subject_fields(subject.level, data)
    if Subject.objects.filter(level=subject.level, name__iexact=fields["name"]).exclude(pk=subject.pk).exists():
        raise DomainError(
            "subjects.name_taken", _("Môn %(name)s đã có ở cấp học này."), params={"name": fields["name"]}, field="name"
        )
    if fields["grading"] != subject.grading and Assessment.objects.filter(subject=subject).exists():
        raise DomainError(
            "subjects.grading_in_use",
            _("Môn %(subject)s đã có điểm hoặc nhận xét; không đổi được cách đánh giá."),
            params={"subject": subject.name},
            field="grading",
        )
    dropped = set(subject.grades) - set(fields["grades"])
    if dropped:
        used = sorted(
            TeachingAssignment.objects.filter(subject=subject, school_class__grade__in=dropped)
            .values_list("school_class__name", flat=True)
            .distinct()
        )
        if used:
            raise DomainError(
                "subjects.grade_in_use",
                _("Môn %(subject)s đang được phân công dạy ở lớp %(classes)s; không bỏ được khối đó."),
                params={"subject": subject.name, "classes": ", ".join(used)},
                field="grades",
            )
    if _sheet_shape(subject.grading, subject.periods_per_year, subject.has_periodic_test) != _sheet_shape(
        fields["grading"], fields["periods_per_year"], fields["has_periodic_test"]
    ):
        shared = sorted(
            TeachingAssignment.objects.filter(subject=subject)
            .exclude(columns=[])
            .values_list("school_class__name", flat=True)
            .distinct()
        )
        if shared:  # the columns given to each teacher of a shared subject would no longer match its sheet
            raise DomainError(
                "subjects.shared_columns",
                _(
                    "Môn %(subject)s đang chia cột bảng điểm cho nhiều giáo viên ở lớp %(classes)s; thay đổi này làm "
                    "đổi các cột. Hãy phân công lại môn ở các lớp đó cho một giáo viên trước."
                ),
                params={"subject": subject.name, "classes": ", ".join(shared)},
                field="periods_per_year",
            )
    reshaped = _sheet_shape(subject.grading, subject.periods_per_year, subject.has_periodic_test) != _sheet_shape(
        fields["grading"], fields["periods_per_year"], fields["has_periodic_test"]
    )
    for key, value in fields.items():
        setattr(subject, key, value)
    subject.save(update_fields=[*fields])
    if reshaped:  # its sheets' columns changed: the classes that teach it recompute their finished sheets
        class_stale(
            school_id=access.school_id,
            class_ids=TeachingAssignment.objects.filter(subject=subject).values_list("school_class_id", flat=True),
        )
    return subject


def _sheet_shape(grading: str, periods_per_year: int, has_periodic_test: bool) -> tuple:
    """What decides a subject's sheet columns (``services.sheets.sheet_columns``), but the class."""
    if grading in tt22.GRADINGS:
        return (grading, tt22.regular_assessment_count(periods_per_year))
    return (grading, has_periodic_test)


# --- departments ----------------------------------------------------------------------------------------------------


@school_write
def department_update(*, access: SchoolAccess, department: Department, name: str, head_id: Any) -> Department:
    """Rename a department and set (or clear, with ``None``) its head: a member of the school's staff."""
    require(access.can("school.setup"))
    name = str(name or "").strip()
    if not name:
        raise DomainError("departments.missing_name", _("Cần có tên tổ chuyên môn."), field="name")
    if len(name) > Department._meta.get_field("name").max_length:
        raise DomainError("departments.long_name", _("Tên tổ chuyên môn dài quá 120 kí tự."), field="name")
    if head_id in ("",):
        head_id = None
    if head_id is not None:
        head_id = _int(head_id, "departments.bad_head", _("Tổ trưởng phải là cán bộ, giáo viên của trường."), "head")
        if head_id not in school_member_ids(access.school_id, STAFF_ROLES):
            raise DomainError(
                "departments.bad_head", _("Tổ trưởng phải là cán bộ, giáo viên của trường."), field="head"
            )
    department.name, department.head_id = name, head_id
    department.save(update_fields=["name", "head"])
    return department
