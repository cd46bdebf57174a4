"""A subject taught by several teachers in one class (Long An reg. art. 6.7: KHTN, Lịch sử và Địa lí, HĐTN-HN…):
who teaches which named part and enters which columns of the grade sheet.

TT22 keeps one subject average: the regular assessments (ĐĐGtx) are shared out between the parts' teachers, the
mid-term and end-of-term assessments and the comment are one per subject, entered by the teacher the school names
for them (the coordinator). Every column of the sheet has exactly one teacher; one teacher alone is the whole
subject, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from hocba.kernel.errors import DomainError

from tenants.selectors import school_member_ids

from ...access import SchoolAccess
from ...models import SchoolClass, Subject, TeachingAssignment
from ...rollups import class_rollup_add
from ...selectors import TEACHING_ROLES, subject_column_choices
from ..common import require, school_write
from .classes import AssignmentsInvalid, _row_error, _taught_in

PART_NAME_MAX = TeachingAssignment._meta.get_field("part").max_length


def _teacher_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@school_write
def subject_parts_save(
    *, access: SchoolAccess, school_class: SchoolClass, subject: Subject, parts: Sequence[Mapping[str, Any]]
) -> int:
    """The teachers of one subject of a class: ``[{"teacher": id, "part": "Vật lí", "columns": ["tx1", …]}]``.

    One row (its columns empty or all of them) is the whole subject; several rows must each name their part and
    columns, and together cover every column of the sheet exactly once; an empty list clears the subject. All rows
    or none; returns how many teachers the subject has afterwards."""
    require(access.can("school.setup"))
    if not _taught_in(school_class, subject):
        raise DomainError(
            "assignments.subject_not_taught",
            _("Môn %(subject)s không học ở lớp %(class)s."),
            params={"subject": subject.name, "class": school_class.name},
            field="subject",
        )
    choices = subject_column_choices(school_class, subject)
    keys = [c.key for c in choices]
    labels = {c.key: c.label for c in choices}
    teachers = school_member_ids(access.school_id, TEACHING_ROLES)
    errors: list[dict[str, Any]] = []

    def error(index: int, field: str, code: str, message, params: dict | None = None) -> None:
        errors.append(_row_error(index, subject.pk, field, code, message, params))

    several = len(parts) > 1
    rows: list[tuple[int, str, list[str]]] = []
    owner: dict[str, int] = {}
    seen_teachers: set[int] = set()
    for index, row in enumerate(parts):
        if not isinstance(row, Mapping):
            error(index, "teacher", "assignments.not_a_teacher", _("Dòng phân công không đúng dạng."))
            continue
        teacher_id = _teacher_id(row.get("teacher"))
        part = str(row.get("part") or "").strip()
        raw_columns = row.get("columns") or []
        columns = [str(k).strip() for k in raw_columns] if isinstance(raw_columns, list | tuple) else None
        if teacher_id is None or teacher_id not in teachers:
            error(
                index,
                "teacher",
                "assignments.not_a_teacher",
                _("Người dạy phần %(part)s không phải giáo viên của trường.")
                if part
                else _("Người được phân công không phải giáo viên của trường."),
                {"part": part},
            )
            continue
        if teacher_id in seen_teachers:
            error(
                index,
                "teacher",
                "assignments.teacher_twice",
                _("Một giáo viên có hai dòng ở môn %(subject)s; hãy gộp các cột của họ vào một dòng."),
                {"subject": subject.name},
            )
            continue
        seen_teachers.add(teacher_id)
        if len(part) > PART_NAME_MAX:
            error(index, "part", "assignments.part_too_long", _("Tên phần dài quá 60 kí tự."))
            continue
        if columns is None:
            error(index, "columns", "assignments.bad_columns", _("Các cột phải là một danh sách mã cột."))
            continue
        unknown = [k for k in columns if k not in labels]
        if unknown:
            error(
                index,
                "columns",
                "assignments.unknown_column",
                _("Cột “%(column)s” không có trong bảng điểm của môn %(subject)s (các cột: %(columns)s)."),
                {"column": unknown[0][:10], "subject": subject.name, "columns": ", ".join(keys)},
            )
            continue
        if several and not part:
            error(
                index,
                "part",
                "assignments.part_missing",
                _("Môn có nhiều giáo viên: hãy ghi tên phần mỗi người dạy (ví dụ Vật lí, Hoá học)."),
            )
            continue
        if several and not columns:
            error(
                index,
                "columns",
                "assignments.columns_missing",
                _("Phần %(part)s chưa có cột nào để nhập."),
                {"part": part},
            )
            continue
        clash = next((k for k in columns if k in owner), None)
        if clash is not None:
            error(
                index,
                "columns",
                "assignments.column_twice",
                _("Cột %(column)s đã giao cho một giáo viên khác; mỗi cột chỉ một giáo viên nhập."),
                {"column": labels[clash]},
            )
            continue
        for k in columns:
            owner[k] = index
        rows.append((teacher_id, part, [k for k in keys if k in columns]))
    if not errors and several:
        missing = [labels[k] for k in keys if k not in owner]
        if missing:
            error(
                0,
                "columns",
                "assignments.column_unassigned",
                _("Cột %(columns)s chưa có giáo viên nhập; mỗi cột của bảng điểm cần đúng một giáo viên."),
                {"columns": ", ".join(missing)},
            )
    if errors:
        raise AssignmentsInvalid(errors)
    if len(rows) == 1 and len(rows[0][2]) == len(keys):
        rows = [(rows[0][0], rows[0][1], [])]  # one teacher entering every column: the whole subject
    wanted = sorted((t, p, tuple(c)) for t, p, c in rows)
    current = TeachingAssignment.objects.filter(school_class=school_class, subject=subject)
    if sorted((a.teacher_id, a.part, tuple(a.columns)) for a in current) != wanted:
        current.delete()
        TeachingAssignment.objects.bulk_create(
            [
                TeachingAssignment(school_class=school_class, subject=subject, teacher_id=t, part=p, columns=list(c))
                for t, p, c in wanted
            ]
        )
        class_rollup_add(school_id=access.school_id, school_class=school_class, stale=True)  # the sheet's parts
    return len(wanted)
