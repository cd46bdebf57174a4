"""Who teaches each subject of a class, and which part: a subject taught by several teachers (KHTN in physics,
chemistry and biology; Lịch sử và Địa lí; HĐTN-HN — Long An reg. art. 6.7) has one line per teacher, with the part
they taught and the sheet columns they enter. The sheet page, the setup page and the record book read it; the
record book's signatures ask it who signs which subject line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tenants.selectors import account_names

from ..models import SchoolClass, Subject, TeachingAssignment
from ..services.sheets import sheet_columns

# The column whose teacher is the subject's coordinator (the end-of-term assessment, TT22 and TT27).
COORDINATOR_COLUMNS = ("ck", "mck")


@dataclass(frozen=True)
class SheetColumnChoice:
    key: str
    label: str
    label_en: str


@dataclass(frozen=True)
class TeachingPart:
    """One teacher of a class × subject: ``part`` is empty and ``columns`` empty for the whole subject."""

    subject_id: int
    teacher_id: int
    teacher_name: str
    part: str
    columns: tuple[str, ...]
    column_labels: tuple[str, ...]
    coordinator: bool

    @property
    def whole(self) -> bool:
        return not self.columns


def subject_column_choices(school_class: SchoolClass, subject: Subject) -> list[SheetColumnChoice]:
    """Every column of the subject's sheet in the class, both terms (a primary test column may be one term's)."""
    out: dict[str, SheetColumnChoice] = {}
    for term in (1, 2):
        for c in sheet_columns(subject, school_class, term):
            out.setdefault(c.key, SheetColumnChoice(c.key, c.label, c.label_en))
    return list(out.values())


def subject_teachers(
    school_class: SchoolClass, subject_ids: Iterable[int] | None = None
) -> dict[int, list[TeachingPart]]:
    """``{subject id: [TeachingPart]}`` of the class (only ``subject_ids`` if given): the whole subject's teacher,
    or the teachers of its parts, the coordinator first, then by part. Two queries whatever the class."""
    assignments = TeachingAssignment.objects.filter(school_class=school_class).select_related("subject")
    if subject_ids is not None:
        assignments = assignments.filter(subject_id__in=list(subject_ids))
    rows = list(assignments)
    names = account_names({a.teacher_id for a in rows}) if rows else {}
    labels: dict[int, dict[str, str]] = {}
    out: dict[int, list[TeachingPart]] = {}
    for a in rows:
        if a.subject_id not in labels:
            labels[a.subject_id] = {c.key: c.label for c in subject_column_choices(school_class, a.subject)}
        known = labels[a.subject_id]
        columns = tuple(k for k in known if k in a.columns)
        out.setdefault(a.subject_id, []).append(
            TeachingPart(
                subject_id=a.subject_id,
                teacher_id=a.teacher_id,
                teacher_name=names.get(a.teacher_id) or "",
                part=a.part,
                columns=columns,
                column_labels=tuple(known[k] for k in columns),
                coordinator=not a.columns or any(k in a.columns for k in COORDINATOR_COLUMNS),
            )
        )
    for parts in out.values():
        parts.sort(key=lambda p: (not p.coordinator, p.part.lower(), p.teacher_name.lower()))
    return out
